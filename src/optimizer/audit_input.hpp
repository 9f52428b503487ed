// The inputs of the optimizer audit (docs/optimizer.md §1): W, the gradient,
// exp_avg and exp_avg_sq (one reader each, one shape), the dead mask, the
// optimizer's step count per snapshot and the scalars of each step.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "config/optimizer_config.hpp"
#include "io/trajectory_reader.hpp"
#include "kokkos_kernels/optimizer/adamw_rules.hpp"
#include "optimizer/hyperparameters.hpp"

namespace latdisp {

struct AuditInput {
  std::unique_ptr<TrajectoryReader> tensors[4];  // W, grad, exp_avg, exp_avg_sq
  std::vector<uint8_t> dead;
};

// Collective. A missing tensor names the option and what the input holds; a
// tensor of another shape or step count is refused (exit 2).
AuditInput open_audit_input(const OptimizerConfig& o, MPI_Comm comm);

// k per snapshot t: t + --step-offset, or the input's training step numbers
// (consecutive, else Error(kExitInput) naming the gap); k >= 1 for t >= 1.
std::vector<int64_t> optimizer_step_counts(const OptimizerConfig& o, const TrajectoryReader& w);

// The scalars of a step with learning rate `lr` and step count `k`, as the
// optimizer computes them in Python (double).
optimizer::StepScalars step_scalars(const Hyperparameters& h, double lr, int64_t k);

}  // namespace latdisp
