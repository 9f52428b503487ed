// Per-population tallies of the displacement analysis. Plain aggregates, so a
// kernel can fill them per work item and the host can merge them in any order
// with the same result (every field is a count, a min or a max).
#pragma once

#include <Kokkos_Core.hpp>

#include <cstdint>

namespace latdisp {

enum TallyCount : int {
  kCountExact = 0,
  kCountAlmost,
  kCountHalf,
  kCountNonInteger,
  kCountNonfinite,
  kCountMoved,    // finite x != 0
  kCountCrossed,  // exponent field changed
  // Rows (t, n), not coordinates, by the regime of m (kokkos_kernels/motion.hpp).
  // Which counts have per-step series: src/analysis/count_table.hpp says per count.
  kCountFrozenRows,      // m == 0
  kCountHopRows,         // 0 < m <= hop radius
  kCountThermalRows,     // m > hop radius
  kCountNonfiniteRows,   // m not finite
  kCountBeyondFloat32,   // |x| > 2^24
  kCountBeyondFloat64,   // |x| > 2^53
  kCountFloat32Inexact,  // x is not exactly a float32 value
  kCountDisagreements,   // the exact and the seed arithmetic differ, because of:
  kCountCauseUlpRule,    //   the seed ULP (zero, |b| >= 256, max finite) differs
  kCountCauseRounding,   //   bf16(a - b) is not a - b
  kCountCauseFloor,      //   same value, floor-based class (or float32 range)
  kNumTallyCounts
};

// Extremes of one population. Stored as doubles: min/max of x and of
// round_half_even(x) are reported as JSON doubles; the integer type is
// decided from `width` (an exact IntegerWidth), never from these doubles.
struct PopulationTally {
  int64_t counts[kNumTallyCounts];
  double min;
  double max;
  double max_abs;
  double int_min;
  double int_max;
  int32_t width;  // largest bf16::IntegerWidth seen, -1 if none

  KOKKOS_INLINE_FUNCTION void reset() {
    for (int i = 0; i < kNumTallyCounts; ++i) counts[i] = 0;
    min = int_min = 1.0 / 0.0;  // +Inf: no finite value seen
    max = int_max = -1.0 / 0.0;
    max_abs = -1.0 / 0.0;
    width = -1;
  }

  // Every classified coordinate: the five classes partition them.
  KOKKOS_INLINE_FUNCTION int64_t coordinates() const {
    return counts[kCountExact] + counts[kCountAlmost] + counts[kCountHalf] + counts[kCountNonInteger] +
           counts[kCountNonfinite];
  }

  KOKKOS_INLINE_FUNCTION void merge(const PopulationTally& other) {
    for (int i = 0; i < kNumTallyCounts; ++i) counts[i] += other.counts[i];
    min = other.min < min ? other.min : min;
    max = other.max > max ? other.max : max;
    max_abs = other.max_abs > max_abs ? other.max_abs : max_abs;
    int_min = other.int_min < int_min ? other.int_min : int_min;
    int_max = other.int_max > int_max ? other.int_max : int_max;
    width = other.width > width ? other.width : width;
  }
};

// Statistics of U over the values of W (all tokens).
// The seed arithmetic's ULP of 0 (|b| + 1 rounds back to |b|), as an exponent.
constexpr int32_t kZeroUlpExponent = -1000;

struct UlpTally {
  int64_t zeros;
  int64_t subnormals;
  int64_t nonfinite;
  int32_t min_exponent;  // log2 of the smallest finite ULP seen (kZeroUlpExponent: 0)
  int32_t max_exponent;

  KOKKOS_INLINE_FUNCTION void reset() {
    zeros = subnormals = nonfinite = 0;
    min_exponent = 1 << 30;
    max_exponent = -(1 << 30);
  }

  KOKKOS_INLINE_FUNCTION void merge(const UlpTally& other) {
    zeros += other.zeros;
    subnormals += other.subnormals;
    nonfinite += other.nonfinite;
    min_exponent = other.min_exponent < min_exponent ? other.min_exponent : min_exponent;
    max_exponent = other.max_exponent > max_exponent ? other.max_exponent : max_exponent;
  }
};

enum Population : int { kLive = 0, kDead = 1 };

// What one work item (one transition, a run of tokens) contributes.
struct ItemTally {
  PopulationTally population[2];  // indexed by Population
  UlpTally ulp;

  KOKKOS_INLINE_FUNCTION void reset() {
    population[kLive].reset();
    population[kDead].reset();
    ulp.reset();
  }
  KOKKOS_INLINE_FUNCTION void merge(const ItemTally& other) {
    population[kLive].merge(other.population[kLive]);
    population[kDead].merge(other.population[kDead]);
    ulp.merge(other.ulp);
  }
};

}  // namespace latdisp
