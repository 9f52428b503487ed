// Statistics of the row magnitudes m = sqrt(sum_d x^2): counts, extremes,
// exact means, numpy-exact percentiles, per-step series and a log2 histogram,
// for all tokens and for live / dead tokens, reduced over the ranks
// (docs/definitions.md §10, docs/architecture.md §7).
#pragma once

#include <mpi.h>

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "analysis/magnitude_store.hpp"
#include "analysis/population.hpp"

namespace latdisp {

// The percentiles reported, in the order of the JSON report (docs/report.md).
constexpr std::array<double, 5> kPercentiles = {50.0, 90.0, 95.0, 99.0, 99.9};
// Their keys in the report's `percentiles` (the text report's pKEY).
constexpr std::array<const char*, kPercentiles.size()> kPercentileKeys = {"50", "90", "95", "99", "99.9"};

struct MagnitudeSummary {
  int64_t count = 0;      // finite magnitudes
  int64_t nonfinite = 0;  // rows with a non-finite x (or an overflowing norm)
  std::optional<double> min, max, mean, median;
  std::array<std::optional<double>, kPercentiles.size()> percentiles;
  // log2 histogram: zero_count rows with m == 0; counts[i] rows with
  // 2^(log2_lo + i) <= m < 2^(log2_lo + i + 1).
  int64_t zero_count = 0;
  int log2_lo = 0;
  std::vector<int64_t> histogram;
  std::vector<std::optional<double>> per_step_mean, per_step_max;
};

// The per-step series of a MagnitudeSummary by their report key: in the
// JSON's `per_step` (docs/report.md §6) and as --series-csv columns.
struct MagnitudeSeriesKey {
  const char* key;
  std::vector<std::optional<double>> MagnitudeSummary::*series;
};
inline constexpr MagnitudeSeriesKey kMagnitudeSeries[] = {{"mean", &MagnitudeSummary::per_step_mean},
                                                          {"max", &MagnitudeSummary::per_step_max}};

// Collective. `dead` flags the slab's tokens; the store holds its
// transitions x slab_tokens rows (a store without a token layout gets this
// one). The result (MagnitudePopulation order) is complete on rank 0 only.
std::array<MagnitudeSummary, kResultPopulations> summarize_magnitudes(const MagnitudeStore& store,
                                                                      const std::vector<uint8_t>& dead,
                                                                      int64_t transitions, MPI_Comm comm);

// numpy's linear percentile of a sorted sequence, from its order statistics:
// the 0-based ranks it needs and the interpolation between them.
struct PercentileRecipe {
  int64_t lower;
  int64_t upper;
  double gamma;
};
PercentileRecipe numpy_percentile_recipe(int64_t count, double percentile);
double numpy_lerp(double a, double b, double gamma);

// One order statistic: the value of 0-based `rank` in the sorted finite
// magnitudes of `population` over all MPI ranks.
struct OrderStatistic {
  MagnitudePopulation population;
  int64_t rank;
};

// Collective: a radix select on the bits of the (non-negative) doubles, one
// 16-bit digit and six 8-bit digits, over the store's distinct values
// (weighted by their counts) and its general values, with all-reduced digit
// histograms; nothing is gathered. Every rank gets the values; each wanted
// rank must be below its population's count.
std::vector<double> select_order_statistics(const MagnitudeStore& store, const std::vector<uint8_t>& dead,
                                            const std::vector<OrderStatistic>& wanted, MPI_Comm comm);

}  // namespace latdisp
