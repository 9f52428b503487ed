#include "optimizer/audit.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include <Kokkos_Core.hpp>

#include "analysis/magnitude_keys.hpp"
#include "analysis/spillable_keys.hpp"
#include "optimizer/audit_input.hpp"
#include "optimizer/audit_pass.hpp"
#include "parallel/errors.hpp"
#include "parallel/memory.hpp"
#include "parallel/partition.hpp"
#include "parallel/signals.hpp"

namespace latdisp {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

OptimizerResult run_optimizer_audit(const OptimizerOptions& options, bool want_per_token, MPI_Comm comm) {
  const auto start = Clock::now();
  OptimizerResult result;
  const std::string lr_name = options.lr.empty() ? "lr" : options.lr;
  double number = 0;
  InputAttributes attributes =
      read_input_attributes(comm, options.input, parse_number(options.lr, number) ? "" : lr_name);
  AuditInput input = open_audit_input(options, comm);
  const TrajectoryReader& w = *input.tensors[0];
  // A series keeps its attributes in its first checkpoint.
  if (w.format() == InputFormat::series && !w.source_files().empty())
    attributes = read_input_attributes(comm, w.source_files().front(), parse_number(options.lr, number) ? "" : lr_name);
  result.steps = w.shape().steps;
  result.tokens = w.shape().tokens;
  result.dims = w.shape().dims;
  collectively(comm, [&] {
    result.hyperparameters = resolve_hyperparameters(options, attributes, result.steps);
    result.step_counts = optimizer_step_counts(options, w);
  });
  result.path = options.input;
  result.element_type = formats::element_type_name(w.element_type());
  for (int i = 0; i < 4; ++i) result.element_types[i] = formats::element_type_name(input.tensors[i]->element_type());
  const std::string names[4] = {options.dataset, options.grad, options.exp_avg, options.exp_avg_sq};
  for (int i = 0; i < 4; ++i) result.names[i] = names[i];
  result.format = w.format();
  result.step_numbers = w.step_numbers();
  MPI_Comm_size(comm, &result.ranks);
  result.update_rule = options.update_rule;
  result.torch_capability = options.torch_capability;
  result.torch_threads = options.torch_threads;
  result.kokkos_backend = Kokkos::DefaultExecutionSpace::name();
  for (uint8_t d : input.dead) result.n_dead += d;
  AuditPass pass(options, input, result, want_per_token, comm);
  pass.run();
  pass.reduce();
  result.total_seconds = seconds_since(start);
  result.peak_rss = gather_peak_rss(comm);
  return result;
}

}  // namespace latdisp
