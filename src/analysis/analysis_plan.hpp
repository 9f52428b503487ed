// What `analyze` decides before it reads W, resolved once from the options
// and the input's shape, and handed to the analysis and to the save pass
// (docs/architecture.md: input -> plan -> step blocks -> kernels -> ...).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "analysis/step_block_plan.hpp"
#include "config/analyze_config.hpp"
#include "config/save_dtype.hpp"
#include "io/output_format.hpp"
#include "io/output_selection.hpp"
#include "io/step_stream.hpp"
#include "io/trajectory_reader.hpp"
#include "kokkos_kernels/block_analysis.hpp"
#include "parallel/partition.hpp"

namespace latdisp {

// A duplicate of a communicator, freed with it.
class DuplicatedComm {
 public:
  explicit DuplicatedComm(MPI_Comm comm) { MPI_Comm_dup(comm, &m_comm); }
  ~DuplicatedComm() { MPI_Comm_free(&m_comm); }
  DuplicatedComm(const DuplicatedComm&) = delete;
  DuplicatedComm& operator=(const DuplicatedComm&) = delete;
  MPI_Comm get() const { return m_comm; }

 private:
  MPI_Comm m_comm = MPI_COMM_NULL;
};

// W opened once and its dead mask read once: the analysis and the save pass
// share them.
struct AnalysisInput {
  // The reader's own communicator: its collectives (HDF5's, MPI-IO's, its
  // error agreement) may run on a reading thread while the caller's thread
  // makes others. Declared first: it outlives the reader.
  std::unique_ptr<DuplicatedComm> reader_comm;
  std::unique_ptr<TrajectoryReader> reader;
  std::vector<uint8_t> dead_mask;  // per token, 0/1; all live when the file has none
  bool dead_mask_found = false;
  const TrajectoryShape& shape() const { return reader->shape(); }
};

// --output: where, in which format, which tensors, which integer type.
struct OutputPlan {
  std::string path;  // the target --output names
  OutputFormat format = OutputFormat::hdf5;
  OutputSelection selection;
  SaveDtype dtype;
  // The save pass's step blocks, sized for int64 integers: the integer type
  // is known only after the analysis, and a budget too small fails now.
  StepBlockPlan blocks;
};

// One run's plan: made once (plan_analysis), after the block source is
// decided, so the memory is sized for what that source holds; then only read.
struct AnalysisPlan {
  AnalyzeConfig config;                          // as asked: the report echoes its options
  KernelSettings kernel;                         // the hop radius as the kernel compares it included
  double hop_radius = 0;                         // R as reported (docs/definitions.md §15)
  bool background_reads = false;                 // the analysis reads the next block while the kernel runs
  BlockSource block_source = BlockSource::read;  // mapped or direct where W and the kernel's memory allow
  uint64_t memory_budget = 0;                    // per rank
  TokenRange slab{0, 0};                         // this rank's tokens
  int64_t max_slab = 0;                          // the largest slab of any rank: reads split alike
  StepBlockPlan blocks;                          // the analysis' step blocks, alike on every rank
  std::optional<OutputPlan> output;
};

// Collective: opens config.input and reads its dead mask. Throws Error.
AnalysisInput open_analysis_input(const AnalyzeConfig& config, MPI_Comm comm);

// How the analysis' step blocks reach the kernel (--read-method): mapped or
// read directly where W is one contiguous run of values in its file and the
// kernel reads host memory, else read into buffers. Throws
// Error(kExitUsage) for --read-method map where W cannot be mapped.
BlockSource block_source_of(ReadMethod method, const TrajectoryReader& reader);

// Collective: the plan of this rank; `baseline_bytes` is what the process
// held before it opened W. Throws Error(kExitUsage): more ranks than tokens,
// a budget too small for two steps.
// `value_bytes`: the bytes of one value of W (its element format's);
// `source`: how the analysis' blocks reach the kernel (block_source_of),
// which decides what they hold. The save pass always reads into buffers.
AnalysisPlan plan_analysis(const AnalyzeConfig& config, const TrajectoryShape& shape, uint64_t baseline_bytes,
                           MPI_Comm comm, int value_bytes = 2, BlockSource source = BlockSource::read);

// The input opened, then the plan made from it, once.
struct PreparedAnalysis {
  AnalysisInput input;
  const AnalysisPlan plan;
};

// Collective: the input opened, the block source decided and the plan made,
// in that order.
PreparedAnalysis prepare_analysis(const AnalyzeConfig& config, MPI_Comm comm);

}  // namespace latdisp
