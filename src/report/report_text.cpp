#include <array>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "analysis/motion.hpp"
#include "config/kernel_settings.hpp"
#include "config/save_dtype.hpp"
#include "parallel/memory.hpp"
#include "report/near_zero_report.hpp"
#include "report/report.hpp"

namespace latdisp {

namespace {

std::string percent(int64_t part, int64_t whole) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4f%%",
                whole > 0 ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0);
  return buffer;
}

std::string number(double v) {
  if (!std::isfinite(v)) return "n/a";
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%.17g", v);
  return buffer;
}

std::string optional_text(const std::optional<double>& v) { return v ? number(*v) : "n/a"; }

void section(std::FILE* out, const char* title) { std::fprintf(out, "\n== %s ==\n", title); }

void class_line(std::FILE* out, const char* label, const PopulationTally& t) {
  const int64_t n = t.coordinates();
  std::fprintf(out, "  %-5s exact %lld (%s), almost %lld, half %lld, non-integer %lld, non-finite %lld\n", label,
               static_cast<long long>(t.counts[kCountExact]), percent(t.counts[kCountExact], n).c_str(),
               static_cast<long long>(t.counts[kCountAlmost]), static_cast<long long>(t.counts[kCountHalf]),
               static_cast<long long>(t.counts[kCountNonInteger]), static_cast<long long>(t.counts[kCountNonfinite]));
}

// Training step numbers of the snapshots, or empty: transitions are then named by t alone.
using StepNumbers = std::vector<int64_t>;

// Transition t, with its training steps when known: "t=11 (training step 275 -> 300)".
std::string transition_text(int64_t t, const StepNumbers& steps) {
  std::string text = "t=" + std::to_string(t);
  if (t + 1 < static_cast<int64_t>(steps.size()))
    text += " (training step " + std::to_string(steps[static_cast<size_t>(t)]) + " -> " +
            std::to_string(steps[static_cast<size_t>(t + 1)]) + ")";
  return text;
}

std::string at_step(const std::optional<int64_t>& step, const StepNumbers& steps) {
  return step ? transition_text(*step, steps) : "never";
}

// Where the freeze starts: transition frozen_from, i.e. W unchanged from snapshot frozen_from on.
std::string frozen_text(int64_t frozen_from, const StepNumbers& steps) {
  std::string text = "frozen from t=" + std::to_string(frozen_from);
  if (frozen_from < static_cast<int64_t>(steps.size()))
    text += " (W unchanged from training step " + std::to_string(steps[static_cast<size_t>(frozen_from)]) + " on)";
  return text;
}

// One population's story: when motion last happened, and since when it is still.
std::string motion_story(const PopulationResult& p, int64_t transitions, const StepNumbers& steps) {
  const MotionSummary s = summarize_motion(p);
  const std::string without =
      std::to_string(s.global_freeze_steps) + " of " + std::to_string(transitions) + " transitions without motion";
  if (!s.last_motion_step) return "never moved: " + without;
  std::string text = (s.last_thermal_step ? "thermal motion last at " + at_step(s.last_thermal_step, steps)
                                          : std::string("no thermal motion")) +
                     (s.last_hop_step ? ", hops last at " + at_step(s.last_hop_step, steps) : std::string(", no hops")) +
                     ", ";
  if (s.frozen_from)
    text += frozen_text(*s.frozen_from, steps);
  else
    text += "still moving at the last transition (" + transition_text(transitions - 1, steps) + ")";
  if (!s.last_thermal_step)
    text += "; every move a hop";
  else if (s.last_hop_step && *s.last_hop_step > *s.last_thermal_step)
    text += "; hops only (jitter) over " + transition_text(*s.last_thermal_step + 1, steps) + " .. " +
            transition_text(*s.last_hop_step, steps);
  return text + "; " + without;
}

void motion_section(std::FILE* out, const AnalysisSetup& setup, const ReducedNumbers& r) {
  char title[160];
  std::snprintf(title, sizeof title, "Motion regimes (R = %.17g cells: frozen m = 0, hop 0 < m <= R, thermal m > R)",
                setup.hop_radius);
  section(out, title);
  for (int p = 0; p < kResultPopulations; ++p) {
    const PopulationTally& t = r.displacement[p].tally;
    const int64_t rows = t.counts[kCountFrozenRows] + t.counts[kCountHopRows] + t.counts[kCountThermalRows] +
                         t.counts[kCountNonfiniteRows];
    std::fprintf(out, "  %-5s rows %lld: frozen %lld (%s), hop %lld (%s), thermal %lld (%s), non-finite %lld\n",
                 population_name(p), static_cast<long long>(rows), static_cast<long long>(t.counts[kCountFrozenRows]),
                 percent(t.counts[kCountFrozenRows], rows).c_str(), static_cast<long long>(t.counts[kCountHopRows]),
                 percent(t.counts[kCountHopRows], rows).c_str(), static_cast<long long>(t.counts[kCountThermalRows]),
                 percent(t.counts[kCountThermalRows], rows).c_str(),
                 static_cast<long long>(t.counts[kCountNonfiniteRows]));
  }
  for (int p = 0; p < kResultPopulations; ++p)
    std::fprintf(out, "  %s tokens: %s\n", population_name(p),
                 motion_story(r.displacement[p], setup.transitions(), setup.step_numbers).c_str());
}

// The input, the dead mask, the ranks and the plan.
void load_section(std::FILE* out, const AnalysisSetup& r, const RunRecord& record) {
  section(out, "Load");
  std::fprintf(out, "  %s:%s  shape [%lld steps, %lld tokens, %lld dims], element type %s, stored as %s (%s)\n",
               r.config.input.path.c_str(), r.config.input.dataset.c_str(), static_cast<long long>(r.shape.steps),
               static_cast<long long>(r.shape.tokens), static_cast<long long>(r.shape.dims),
               formats::element_type_name(r.element_type).c_str(), r.input_type.c_str(), format_name(r.input_format));
  if (!r.step_numbers.empty())
    std::fprintf(out, "  training steps %lld .. %lld\n", static_cast<long long>(r.step_numbers.front()),
                 static_cast<long long>(r.step_numbers.back()));
  for (const std::string& skipped : r.skipped) std::fprintf(out, "  skipped (incomplete) %s\n", skipped.c_str());
  if (r.dead_mask_found)
    std::fprintf(out, "  dead tokens: %lld of %lld (%s), from '%s'\n", static_cast<long long>(r.n_dead),
                 static_cast<long long>(r.shape.tokens), percent(r.n_dead, r.shape.tokens).c_str(),
                 r.config.input.dead_mask.c_str());
  else
    std::fprintf(out, "  no dead mask '%s': every token is live\n", r.config.input.dead_mask.c_str());
  std::fprintf(out, "  %d rank(s), Kokkos %s, %lld steps per block, budget %s per rank\n", r.ranks,
               r.kokkos_backend.c_str(), static_cast<long long>(r.steps_per_block),
               format_bytes(r.memory_budget).c_str());
  if (record.checkpoint && record.checkpoint->resumed_from_step)
    std::fprintf(out, "  resumed from step %lld (checkpoint in '%s'); the timings cover the resumed part only\n",
                 static_cast<long long>(*record.checkpoint->resumed_from_step), record.checkpoint->directory.c_str());
}

// U(W): its special values and range.
void ulp_section(std::FILE* out, const TrajectoryShape& shape, const UlpTally& ulp) {
  section(out, "ULP matrix U(W)");
  std::fprintf(out, "  values %lld: zeros %lld, subnormals %lld, non-finite %lld\n",
               static_cast<long long>(shape.steps * shape.tokens * shape.dims), static_cast<long long>(ulp.zeros),
               static_cast<long long>(ulp.subnormals), static_cast<long long>(ulp.nonfinite));
  if (ulp.min_exponent <= kZeroUlpExponent)
    std::fprintf(out, "  ULP range: 0 (the notebook's ULP where |b| + 1 rounds back to |b|) .. 2^%d\n",
                 ulp.max_exponent);
  else if (ulp.min_exponent <= ulp.max_exponent)
    std::fprintf(out, "  ULP range: 2^%d .. 2^%d\n", ulp.min_exponent, ulp.max_exponent);
}

// How many coordinates moved, and each class per population.
void displacement_section(std::FILE* out, const AnalysisSetup& setup, const ReducedNumbers& r) {
  const PopulationTally& all = r.displacement[kAllTokens].tally;
  const int64_t coordinates = setup.coordinates();
  section(out, "Lattice displacement x = (W[t+1] - W[t]) / U(W[t])");
  std::fprintf(out, "  coordinates %lld = (S-1) x N x D; moved %lld (%s)\n", static_cast<long long>(coordinates),
               static_cast<long long>(all.counts[kCountMoved]), percent(all.counts[kCountMoved], coordinates).c_str());
  for (int p = 0; p < kResultPopulations; ++p) class_line(out, population_name(p), r.displacement[p].tally);
}

// Where float32 or float64 could not hold x exactly.
void fidelity_section(std::FILE* out, const ReducedNumbers& r) {
  const PopulationTally& all = r.displacement[kAllTokens].tally;
  section(out, "Float32 fidelity");
  std::fprintf(out, "  |x| > 2^24 (beyond float32's exact integers): %lld\n",
               static_cast<long long>(all.counts[kCountBeyondFloat32]));
  std::fprintf(out, "  |x| > 2^53 (beyond float64's exact integers): %lld\n",
               static_cast<long long>(all.counts[kCountBeyondFloat64]));
  std::fprintf(out, "  x not exactly a float32 value: %lld\n",
               static_cast<long long>(all.counts[kCountFloat32Inexact]));
}

// The checks the counts must pass, and where the two arithmetics disagree.
void validation_section(std::FILE* out, const AnalysisSetup& setup, const ReducedNumbers& r) {
  const PopulationTally& all = r.displacement[kAllTokens].tally;
  const int64_t coordinates = setup.coordinates();
  section(out, "Validation");
  const int64_t classified = all.coordinates();
  std::fprintf(out, "  class counts sum to %lld of %lld coordinates: %s\n", static_cast<long long>(classified),
               static_cast<long long>(coordinates), classified == coordinates ? "OK" : "MISMATCH");
  std::fprintf(out, "  exact vs seed (notebook) arithmetic disagree on %lld coordinates (%s)\n",
               static_cast<long long>(all.counts[kCountDisagreements]),
               percent(all.counts[kCountDisagreements], coordinates).c_str());
  if (all.counts[kCountDisagreements] > 0)
    std::fprintf(out,
                 "    causes: the notebook's ULP rule (zero, |b| >= 256, max finite) %lld; bfloat16 rounding of "
                 "a - b %lld; floor-based classification %lld\n",
                 static_cast<long long>(all.counts[kCountCauseUlpRule]),
                 static_cast<long long>(all.counts[kCountCauseRounding]),
                 static_cast<long long>(all.counts[kCountCauseFloor]));
  if (all.counts[kCountNonfinite] > 0) {
    if (setup.arithmetic == Arithmetic::seed)
      std::fprintf(out,
                   "  %lld coordinates are Inf/NaN in the notebook's arithmetic (Inf/NaN in W, or its ULP of 0 "
                   "for |b| >= 512); the notebook's statistics dropped them silently, latdisp counts them apart\n",
                   static_cast<long long>(all.counts[kCountNonfinite]));
    else
      std::fprintf(out, "  %lld non-finite coordinates (Inf/NaN in W) are reported apart, never hidden\n",
                   static_cast<long long>(all.counts[kCountNonfinite]));
  }
}

// The range of x and the integer type that holds it.
void range_section(std::FILE* out, const ReducedNumbers& r) {
  const PopulationTally& all = r.displacement[kAllTokens].tally;
  section(out, "Range and integer type");
  std::fprintf(out, "  x in [%s, %s], max |x| %s\n", number(all.min).c_str(), number(all.max).c_str(),
               number(all.max_abs).c_str());
  std::fprintf(out, "  round-half-even(x) in [%s, %s]\n", number(all.int_min).c_str(), number(all.int_max).c_str());
  const std::string dtype = integer_dtype_name(all.width);
  std::fprintf(out, "  recommended integer dtype: %s\n",
               dtype.empty() ? (all.width < 0 ? "n/a (no finite x)" : "none (beyond int64)") : dtype.c_str());
}

// The row magnitudes per population: extremes, mean and percentiles.
void magnitude_section(std::FILE* out, const std::array<MagnitudeSummary, kResultPopulations>& magnitude) {
  section(out, "Magnitude statistics m = |x row| over dims");
  for (int p = 0; p < kResultPopulations; ++p) {
    const MagnitudeSummary& m = magnitude[static_cast<size_t>(p)];
    std::fprintf(out, "  %-5s count %lld (non-finite %lld): min %s, max %s, mean %s, median %s\n", population_name(p),
                 static_cast<long long>(m.count), static_cast<long long>(m.nonfinite), optional_text(m.min).c_str(),
                 optional_text(m.max).c_str(), optional_text(m.mean).c_str(), optional_text(m.median).c_str());
    std::string line;
    for (size_t q = 0; q < kPercentiles.size(); ++q)
      line += std::string(q == 0 ? "" : ", ") + "p" + kPercentileKeys[q] + " " + optional_text(m.percentiles[q]);
    std::fprintf(out, "        %s\n", line.c_str());
  }
}

// Exponent crossings per population.
void crossings_section(std::FILE* out, const ReducedNumbers& r) {
  section(out, "Exponent crossings E(W[t]) != E(W[t+1])");
  for (int p = 0; p < kResultPopulations; ++p) {
    const PopulationTally& t = r.displacement[p].tally;
    const int64_t n = t.coordinates();
    std::fprintf(out, "  %-5s crossed %lld of %lld transitions (%s)\n", population_name(p),
                 static_cast<long long>(t.counts[kCountCrossed]), static_cast<long long>(n),
                 percent(t.counts[kCountCrossed], n).c_str());
  }
}

// With --output: what was saved.
void saved_section(std::FILE* out, const std::optional<SaveSummary>& saved) {
  if (saved) {
    section(out, "Saved");
    std::fprintf(out, "  %s (%s): delta_W_prime as %s, %lld exceptions, %s in %.2f s (%.3g MB/s)\n",
                 saved->path.c_str(), format_name(saved->format), saved->dtype.c_str(),
                 static_cast<long long>(saved->exceptions), format_bytes(saved->bytes).c_str(), saved->seconds,
                 saved->seconds > 0 ? static_cast<double>(saved->bytes) / saved->seconds / 1e6 : 0.0);
  }
}

// The verdict and the run's timings.
void verdict_section(std::FILE* out, const AnalysisSetup& setup, const ReducedNumbers& r, const Timings& timings) {
  const PopulationTally& all = r.displacement[kAllTokens].tally;
  const int64_t coordinates = setup.coordinates();
  section(out, "Verdict");
  std::fprintf(out, "  %s (live: %s, dead: %s)\n", verdict_of(all).c_str(),
               verdict_of(r.displacement[kLiveTokens].tally).c_str(),
               verdict_of(r.displacement[kDeadTokens].tally).c_str());
  std::fprintf(out, "  why: %s\n", verdict_reason_of(all).c_str());
  std::fprintf(out, "  %.2f s total (read %.2f, compute %.2f, reduce %.2f), %.3g coordinates/s\n", timings.total,
               timings.read, timings.compute, timings.reduce,
               timings.total > 0 ? static_cast<double>(coordinates) / timings.total : 0.0);
  std::fprintf(out, "  %s\n", where_time_went_line(timings.phases).c_str());
}

}  // namespace

void print_text_report(const AnalysisResult& r, std::FILE* out) {
  std::fprintf(out, "latdisp analyze — %s arithmetic, epsilon %g, zero ULP %s\n",
               arithmetic_name(r.config.kernel.arithmetic), r.config.kernel.epsilon,
               zero_ulp_name(r.config.kernel.zero_ulp));
  load_section(out, r, r);
  ulp_section(out, r.shape, r.ulp);
  displacement_section(out, r, r);
  fidelity_section(out, r);
  validation_section(out, r, r);
  range_section(out, r);
  magnitude_section(out, r.magnitude);
  near_zero_section(out, r.near_zero);
  crossings_section(out, r);
  motion_section(out, r, r);
  saved_section(out, r.saved);
  verdict_section(out, r, r, r.timings);
}

}  // namespace latdisp
