#include "optimizer/audit_input.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "io/element_recognition.hpp"
#include "io/trajectory_input.hpp"
#include "kokkos_kernels/optimizer/audit_block.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

using formats::ElementType;
using optimizer::StepScalars;

namespace {

// W and the three tensors recorded beside it, as messages name them.
std::vector<NamedTensor> audit_tensors(const OptimizerConfig& o) {
  return {{o.input.dataset, "W", "--dataset"},
          {o.tensors.grad, "the gradient", "--grad"},
          {o.tensors.exp_avg, "exp_avg", "--exp-avg"},
          {o.tensors.exp_avg_sq, "exp_avg_sq", "--exp-avg-sq"}};
}

}  // namespace

AuditInput open_audit_input(const OptimizerConfig& o, MPI_Comm comm) {
  TrajectoryInputSpec spec = trajectory_input_of(o.input);
  spec.reader_name = "the optimizer audit";
  const std::vector<NamedTensor> tensors = audit_tensors(o);
  TrajectoryInput opened = open_trajectory_input(comm, spec, tensors);
  AuditInput input;
  for (int i = 0; i < 4; ++i) {
    input.tensors[i] = std::move(opened.readers[static_cast<size_t>(i)]);
    const ElementType type = input.tensors[i]->element_type();
    if (type != ElementType::bf16 && type != ElementType::f32)
      fail(kExitInput, tensors[i].role + " '" + tensors[i].name + "' holds " + element_type_name(type) +
                           " values; the audit replays AdamW on bf16 and f32 parameters (torch's CPU kernels "
                           "cannot step f16 parameters; FP8 is no AdamW parameter format)");
  }
  input.dead = std::move(opened.dead_mask);
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  if (!opened.dead_mask_found && rank == 0)
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
  optimizer::prepare_inverse(s);
  return s;
}

}  // namespace latdisp
