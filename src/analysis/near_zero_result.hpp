// The near-zero breakdown of x (docs/definitions.md §19), per population:
// a rank's own while the pass runs, reduced over the ranks on rank 0.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "analysis/population.hpp"
#include "kokkos_kernels/near_zero_tally.hpp"

namespace latdisp {

// The report keys (docs/report.md §17), one table for the JSON, the
// --series-csv columns and the text report: each ZeroKind, in ZeroKind order
// (its `kinds` entry and, from kSignChange on, its `per_step` series and
// column); each BinField, in BinField order (a `by_starting_binade` column).
inline constexpr const char* kZeroKindNames[kZeroKinds] = {"keeps_sign", "sign_change", "from_zero", "to_zero"};
inline constexpr const char* kBinFieldNames[kBinFields] = {"exact",     "almost",    "half",        "non_integer",
                                                           "nonfinite", "moved",     "sign_change", "from_zero",
                                                           "to_zero",   "above_1024"};

struct NearZeroPopulation {
  // bins[start bin][BinField]: counts by where the coordinate started.
  std::array<std::array<int64_t, kBinFields>, kStartBins> bins{};
  // The bits of the largest |x| (a non-negative double) of each start bin,
  // then of each ZeroKind; meaningful only where that count is not 0.
  std::array<uint64_t, kStartBins + kZeroKinds> maxima{};
  std::array<int64_t, kZeroKinds> kind_count{};
  std::array<int64_t, kZeroKinds> kind_above_1024{};
  // Exact sums of |x|: [0] coordinates that kept their sign, [1] those crossing zero.
  std::array<AbsSum, 2> sums;
  // Per transition, the coordinates of each ZeroKind.
  std::array<std::vector<int64_t>, kZeroKinds> series;

  NearZeroPopulation() : NearZeroPopulation(0) {}
  explicit NearZeroPopulation(int64_t transitions);
  void merge(const NearZeroPopulation& other);
};

// Coordinates with a finite x in start bin `bin`.
int64_t finite_in_bin(const NearZeroPopulation& p, int bin);

// The binade of the median |b| over the finite starting values (the lower
// median, zeros lowest); none when it is a zero or there is no finite value.
std::optional<int> typical_binade(const NearZeroPopulation& p);

// |x| over a set of coordinates: count, exact mean (the exact sum rounded
// once, divided by the count), max, and how many exceed 1024.
struct AbsXStats {
  int64_t count = 0;
  std::optional<double> mean, max;
  int64_t above_1024 = 0;
};
enum AbsXSet : int { kAllFinite = 0, kKeepingSign = 1, kCrossingZero = 2, kAbsXSets };
// Their keys in the report's `abs_x` (AbsXSet order).
inline constexpr const char* kAbsXSetNames[kAbsXSets] = {"all", "not_crossing_zero", "crossing_zero"};
AbsXStats abs_x_stats(const NearZeroPopulation& p, AbsXSet set);

// The largest |x| of start bin or kind slot `slot` (kStartBins + kind), if any.
std::optional<double> slot_max(const NearZeroPopulation& p, int slot, int64_t count);

// The correctly rounded (to nearest even) double of an exact sum.
double to_double(const AbsSum& sum);

// all, live, dead (MagnitudePopulation order); complete on rank 0.
using NearZeroResult = std::array<NearZeroPopulation, kResultPopulations>;

}  // namespace latdisp
