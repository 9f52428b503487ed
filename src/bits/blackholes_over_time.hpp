// `blackholes --steps`: the groups of bit-identical rows at every selected
// step of a trajectory, in one distributed pass over W (token slabs over
// ranks, blocks of steps within the memory budget), tracked over the steps
// on rank 0 (docs/definitions.md, "Black holes over time").
#pragma once

#include <mpi.h>

#include <cstdint>
#include <vector>

#include "bits/blackholes_report.hpp"
#include "config/bit_level_config.hpp"
#include "config/step_selection.hpp"
#include "io/block_plan.hpp"
#include "parallel/phase_timer.hpp"

namespace latdisp {

// The snapshot indices `selection` picks from a trajectory of `steps` steps.
// Throws Error(kExitInput) when it reaches past the last step.
std::vector<int64_t> selected_steps(const StepSelection& selection, int64_t steps, const std::string& input);

struct BlackholeBlockInputs {
  int64_t slab_tokens = 0;  // this rank's
  int64_t tokens = 0;       // all ranks'
  int64_t dims = 0;
  int64_t selected = 0;  // steps selected
  uint64_t budget = 0;
  uint64_t baseline_bytes = 0;  // resident before the search
};

// Bytes one block step costs a rank: its rows, their routed hashes, and the
// owner's and rank 0's share in the worst case (every token in one group).
uint64_t blackhole_bytes_per_step(const BlackholeBlockInputs& in);

// What a block of selected steps costs a rank, for the block planner
// (io/block_plan.hpp: at least 1 step, at most `selected`; blocks of about
// kPreferredBlockBytes of rows when the budget allows).
BlockCost blackhole_block_cost(const BlackholeBlockInputs& in);

// Collective: the whole search, timed in `phases` (blackholes_phases(),
// from "open" on); the results are complete on rank 0.
BlackholesRun blackholes_over_time(const BlackholesConfig& options, PhaseTimer& phases, MPI_Comm comm);

}  // namespace latdisp
