#include "optimizer/audit.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include <Kokkos_Core.hpp>
#include <nlohmann/json.hpp>

#include "analysis/checkpoint.hpp"
#include "analysis/magnitude_keys.hpp"
#include "optimizer/audit_input.hpp"
#include "optimizer/audit_pass.hpp"
#include "parallel/errors.hpp"
#include "parallel/memory.hpp"
#include "parallel/partition.hpp"
#include "parallel/signals.hpp"

namespace latdisp {

namespace {

// The audit's checkpoint identity: the input, the four tensors and every
// option that shapes the result (docs/operations.md §6).
CheckpointSetup checkpoint_setup(const OptimizerConfig& o, const AuditInput& input) {
  const TrajectoryReader& w = *input.tensors[0];
  CheckpointSetup setup;
  setup.command = "optimizer";
  setup.directory = o.checkpoint.directory;
  setup.seconds = o.checkpoint.seconds;
  setup.resume = o.checkpoint.resume;
  setup.input = o.input.path;
  setup.files = w.source_files();
  setup.dataset = o.input.dataset + "," + o.tensors.grad + "," + o.tensors.exp_avg + "," + o.tensors.exp_avg_sq;
  for (int i = 0; i < 4; ++i)
    setup.element_type += std::string(i ? "," : "") + formats::element_type_name(input.tensors[i]->element_type());
  setup.steps = w.shape().steps;
  setup.tokens = w.shape().tokens;
  setup.dims = w.shape().dims;
  setup.dead_mask = &input.dead;
  setup.options_json = o.echo.identity;  // the result-shaping options (config/optimizer_options.cpp)
  return setup;
}

}  // namespace

const std::vector<std::string>& optimizer_phases() {
  // open: outputs checked, the four tensors opened, the hyperparameters and
  // step counts resolved; setup: the pass planned, its buffers and key store
  // (a checkpoint restored); then per block: read (its values, converted to
  // the rule's format), replay (the kernel and the fold of its outcomes into
  // this rank's counters, sums and keys), agree (the block's error
  // agreement: waiting for every rank), block_pause, checkpoint; reduce
  // (counts, sums, percentiles, first mismatches onto rank 0); write
  // (--per-token).
  static const std::vector<std::string> phases = {"open",        "setup",      "read",   "replay", "agree",
                                                  "block_pause", "checkpoint", "reduce", "write"};
  return phases;
}

void record_optimizer_timings(OptimizerResult& result, const PhaseTimer& phases, MPI_Comm comm) {
  const PhaseSummary summary = summarize_phases(phases, comm);
  result.read_seconds = summary.rank_0("read");
  result.compute_seconds = summary.rank_0_sum({"replay", "agree"});
  result.reduce_seconds = summary.rank_0("reduce");
  result.checkpoint_seconds = summary.rank_0("checkpoint");
  // The audit itself, from opening its inputs to the reduction.
  result.total_seconds = summary.wall - summary.rank_0_sum({kStartupPhase, kInitPhase, "write"});
  result.phases = summary;
}

OptimizerResult run_optimizer_audit(const OptimizerConfig& options, bool want_per_token, PhaseTimer& phases,
                                    MPI_Comm comm) {
  phases.enter("open");
  OptimizerResult result;
  const AdamWSpec& rule = options.rule;
  const std::string lr_name = rule.lr ? "" : rule.lr_dataset.empty() ? "lr" : rule.lr_dataset;
  InputAttributes attributes = read_input_attributes(comm, options.input.path, lr_name);
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
  result.path = options.input.path;
  result.element_type = formats::element_type_name(w.element_type());
  for (int i = 0; i < 4; ++i) result.element_types[i] = formats::element_type_name(input.tensors[i]->element_type());
  const std::string names[4] = {options.input.dataset, options.tensors.grad, options.tensors.exp_avg,
                                options.tensors.exp_avg_sq};
  for (int i = 0; i < 4; ++i) result.names[i] = names[i];
  result.format = w.format();
  result.step_numbers = w.step_numbers();
  MPI_Comm_size(comm, &result.ranks);
  result.update_rule = update_rule_name(rule.update_rule);
  result.torch_capability = torch_capability_name(rule.torch_capability);
  result.torch_threads = rule.torch_threads;
  result.kokkos_backend = Kokkos::DefaultExecutionSpace::name();
  for (uint8_t d : input.dead) result.n_dead += d;
  phases.enter("setup");
  Checkpointer checkpoint(checkpoint_setup(options, input), comm);
  AuditPass pass(options, input, result, want_per_token, phases, comm);
  if (options.checkpoint.resume) pass.restore(checkpoint);
  pass.run(checkpoint);
  if (checkpoint.enabled()) {
    const CheckpointSummary& summary = checkpoint.summary();
    result.checkpoint = AuditCheckpoint{summary.directory, summary.written, summary.bytes_per_rank,
                                        summary.resumed_from_step};
  }
  phases.enter("reduce");
  pass.reduce();
  result.peak_rss = gather_peak_rss(comm);
  return result;
}

}  // namespace latdisp
