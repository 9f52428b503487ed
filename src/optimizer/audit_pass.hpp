// The streaming pass of the optimizer audit (docs/optimizer.md §5): step
// blocks of the rank's token slab through the audit kernel, folded into
// per-step counters, exact sums, the |c| keys' top-digit counts, the first
// mismatches and the per-token table; then reduced onto rank 0 (the
// percentiles with a second pass over the blocks that makes the keys again).
#pragma once

#include <mpi.h>

#include <array>
#include <cstdint>
#include <vector>

#include "config/optimizer_config.hpp"
#include "kokkos_kernels/optimizer/audit_block.hpp"
#include "optimizer/audit_input.hpp"
#include "optimizer/audit_result.hpp"
#include "optimizer/cell_percentiles.hpp"
#include "optimizer/uninitialized_buffer.hpp"
#include "parallel/partition.hpp"
#include "parallel/phase_timer.hpp"

namespace latdisp {

class ArchiveReader;
class ArchiveWriter;
class Checkpointer;
class WantedDigits;

class AuditPass {
 public:
  // Collective: plans the step blocks within the memory budget.
  // `phases`: run() enters the block phases (docs/optimizer.md §6).
  AuditPass(const OptimizerConfig& options, const AuditInput& input, OptimizerResult& result, bool per_token,
            PhaseTimer& phases, MPI_Comm comm);
  // Collective, with --resume: this rank's state from the checkpoint; run()
  // continues after the steps it covers.
  void restore(Checkpointer& checkpoint);
  // Collective; a checkpoint at block boundaries when one is due (and on a
  // stop signal: then it throws Error(kExitSignal)).
  void run(Checkpointer& checkpoint);
  void reduce();  // collective: the result complete on rank 0

 private:
  void plan(const OptimizerConfig& options);
  template <class F>
  void run_typed(Checkpointer& checkpoint);
  void save(ArchiveWriter& archive) const;
  void load(ArchiveReader& archive, int64_t next_transition);
  template <class F>
  void read_block(int64_t first, int64_t count, bool with_gradient = true);
  void block_scalars(int64_t first, int64_t count);
  void key_pass(const std::vector<uint8_t>& top_digits, const KeyVisit& visit);
  int64_t wanted_keys(int64_t n0, int64_t rows, const WantedDigits& wanted);
  template <class F>
  void key_pass_typed(const std::vector<uint8_t>& top_digits, const KeyVisit& visit);
  template <class F>
  UninitializedBuffer<typename F::bits_type>& values(int tensor);
  template <class F>
  void audit_step(int64_t i, int64_t t);
  int population(int64_t n) const;
  void fold_chunk(int64_t t, int64_t n0, int64_t rows);
  void fold_segment(int64_t t, int population, int64_t n0, int64_t begin, int64_t end);
  void fold_row(int64_t t, int64_t n, int64_t k0, std::array<int64_t, kCounterCount>& counts);
  void add_sums(int64_t k0, int64_t count, std::array<WideSum, kSumCount>& sums);
  void add_sums_by_terms(const double* a, const double* b, int64_t n, std::array<WideSum, kSumCount>& sums);
  void count_keys(int64_t k0, int64_t count, bool dead);
  void note_mismatches(int64_t t, int64_t n, int64_t d, uint32_t flags);
  template <class F>
  void note_mismatches_typed(int64_t t, int64_t n, int64_t d, uint32_t flags);
  void progress(int64_t done);

  const AuditInput& m_input;
  OptimizerResult& m_result;
  bool m_per_token;
  PhaseTimer& m_phases;
  MPI_Comm m_comm;
  int m_rank = 0, m_ranks = 1;
  TokenRange m_slab{};
  int64_t m_max_slab = 0, m_block_steps = 1;
  int64_t m_block_first = 0;       // the current block's first transition
  int64_t m_next_transition = 0;   // where run() starts (after a restored checkpoint)
  double m_block_pause = 0;
  optimizer::AuditSettings m_settings;
  TopDigitCounts m_top;  // the |c| keys counted by their top digit
  int64_t m_candidate_keys = 0;  // how many percentile candidates the reduction may hold
  formats::ElementType m_type = formats::ElementType::bf16;  // W's: the rule's format
  // Blocks and chunk buffers are always written before they are read: no zero fill.
  UninitializedBuffer<unsigned char> m_raw;  // one tensor's block as stored
  UninitializedBuffer<uint16_t> m_bf16[4];   // W, grad, exp_avg, exp_avg_sq in the rule's format
  UninitializedBuffer<uint32_t> m_f32[4];
  int64_t m_chunk_rows = 1;  // rows per kernel call, folded while in cache
  // One chunk of rows' outcomes, one array per field; the terms of an exact sum.
  UninitializedBuffer<double> m_u, m_delta, m_cells, m_terms;
  UninitializedBuffer<uint32_t> m_flags, m_chunk_bins;  // ... and each |c| key's top-digit bin
  UninitializedBuffer<uint64_t> m_chunk_keys;  // the second pass's keys of one chunk
  std::vector<optimizer::StepScalars> m_scalars;
  double m_progress_seconds = 0, m_last_progress = 0;
};

}  // namespace latdisp
