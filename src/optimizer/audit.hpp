// `latdisp optimizer`'s pass (docs/optimizer.md §4-§5): opens W, the gradient
// and AdamW's two states (one reader each), resolves the hyperparameters and
// the step counts, streams step blocks of the rank's token slab through the
// audit kernel, and reduces counts, exact sums, percentiles, the first replay
// mismatches and the per-token table onto rank 0.
#pragma once

#include <mpi.h>

#include "config/optimizer_options.hpp"
#include "optimizer/audit_result.hpp"

namespace latdisp {

// Collective. Throws the same Error on every rank.
OptimizerResult run_optimizer_audit(const OptimizerConfig& options, bool want_per_token, MPI_Comm comm);

}  // namespace latdisp
