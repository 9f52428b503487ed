// The near-zero breakdown's part of the pass over W (docs/definitions.md
// §19): the outputs the displacement kernel fills in its pass over each step
// block, the rank's tallies folded from them, their checkpoint fields and
// their reduction over the ranks.
#pragma once

#include <mpi.h>

#include <array>
#include <cstdint>
#include <memory>

#include "analysis/near_zero_result.hpp"
#include "analysis/population.hpp"
#include "io/checkpoint_archive.hpp"
#include "kokkos_kernels/near_zero.hpp"

namespace latdisp {

class NearZeroPass {
 public:
  // For blocks of up to `steps_per_block` steps, the kernel's
  // `items_per_transition` work items per transition.
  NearZeroPass(int64_t transitions, int64_t steps_per_block, int64_t items_per_transition);

  // What the kernel fills for a block (analyze_raw_block's `near_zero`).
  NearZeroBlockOutputs* outputs() { return &m_outputs; }
  // The outputs of the block whose first transition is `first_step` into the tallies.
  void add_block(int64_t transitions, int64_t first_step);

  void save(ArchiveWriter& archive) const;
  void load(ArchiveReader& archive);

  // Every rank's tallies summed on rank 0 (MagnitudePopulation order).
  NearZeroResult reduce(MPI_Comm comm) const;

 private:
  int64_t m_transitions;
  NearZeroBlockOutputs m_outputs;
  std::array<NearZeroPopulation, kPassPopulations> m_local;  // Population order
};

}  // namespace latdisp
