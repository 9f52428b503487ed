#include "analysis/magnitude_statistics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "parallel/exact_sum.hpp"

namespace latdisp {

namespace {

constexpr int kHistogramLow = -1100;  // floor(log2) of any positive double is >= -1075
constexpr int kHistogramBins = 2200;
constexpr double kInfinity = std::numeric_limits<double>::infinity();

// Everything of one token class's magnitudes but the order statistics and
// the per-step series.
struct MagnitudeProfile {
  int64_t count = 0;  // finite
  int64_t nonfinite = 0;
  int64_t zero = 0;
  double min = kInfinity, max = -kInfinity;
  std::vector<int64_t> log2_bins = std::vector<int64_t>(kHistogramBins, 0);

  void add(double m, int64_t rows) {
    count += rows;
    min = std::min(min, m);
    max = std::max(max, m);
    if (m == 0.0) {
      zero += rows;
      return;
    }
    int exponent = 0;
    std::frexp(m, &exponent);  // m in [2^(exponent-1), 2^exponent)
    log2_bins[static_cast<size_t>(exponent - 1 - kHistogramLow)] += rows;
  }
  void merge(const MagnitudeProfile& o) {
    count += o.count;
    nonfinite += o.nonfinite;
    zero += o.zero;
    min = std::min(min, o.min);
    max = std::max(max, o.max);
    for (size_t b = 0; b < log2_bins.size(); ++b) log2_bins[b] += o.log2_bins[b];
  }
};

// A token class's per-step series.
struct StepSeries {
  std::vector<StepMagnitudes> steps;
  void merge(const StepSeries& o) {
    for (size_t t = 0; t < steps.size(); ++t) steps[t].merge(o.steps[t]);
  }
};

// Stage 1: this rank's profiles of its live and dead rows (Population order),
// from the distinct and the general values; all-reduced, since every rank
// needs the counts to select.
std::array<MagnitudeProfile, kPassPopulations> reduced_profiles(const MagnitudeStore& store, MPI_Comm comm) {
  std::array<MagnitudeProfile, kPassPopulations> profiles;
  const auto add = [&](uint64_t key, int64_t rows) {
    profiles[pass_population(key_is_dead(key))].add(key_value(key), rows);
  };
  store.distinct().for_each(add);
  store.general().for_each_chunk([&](const uint64_t* keys, int64_t count) {
    for (int64_t i = 0; i < count; ++i) add(keys[i], 1);
  });
  std::vector<int64_t> counts;
  std::vector<double> minima;
  for (const Population c : {kLive, kDead}) {
    MagnitudeProfile& p = profiles[c];
    p.nonfinite = store.nonfinite(c == kDead);
    counts.insert(counts.end(), {p.count, p.nonfinite, p.zero});
    counts.insert(counts.end(), p.log2_bins.begin(), p.log2_bins.end());
    minima.insert(minima.end(), {p.min, -p.max});
  }
  MPI_Allreduce(MPI_IN_PLACE, counts.data(), static_cast<int>(counts.size()), MPI_INT64_T, MPI_SUM, comm);
  MPI_Allreduce(MPI_IN_PLACE, minima.data(), static_cast<int>(minima.size()), MPI_DOUBLE, MPI_MIN, comm);
  auto next = counts.begin();
  for (const Population c : {kLive, kDead}) {
    MagnitudeProfile& p = profiles[c];
    p.count = *next++;
    p.nonfinite = *next++;
    p.zero = *next++;
    std::copy(next, next + kHistogramBins, p.log2_bins.begin());
    next += kHistogramBins;
    p.min = minima[2 * static_cast<size_t>(c)];
    p.max = -minima[2 * static_cast<size_t>(c) + 1];
  }
  return profiles;
}

// Stage 2: the per-step series of the live and the dead rows (Population
// order), reduced to rank 0.
std::array<StepSeries, kPassPopulations> step_series_on_root(const MagnitudeStore& store, MPI_Comm comm) {
  std::array<StepSeries, kPassPopulations> series;
  std::vector<ExactSum> sums;
  std::vector<int64_t> counts;
  std::vector<double> maxima;
  for (const Population c : {kLive, kDead}) {
    series[c].steps = store.steps(c == kDead);
    for (const StepMagnitudes& s : series[c].steps) {
      sums.push_back(s.sum);
      counts.push_back(s.count);
      maxima.push_back(s.max);
    }
  }
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  ExactSum::reduce_to_root(sums, comm);
  MPI_Reduce(rank == 0 ? MPI_IN_PLACE : counts.data(), counts.data(), static_cast<int>(counts.size()), MPI_INT64_T,
             MPI_SUM, 0, comm);
  MPI_Reduce(rank == 0 ? MPI_IN_PLACE : maxima.data(), maxima.data(), static_cast<int>(maxima.size()), MPI_DOUBLE,
             MPI_MAX, 0, comm);
  size_t i = 0;
  for (StepSeries& s : series)
    for (StepMagnitudes& step : s.steps) {
      step.sum = sums[i];
      step.count = counts[i];
      step.max = maxima[i++];
    }
  return series;
}

// Stage 3: median and percentiles of all three populations in one selection
// (every rank takes part).
void fill_order_statistics(std::array<MagnitudeSummary, kResultPopulations>& summary, const MagnitudeStore& store,
                           const std::vector<uint8_t>& dead, MPI_Comm comm) {
  std::vector<OrderStatistic> wanted;
  std::array<std::vector<PercentileRecipe>, kResultPopulations> recipes;
  for (int population = 0; population < kResultPopulations; ++population) {
    const int64_t count = summary[population].count;
    if (count == 0) continue;
    const auto p = static_cast<MagnitudePopulation>(population);
    for (double q : kPercentiles) {
      recipes[population].push_back(numpy_percentile_recipe(count, q));
      wanted.push_back({p, recipes[population].back().lower});
      wanted.push_back({p, recipes[population].back().upper});
    }
    wanted.push_back({p, (count - 1) / 2});  // np.median: the middle, or the mean of the middle two
    wanted.push_back({p, count / 2});
  }
  const std::vector<double> order = select_order_statistics(store, dead, wanted, comm);
  size_t next = 0;
  for (int population = 0; population < kResultPopulations; ++population) {
    MagnitudeSummary& s = summary[population];
    if (s.count == 0) continue;
    for (size_t q = 0; q < kPercentiles.size(); ++q, next += 2)
      s.percentiles[q] = numpy_lerp(order[next], order[next + 1], recipes[population][q].gamma);
    const double a = order[next], b = order[next + 1];
    next += 2;
    s.median = s.count % 2 == 1 ? a : (a + b) / 2.0;
  }
}

void fill_profile(MagnitudeSummary& s, const MagnitudeProfile& p) {
  s.count = p.count;
  s.nonfinite = p.nonfinite;
  s.zero_count = p.zero;
  if (p.count == 0) return;
  s.min = p.min;
  s.max = p.max;
  const auto used = [](int64_t c) { return c != 0; };
  const auto first = std::find_if(p.log2_bins.begin(), p.log2_bins.end(), used);
  if (first == p.log2_bins.end()) return;  // zeros only
  const auto last = std::find_if(p.log2_bins.rbegin(), p.log2_bins.rend(), used).base();
  s.log2_lo = static_cast<int>(first - p.log2_bins.begin()) + kHistogramLow;
  s.histogram.assign(first, last);
}

void fill_step_series(MagnitudeSummary& s, const StepSeries& series) {
  ExactSum total;
  s.per_step_mean.resize(series.steps.size());
  s.per_step_max.resize(series.steps.size());
  for (size_t t = 0; t < series.steps.size(); ++t) {
    const StepMagnitudes& step = series.steps[t];
    total.add(step.sum);
    if (step.count == 0) continue;
    s.per_step_mean[t] = step.sum.to_double() / static_cast<double>(step.count);
    s.per_step_max[t] = step.max;
  }
  if (s.count > 0) s.mean = total.to_double() / static_cast<double>(s.count);
}

}  // namespace

std::array<MagnitudeSummary, kResultPopulations> summarize_magnitudes(const MagnitudeStore& store,
                                                                      const std::vector<uint8_t>& dead,
                                                                      int64_t transitions, MPI_Comm comm) {
  if (!store.has_token_layout()) return summarize_magnitudes(store.with_token_layout(dead), dead, transitions, comm);
  if (store.dead().size() != dead.size() || store.transitions() != transitions)
    throw std::logic_error("summarize_magnitudes: the store holds another slab");
  const std::array<MagnitudeProfile, kResultPopulations> profiles = by_result_population(reduced_profiles(store, comm));
  std::array<MagnitudeSummary, kResultPopulations> summary;
  for (int population = 0; population < kResultPopulations; ++population)
    fill_profile(summary[population], profiles[population]);
  fill_order_statistics(summary, store, dead, comm);
  const std::array<StepSeries, kPassPopulations> series = step_series_on_root(store, comm);
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  if (rank != 0) return summary;
  const std::array<StepSeries, kResultPopulations> populations = by_result_population(series);
  for (int population = 0; population < kResultPopulations; ++population)
    fill_step_series(summary[population], populations[population]);
  return summary;
}

}  // namespace latdisp
