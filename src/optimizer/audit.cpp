#include "optimizer/audit.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include <Kokkos_Core.hpp>
#include <nlohmann/json.hpp>

#include "analysis/checkpoint.hpp"
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

// The audit's checkpoint identity: the input, the four tensors and every
// option that shapes the result (docs/operations.md §6).
CheckpointSetup checkpoint_setup(const OptimizerOptions& o, const AuditInput& input) {
  const TrajectoryReader& w = *input.tensors[0];
  CheckpointSetup setup;
  setup.command = "optimizer";
  setup.directory = o.checkpoint_dir;
  setup.seconds = o.checkpoint_seconds;
  setup.resume = o.resume;
  setup.input = o.input;
  setup.files = w.source_files();
  setup.dataset = o.dataset + "," + o.grad + "," + o.exp_avg + "," + o.exp_avg_sq;
  for (int i = 0; i < 4; ++i)
    setup.element_type += std::string(i ? "," : "") + formats::element_type_name(input.tensors[i]->element_type());
  setup.steps = w.shape().steps;
  setup.tokens = w.shape().tokens;
  setup.dims = w.shape().dims;
  setup.dead_mask = &input.dead;
  const auto text = [](const std::string& value) { return value.empty() ? std::string("(attribute)") : value; };
  setup.options_json = nlohmann::json{{"--dead-mask", o.dead_mask},
                                      {"--lr", text(o.lr)},
                                      {"--betas", text(o.betas)},
                                      {"--eps", text(o.eps)},
                                      {"--weight-decay", text(o.weight_decay)},
                                      {"--step-offset", o.step_offset},
                                      {"--update-rule", o.update_rule},
                                      {"--torch-capability", o.torch_capability},
                                      {"--torch-threads", o.torch_threads},
                                      {"--per-token", !o.per_token.empty()}}
                           .dump();
  return setup;
}

}  // namespace

OptimizerResult run_optimizer_audit(const OptimizerOptions& options, bool want_per_token, MPI_Comm comm) {
  const auto start = Clock::now();
  OptimizerResult result;
  double number = 0;
  const std::string lr_name = parse_number(options.lr, number) ? "" : options.lr.empty() ? "lr" : options.lr;
  InputAttributes attributes = read_input_attributes(comm, options.input, lr_name);
  AuditInput input = open_audit_input(options, comm);
  const TrajectoryReader& w = *input.tensors[0];
  // A series keeps its hyperparameters in its first checkpoint and the rate
  // each step used in every checkpoint.
  if (w.format() == InputFormat::series) attributes = read_series_attributes(comm, w.source_files(), lr_name);
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
  Checkpointer checkpoint(checkpoint_setup(options, input), comm);
  AuditPass pass(options, input, result, want_per_token, comm);
  if (options.resume) pass.restore(checkpoint);
  pass.run(checkpoint);
  if (checkpoint.enabled()) {
    const CheckpointSummary& summary = checkpoint.summary();
    result.checkpoint = AuditCheckpoint{summary.directory, summary.written, summary.bytes_per_rank,
                                        summary.resumed_from_step};
    result.checkpoint_seconds = checkpoint.seconds();
  }
  pass.reduce();
  result.total_seconds = seconds_since(start);
  result.peak_rss = gather_peak_rss(comm);
  return result;
}

}  // namespace latdisp
