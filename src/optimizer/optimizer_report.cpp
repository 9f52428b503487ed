#include "optimizer/optimizer_report.hpp"

#include <cmath>
#include <sstream>

#include "parallel/phase_timings_json.hpp"
#include "io/table_writer.hpp"
#include "kokkos_kernels/optimizer/audit_block.hpp"
#include "parallel/partition.hpp"

namespace latdisp {

using nlohmann::json;

namespace {

const char* const kClassNames[8] = {"still",      "swallowed",  "spurious", "reversed",
                                    "amplified",  "attenuated", "exact",    "nonfinite"};
const char* const kPopulations[3] = {"all", "live", "dead"};
const char* const kTensorKeys[3] = {"W", "exp_avg", "exp_avg_sq"};
const char* const kFreezeKeys[4] = {"frozen_as_predicted", "moved_though_predicted_frozen",
                                    "frozen_though_predicted_moving", "moved_as_predicted"};
const int kFreezeCounters[4] = {kFrozenAsPredicted, kMovedThoughPredictedFrozen, kFrozenThoughPredictedMoving,
                                kMovedAsPredicted};
const char* const kShiftKeys[3] = {"increased", "unchanged", "decreased"};

int64_t transitions(const OptimizerResult& r) { return r.steps - 1; }

// population 0 all, 1 live, 2 dead; step index i = t - 1.
int64_t count_at(const OptimizerResult& r, int population, int64_t i, int counter) {
  const auto& live = r.counts[size_t(i * 2 + kAuditLive)];
  const auto& dead = r.counts[size_t(i * 2 + kAuditDead)];
  if (population == 1) return live[counter];
  if (population == 2) return dead[counter];
  return live[counter] + dead[counter];
}

int64_t total(const OptimizerResult& r, int population, int counter) {
  int64_t sum = 0;
  for (int64_t i = 0; i < transitions(r); ++i) sum += count_at(r, population, i, counter);
  return sum;
}

json series(const OptimizerResult& r, int population, int counter) {
  json list = json::array();
  for (int64_t i = 0; i < transitions(r); ++i) list.push_back(count_at(r, population, i, counter));
  return list;
}

WideSum sum_at(const OptimizerResult& r, int population, int64_t i, int which) {
  WideSum s;
  if (population != 2) s.add(r.sums[size_t(i * 2 + kAuditLive)][which]);
  if (population != 1) s.add(r.sums[size_t(i * 2 + kAuditDead)][which]);
  return s;
}

double sum_total(const OptimizerResult& r, int population, int which) {
  WideSum s;
  for (int64_t i = 0; i < transitions(r); ++i) s.add(sum_at(r, population, i, which));
  return s.to_double();
}

json ratio(double a, double b) { return b != 0 ? json(a / b) : json(nullptr); }

json classes_block(const OptimizerResult& r, int p) {
  json j;
  int64_t coordinates = 0;
  json per_step;
  for (int c = 0; c < 8; ++c) {
    j[kClassNames[c]] = total(r, p, kClassFirst + c);
    coordinates += total(r, p, kClassFirst + c);
    per_step[kClassNames[c]] = series(r, p, kClassFirst + c);
  }
  j["coordinates"] = coordinates;
  j["per_step"] = per_step;
  return j;
}

json cells_block(const OptimizerResult& r, int p) {
  json j{{"sub_half_cell", total(r, p, kSubHalfCellCount)}, {"sub_half_cell_moved", total(r, p, kSubHalfCellMoved)}};
  const char* names[4] = {"50", "90", "99", "99.9"};
  json percentiles;
  for (int q = 0; q < 4; ++q)
    percentiles[names[q]] = r.percentiles[p][q] ? json(*r.percentiles[p][q]) : json(nullptr);
  j["percentiles"] = percentiles;
  return j;
}

json sums_block(const OptimizerResult& r, int p) {
  const double intended = sum_total(r, p, kIntendedL1), lost = sum_total(r, p, kLostL1);
  const double dot = sum_total(r, p, kDot), square = sum_total(r, p, kIntendedSq);
  json j{{"intended_l1", intended}, {"realized_l1", sum_total(r, p, kRealizedL1)}, {"lost_l1", lost}, {"dot", dot},
         {"intended_sq", square},   {"lost_fraction", ratio(lost, intended)},      {"projection", ratio(dot, square)}};
  json a = json::array(), b = json::array(), c = json::array();
  for (int64_t i = 0; i < transitions(r); ++i) {
    const double step_intended = sum_at(r, p, i, kIntendedL1).to_double();
    const double step_lost = sum_at(r, p, i, kLostL1).to_double();
    a.push_back(step_intended);
    b.push_back(step_lost);
    c.push_back(ratio(step_lost, step_intended));
  }
  j["per_step"] = {{"intended_l1", a}, {"lost_l1", b}, {"lost_fraction", c}};
  return j;
}

json states_block(const OptimizerResult& r, int p) {
  json j;
  const int firsts[2] = {kExpAvgIncreased, kExpAvgSqIncreased};
  const char* names[2] = {"exp_avg", "exp_avg_sq"};
  for (int s = 0; s < 2; ++s) {
    json state, per_step;
    for (int k = 0; k < 3; ++k) {
      state[kShiftKeys[k]] = total(r, p, firsts[s] + k);
      per_step[kShiftKeys[k]] = series(r, p, firsts[s] + k);
    }
    state["per_step"] = per_step;
    j[names[s]] = state;
  }
  return j;
}

json decay_block(const OptimizerResult& r, int p) {
  return {{"eligible", total(r, p, kCountDecayEligible)},
          {"noop", total(r, p, kCountDecayNoop)},
          {"per_step", {{"eligible", series(r, p, kCountDecayEligible)}, {"noop", series(r, p, kCountDecayNoop)}}}};
}

json replay_block(const OptimizerResult& r, int p) {
  json j;
  const int64_t compared = total(r, p, kCompared);
  for (int k = 0; k < 3; ++k) {
    const int64_t mismatch = total(r, p, kCountMismatchW + k);
    j[kTensorKeys[k]] = {{"match", compared - mismatch}, {"mismatch", mismatch},
                         {"per_step_mismatch", series(r, p, kCountMismatchW + k)}};
  }
  return j;
}

json freeze_block(const OptimizerResult& r, int p) {
  json j, per_step;
  for (int k = 0; k < 4; ++k) {
    j[kFreezeKeys[k]] = total(r, p, kFreezeCounters[k]);
    per_step[kFreezeKeys[k]] = series(r, p, kFreezeCounters[k]);
  }
  j["per_step"] = per_step;
  return j;
}

// A section for all tokens, with `live` and `dead` inside.
json with_populations(const OptimizerResult& r, json (*block)(const OptimizerResult&, int)) {
  json j = block(r, 0);
  j["live"] = block(r, 1);
  j["dead"] = block(r, 2);
  return j;
}

json hyperparameter_json(const Hyperparameter& h) { return {{"value", h.value}, {"source", h.source}}; }

json input_json(const OptimizerResult& r) {
  json j{{"path", r.path},
         {"dataset", r.names[0]},
         {"grad", r.names[1]},
         {"exp_avg", r.names[2]},
         {"exp_avg_sq", r.names[3]},
         {"shape", {r.steps, r.tokens, r.dims}},
         {"element_type", r.element_type},
         {"element_types", {{"W", r.element_types[0]}, {"grad", r.element_types[1]}, {"exp_avg", r.element_types[2]},
                            {"exp_avg_sq", r.element_types[3]}}},
         {"format", format_name(r.format)},
         {"n_dead", r.n_dead},
         {"dead_fraction", r.tokens ? double(r.n_dead) / double(r.tokens) : 0.0},
         {"optimizer_steps", r.step_counts}};
  if (!r.step_numbers.empty()) j["steps"] = r.step_numbers;
  return j;
}

// The audit's timings: the totals by kind, then its phases (docs/optimizer.md §6).
json timings_json(const OptimizerResult& r) {
  json timings = {{"read", r.read_seconds},
                  {"compute", r.compute_seconds},
                  {"reduce", r.reduce_seconds},
                  {"checkpoint", r.checkpoint_seconds},
                  {"total", r.total_seconds}};
  timings.update(phase_timings_json(r.phases));
  return timings;
}

json run_json(const OptimizerResult& r) {
  const Hyperparameters& h = r.hyperparameters;
  json lr = h.lr_dataset.empty() ? hyperparameter_json(h.lr) : json{{"dataset", h.lr_dataset}, {"source", "dataset"}};
  const double coordinates = double(r.steps - 1) * double(r.tokens) * double(r.dims);
  return {{"ranks", r.ranks},
          {"kokkos_backend", r.kokkos_backend},
          {"update_rule", r.update_rule},
          {"torch_capability", r.torch_capability},
          {"torch_threads", r.torch_threads},
          {"hyperparameters",
           {{"lr", lr},
            {"beta1", hyperparameter_json(h.beta1)},
            {"beta2", hyperparameter_json(h.beta2)},
            {"eps", hyperparameter_json(h.eps)},
            {"weight_decay", hyperparameter_json(h.weight_decay)}}},
          {"memory_budget_bytes", r.memory_budget},
          {"steps_per_block", r.steps_per_block},
          {"peak_rss_bytes", r.peak_rss},
          {"timings_s", timings_json(r)},
          {"coordinates_per_s", r.total_seconds > 0 ? coordinates / r.total_seconds : 0.0},
          {"resumed_from_step", r.checkpoint && r.checkpoint->resumed_from_step ? json(*r.checkpoint->resumed_from_step)
                                                                                : json(nullptr)},
          {"checkpoint", r.checkpoint ? json{{"directory", r.checkpoint->directory},
                                             {"written", r.checkpoint->written},
                                             {"bytes_per_rank", r.checkpoint->bytes_per_rank}}
                                      : json(nullptr)}};
}

json first_mismatches_json(const OptimizerResult& r) {
  json list = json::array();
  for (const FirstMismatch& m : r.first_mismatches)
    list.push_back({{"step", m.step},
                    {"token", m.token},
                    {"dim", m.dim},
                    {"tensor", kTensorKeys[m.tensor]},
                    {"recorded_bits", m.recorded_bits},
                    {"replayed_bits", m.replayed_bits},
                    {"operation", m.operation}});
  return list;
}

}  // namespace

json optimizer_json(const OptimizerResult& r) {
  json j;
  j["schema"] = "latdisp.optimizer/1";
  j["input"] = input_json(r);
  j["run"] = run_json(r);
  j["classes"] = with_populations(r, classes_block);
  j["cells"] = with_populations(r, cells_block);
  j["sums"] = with_populations(r, sums_block);
  j["states"] = with_populations(r, states_block);
  j["weight_decay"] = with_populations(r, decay_block);
  j["replay"] = with_populations(r, replay_block);
  j["replay"]["first_mismatches"] = first_mismatches_json(r);
  j["freeze_prediction"] = with_populations(r, freeze_block);
  return j;
}

}  // namespace latdisp
