// Statistics of the row magnitudes m = sqrt(sum_d x^2): counts, extremes,
// exact means, numpy-exact percentiles, per-step series and a log2 histogram,
// for all tokens and for live / dead tokens, reduced over the ranks.
#pragma once

#include <mpi.h>

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "analysis/magnitude_store.hpp"

namespace latdisp {

enum MagnitudePopulation : int { kAllTokens = 0, kLiveTokens = 1, kDeadTokens = 2 };

// The percentiles reported, in the order of SPEC section 6.
constexpr std::array<double, 5> kPercentiles = {50.0, 90.0, 95.0, 99.0, 99.9};

struct MagnitudeSummary {
  int64_t count = 0;      // finite magnitudes
  int64_t nonfinite = 0;  // rows with a non-finite x
  std::optional<double> min, max, mean, median;
  std::array<std::optional<double>, kPercentiles.size()> percentiles;
  // log2 histogram: zero_count rows with m == 0; counts[i] rows with
  // 2^(log2_lo + i) <= m < 2^(log2_lo + i + 1).
  int64_t zero_count = 0;
  int log2_lo = 0;
  std::vector<int64_t> histogram;
  std::vector<std::optional<double>> per_step_mean, per_step_max;
};

// Collective. `dead` flags the slab's tokens; the store holds
// transitions x slab_tokens magnitudes (NaN for non-finite rows). The result
// is complete on rank 0 only.
std::array<MagnitudeSummary, 3> summarize_magnitudes(const MagnitudeStore& store, const std::vector<uint8_t>& dead,
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

// Collective: radix select on the bits of the (non-negative) doubles, four
// passes of 16 bits with all-reduced histograms; nothing is gathered. Every
// rank gets the values.
std::vector<double> select_order_statistics(const MagnitudeStore& store, const std::vector<uint8_t>& dead,
                                            const std::vector<OrderStatistic>& wanted, MPI_Comm comm);

}  // namespace latdisp
