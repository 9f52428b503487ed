#include <cmath>

#include "analysis/count_table.hpp"
#include "analysis/motion.hpp"
#include "parallel/phase_timings_json.hpp"
#include "config/kernel_settings.hpp"
#include "config/save_dtype.hpp"
#include "parallel/environment.hpp"
#include "parallel/errors.hpp"
#include "report/near_zero_report.hpp"
#include "report/report.hpp"

namespace latdisp {

namespace {

using nlohmann::json;

// A double, or null when the statistic is over an empty set.
// A zero is written as 0.0: the sign of a zero extreme depends on the order
// in which ranks and blocks met it, and the report must not.
json number_or_null(double value) {
  if (!std::isfinite(value)) return json(nullptr);
  return json(value == 0.0 ? 0.0 : value);
}
json optional_number(const std::optional<double>& value) { return value ? json(*value) : json(nullptr); }

json series_of(const std::vector<std::optional<double>>& values) {
  json list = json::array();
  for (const auto& v : values) list.push_back(optional_number(v));
  return list;
}

json symmetric_dtype(const PopulationTally& t) {
  // The notebook's rule: |value| <= 2^(b-1) - 1.
  if (t.width < 0 || t.width > 3) return nullptr;
  const double bound = std::fmax(std::fabs(t.int_min), std::fabs(t.int_max));
  const double limits[] = {127.0, 32767.0, 2147483647.0, 9223372036854775807.0};
  for (int w = t.width; w < 4; ++w)
    if (bound <= limits[w] && !(w == 3 && bound >= 9223372036854775808.0)) return integer_dtype_name(w);
  return nullptr;
}

// The counts of `section` as keys of `j`, and their series in j["per_step"] (kCountTable).
void put_counts(json& j, const PopulationResult& p, CountSection section) {
  for (const CountDescriptor& d : kCountTable) {
    if (d.section != section) continue;
    j[d.key] = p.tally.counts[d.count];
    if (!d.series_key) continue;
    json& series = section == CountSection::crossings ? j["per_step"] : j["per_step"][d.series_key];
    series = p.series[d.count];
  }
}

json displacement_numbers(const PopulationResult& p) {
  const PopulationTally& t = p.tally;
  const int64_t coordinates = t.coordinates();
  const bool any_finite = coordinates > t.counts[kCountNonfinite];
  const std::string dtype = integer_dtype_name(t.width);
  json j = {
      {"coordinates", coordinates},
      {"min", any_finite ? number_or_null(t.min) : json(nullptr)},
      {"max", any_finite ? number_or_null(t.max) : json(nullptr)},
      {"max_abs", any_finite ? number_or_null(t.max_abs) : json(nullptr)},
      {"integer_min", any_finite ? number_or_null(t.int_min) : json(nullptr)},
      {"integer_max", any_finite ? number_or_null(t.int_max) : json(nullptr)},
      {"recommended_dtype", dtype.empty() ? json(nullptr) : json(dtype)},
      {"notebook_symmetric_dtype", symmetric_dtype(t)},
      {"verdict", verdict_of(t)},
      {"verdict_reason", verdict_reason_of(t)},
  };
  put_counts(j, p, CountSection::displacement);
  put_counts(j["arithmetic_disagreement_causes"], p, CountSection::disagreement_causes);
  return j;
}

json magnitude_numbers(const MagnitudeSummary& m) {
  json percentiles = json::object();
  for (size_t q = 0; q < kPercentiles.size(); ++q) percentiles[kPercentileKeys[q]] = optional_number(m.percentiles[q]);
  json per_step = json::object();
  for (const MagnitudeSeriesKey& series : kMagnitudeSeries) per_step[series.key] = series_of(m.*series.series);
  json histogram = {{"zero", m.zero_count},
                    {"log2_lo", m.histogram.empty() ? json(nullptr) : json(m.log2_lo)},
                    {"counts", m.histogram}};
  return {{"count", m.count},
          {"nonfinite", m.nonfinite},
          {"min", optional_number(m.min)},
          {"max", optional_number(m.max)},
          {"mean", optional_number(m.mean)},
          {"median", optional_number(m.median)},
          {"percentiles", percentiles},
          {"per_step", per_step},
          {"histogram", histogram}};
}

json crossing_numbers(const PopulationResult& p) {
  const int64_t transitions = p.tally.coordinates();
  json j = {{"transitions", transitions}, {"same", transitions - p.tally.counts[kCountCrossed]}};
  put_counts(j, p, CountSection::crossings);
  return j;
}

json step_or_null(const std::optional<int64_t>& step) { return step ? json(*step) : json(nullptr); }

// The training step of snapshot `snapshot` (docs/report.md, "motion"): null when the
// input has no step numbers or there is no such snapshot.
json training_step_or_null(const AnalysisSetup& r, const std::optional<int64_t>& snapshot) {
  if (!snapshot || *snapshot < 0 || *snapshot >= static_cast<int64_t>(r.step_numbers.size())) return nullptr;
  return r.step_numbers[static_cast<size_t>(*snapshot)];
}

// A transition t's training step: that of the snapshot it ends at, steps[t + 1].
json transition_training_step(const AnalysisSetup& r, const std::optional<int64_t>& transition) {
  return training_step_or_null(r, transition ? std::optional<int64_t>(*transition + 1) : std::nullopt);
}

// The motion regimes of one population (docs/report.md, "motion").
json motion_numbers(const AnalysisSetup& r, const PopulationResult& p) {
  const MotionSummary summary = summarize_motion(p);
  json j = {{"hop_radius", r.hop_radius},
            {"first_motion_step", step_or_null(summary.first_motion_step)},
            {"last_motion_step", step_or_null(summary.last_motion_step)},
            {"last_hop_step", step_or_null(summary.last_hop_step)},
            {"last_thermal_step", step_or_null(summary.last_thermal_step)},
            {"frozen_from", step_or_null(summary.frozen_from)},
            {"global_freeze_steps", summary.global_freeze_steps},
            {"first_motion_training_step", transition_training_step(r, summary.first_motion_step)},
            {"last_motion_training_step", transition_training_step(r, summary.last_motion_step)},
            {"last_hop_training_step", transition_training_step(r, summary.last_hop_step)},
            {"last_thermal_training_step", transition_training_step(r, summary.last_thermal_step)},
            {"frozen_from_training_step", training_step_or_null(r, summary.frozen_from)}};
  put_counts(j, p, CountSection::motion);
  return j;
}

// The effective configuration, every option as it was given (the option
// table's echo, config/analyze_options.cpp).
json options_json(const AnalyzeConfig& config) { return json::parse(config.echo.report); }

// A resumed run's timings cover the resumed part only (docs/operations.md).
json resumed_from_step(const RunRecord& r) {
  return r.checkpoint && r.checkpoint->resumed_from_step ? json(*r.checkpoint->resumed_from_step) : json(nullptr);
}

json checkpoint_json(const RunRecord& r) {
  if (!r.checkpoint) return nullptr;
  return {{"directory", r.checkpoint->directory},
          {"written", r.checkpoint->written},
          {"bytes_per_rank", r.checkpoint->bytes_per_rank}};
}

json versions_json() {
  json versions;
  for (const auto& [library, version] : library_versions()) versions[library] = version;
  return versions;
}

json input_json(const AnalysisSetup& r) {
  return {{"path", r.config.input.path},
          {"dataset", r.config.input.dataset},
          {"dtype", r.input_type},
          {"element_type", formats::element_type_name(r.element_type)},
          {"format", format_name(r.input_format)},
          {"steps", r.step_numbers.empty() ? json(nullptr) : json(r.step_numbers)},
          {"skipped", r.skipped},
          {"shape", {r.shape.steps, r.shape.tokens, r.shape.dims}},
          {"dead_mask", r.dead_mask_found ? json(r.config.input.dead_mask) : json(nullptr)},
          {"n_dead", r.n_dead},
          {"dead_fraction", static_cast<double>(r.n_dead) / static_cast<double>(r.shape.tokens)}};
}

json timings_json(const Timings& t) {
  json timings = {{"read", t.read},         {"compute", t.compute},     {"reduce", t.reduce},
                  {"write", t.write},       {"checkpoint", t.checkpoint}, {"near_zero", t.near_zero},
                  {"total", t.total}};
  timings.update(phase_timings_json(t.phases));
  return timings;
}

json run_json(const AnalysisSetup& setup, const RunRecord& record) {
  const double coordinates_per_s =
      record.timings.total > 0 ? static_cast<double>(setup.coordinates()) / record.timings.total : 0.0;
  return {{"ranks", setup.ranks},
          {"kokkos_backend", setup.kokkos_backend},
          {"arithmetic", arithmetic_name(setup.config.kernel.arithmetic)},
          {"epsilon", setup.config.kernel.epsilon},
          {"zero_ulp", zero_ulp_name(setup.config.kernel.zero_ulp)},
          {"memory_budget_bytes", setup.memory_budget},
          {"steps_per_block", setup.steps_per_block},
          {"magnitudes_in_memory", setup.magnitudes_in_memory},
          {"read_method", block_source_name(setup.block_source)},
          {"peak_rss_bytes", record.peak_rss},
          {"timings_s", timings_json(record.timings)},
          {"coordinates_per_s", coordinates_per_s},
          {"resumed_from_step", resumed_from_step(record)},
          {"checkpoint", checkpoint_json(record)},
          {"options", options_json(setup.config)},
          {"versions", versions_json()}};
}

json ulp_json(const UlpTally& ulp) {
  const bool any_ulp = ulp.min_exponent <= ulp.max_exponent;
  return {{"zeros", ulp.zeros},
          {"subnormals", ulp.subnormals},
          {"nonfinite", ulp.nonfinite},
          {"min", any_ulp ? json(ulp.min_exponent <= kZeroUlpExponent ? 0.0 : std::ldexp(1.0, ulp.min_exponent))
                          : json(nullptr)},
          {"max", any_ulp ? json(std::ldexp(1.0, ulp.max_exponent)) : json(nullptr)}};
}

// With --output: what was saved, and how fast.
json output_json(const AnalysisSetup& setup, const SaveSummary& s) {
  return {{"path", s.path},
          {"format", format_name(s.format)},
          {"delta_dtype", s.dtype},
          {"outputs", setup.config.save.selection_text},
          {"exceptions", s.exceptions},
          {"bytes_written", s.bytes},
          {"write_s", s.seconds},
          {"write_bytes_per_s", s.seconds > 0 ? static_cast<double>(s.bytes) / s.seconds : 0.0},
          {"phases_s",
           {{"read", s.phases.read},
            {"encode", s.phases.encode},
            {"exceptions", s.phases.exceptions},
            {"write", s.phases.write}}}};
}

// numbers(population) for all tokens, with the live and dead tokens' nested
// under their names ("live", "dead").
template <class Numbers>
json by_population(const Numbers& numbers) {
  json all = numbers(kAllTokens);
  for (const Population p : {kLive, kDead}) all[population_name(p)] = numbers(result_population(p));
  return all;
}

}  // namespace

json json_report(const AnalysisResult& r) {
  json report;
  report["schema"] = "latdisp.analyze/1";
  report["input"] = input_json(r);
  report["run"] = run_json(r, r);
  report["ulp"] = ulp_json(r.ulp);
  report["displacement"] = by_population([&](int p) {
    json numbers = displacement_numbers(r.displacement[p]);
    // The seed arithmetic is bf16's: for other formats there is nothing to disagree with.
    if (r.element_type != formats::ElementType::bf16)
      numbers["arithmetic_disagreements"] = numbers["arithmetic_disagreement_causes"] = nullptr;
    return numbers;
  });
  report["magnitude"] = by_population([&](int p) { return magnitude_numbers(r.magnitude[p]); });
  report["crossings"] = by_population([&](int p) { return crossing_numbers(r.displacement[p]); });
  report["motion"] = by_population([&](int p) { return motion_numbers(r, r.displacement[p]); });
  report["near_zero"] = near_zero_json(r.near_zero);
  if (r.saved) report["output"] = output_json(r, *r.saved);
  return report;
}

}  // namespace latdisp
