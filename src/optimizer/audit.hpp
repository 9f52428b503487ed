// `latdisp optimizer`'s pass (docs/optimizer.md §4-§5): opens W, the gradient
// and AdamW's two states (one reader each), resolves the hyperparameters and
// the step counts, streams step blocks of the rank's token slab through the
// audit kernel, and reduces counts, exact sums, percentiles, the first replay
// mismatches and the per-token table onto rank 0.
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

#include "config/optimizer_config.hpp"
#include "optimizer/audit_result.hpp"
#include "parallel/phase_timer.hpp"

namespace latdisp {

// The audit's phases in order, after start-up and the runtime's start
// (docs/optimizer.md §6, "Timings").
const std::vector<std::string>& optimizer_phases();

// Collective. Throws the same Error on every rank. Runs `phases` "open"
// through "reduce".
OptimizerResult run_optimizer_audit(const OptimizerConfig& options, bool want_per_token, PhaseTimer& phases,
                                    MPI_Comm comm);

// Collective: the phases so far into the result's timings (on rank 0).
void record_optimizer_timings(OptimizerResult& result, const PhaseTimer& phases, MPI_Comm comm);

}  // namespace latdisp
