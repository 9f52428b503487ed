#include "optimizer/audit_input.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "io/element_recognition.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

using formats::ElementType;
using optimizer::StepScalars;

namespace {

const char* const kTensorOptions[4] = {"--dataset", "--grad", "--exp-avg", "--exp-avg-sq"};
const char* const kTensorRoles[4] = {"W", "the gradient", "exp_avg", "exp_avg_sq"};

}  // namespace



AuditInput open_audit_input(const OptimizerConfig& o, MPI_Comm comm) {
  AuditInput input;
  bool dead_found = false;
  ElementRequest every_format;
  every_format.any_format = true;
  input.tensors[0] = open_trajectory(comm, o.input.path, o.input.dataset, o.input.dead_mask, input.dead, dead_found, every_format);
  const std::string names[4] = {o.input.dataset, o.tensors.grad, o.tensors.exp_avg, o.tensors.exp_avg_sq};
  const TrajectoryShape& shape = input.tensors[0]->shape();
  for (int i = 1; i < 4; ++i) {
    try {
      input.tensors[i] = open_trajectory_source(comm, o.input.path, names[i], SourceUse::trajectory, every_format);
    } catch (const Error& e) {
      throw Error(e.exit_code(), std::string("the optimizer audit needs ") + kTensorRoles[i] + " (" +
                                     kTensorOptions[i] + " '" + names[i] + "'): " + e.what());
    }
    const TrajectoryShape& other = input.tensors[i]->shape();
    if (other.steps != shape.steps || other.tokens != shape.tokens || other.dims != shape.dims)
      fail(kExitInput, std::string(kTensorRoles[i]) + " '" + names[i] + "' has shape [" +
                           std::to_string(other.steps) + ", " + std::to_string(other.tokens) + ", " +
                           std::to_string(other.dims) + "]; W '" + names[0] + "' has [" + std::to_string(shape.steps) +
                           ", " + std::to_string(shape.tokens) + ", " + std::to_string(shape.dims) +
                           "] (every tensor needs one snapshot per step of the same matrix)");
  }
  for (int i = 0; i < 4; ++i) {
    const ElementType type = input.tensors[i]->element_type();
    if (type != ElementType::bf16 && type != ElementType::f32)
      fail(kExitInput, std::string(kTensorRoles[i]) + " '" + names[i] + "' holds " + element_type_name(type) +
                           " values; the audit replays AdamW on bf16 and f32 parameters (torch's CPU kernels "
                           "cannot step f16 parameters; FP8 is no AdamW parameter format)");
  }
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  if (!dead_found && rank == 0)
    std::fprintf(stderr, "latdisp: warning: %s; every token is treated as live\n",
                 missing_dead_mask_text(o.input.path, o.input.dead_mask).c_str());
  return input;
}

// k per snapshot: t + offset, or the input's training step numbers (which
// must then be consecutive).
std::vector<int64_t> optimizer_step_counts(const OptimizerConfig& o, const TrajectoryReader& w) {
  const int64_t steps = w.shape().steps;
  std::vector<int64_t> k(static_cast<size_t>(steps));
  const std::vector<int64_t>& numbers = w.step_numbers();
  if (o.rule.step_offset >= 0 || numbers.empty()) {
    for (int64_t t = 0; t < steps; ++t) k[t] = t + std::max<int64_t>(o.rule.step_offset, 0);
  } else {
    for (int64_t t = 1; t < steps; ++t)
      if (numbers[t] != numbers[t - 1] + 1)
        fail(kExitInput, "the snapshots are not consecutive optimizer steps: index " + std::to_string(t - 1) +
                             " is step " + std::to_string(numbers[t - 1]) + " and index " + std::to_string(t) +
                             " is step " + std::to_string(numbers[t]) + " (the replay needs every step)");
    k = numbers;
  }
  for (int64_t t = 1; t < steps; ++t)
    if (k[t] < 1) fail(kExitUsage, "the optimizer step count at index " + std::to_string(t) + " is " +
                                       std::to_string(k[t]) + "; it must be at least 1 (see --step-offset)");
  return k;
}

StepScalars step_scalars(const Hyperparameters& h, double lr, int64_t k) {
  StepScalars s;
  s.lr = lr;
  s.weight_decay = h.weight_decay.value;
  s.beta1 = h.beta1.value;
  s.beta2 = h.beta2.value;
  s.eps = h.eps.value;
  s.decay = 1 - lr * s.weight_decay;
  const double bc1 = 1 - std::pow(s.beta1, double(k));
  s.bias_correction2 = 1 - std::pow(s.beta2, double(k));
  s.step_size = lr / bc1;
  s.bc2_sqrt = std::sqrt(s.bias_correction2);
  return s;
}

}  // namespace latdisp
