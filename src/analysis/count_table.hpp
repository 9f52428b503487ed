// The counts of analyze (TallyCount, kokkos_kernels/displacement_tally.hpp), one row each:
// the report section and key that name it (docs/report.md §5, §7, §8), and its per-step
// series, if it has one: its key in the section's `per_step` and its --series-csv column.
// report/report_json.cpp and report/series_csv.cpp name the counts from here; a new count
// is a new row (docs/architecture.md §5).
//
// Every count reduces by a sum (PopulationTally::merge over work items and blocks, one
// MPI_SUM over ranks in analysis/analyze.cpp) and the checkpoint archive stores all of them as
// one array, so neither needs a column. The series are the counts up to kCountNonfiniteRows
// (kSeriesFields), which the static_asserts below hold the table to.
#pragma once

#include <iterator>

#include "analysis/analysis_result.hpp"
#include "kokkos_kernels/displacement_tally.hpp"

namespace latdisp {

// The JSON object a count is a key of; for all tokens and again in `live` and `dead`.
enum class CountSection {
  displacement,         // "displacement"
  disagreement_causes,  // "displacement"."arithmetic_disagreement_causes"
  crossings,            // "crossings": its one series is `per_step` itself (docs/report.md §7)
  motion,               // "motion"
};

struct CountDescriptor {
  TallyCount count;
  CountSection section;
  const char* key;         // the total's key in its section
  const char* series_key;  // the per-step series' key in `per_step` and in --series-csv; nullptr: none
  bool in_series_csv;      // a column POPULATION.series_key of --series-csv
};

// In TallyCount order.
inline constexpr CountDescriptor kCountTable[] = {
    {kCountExact, CountSection::displacement, "exact", "exact", true},
    {kCountAlmost, CountSection::displacement, "almost", "almost", true},
    {kCountHalf, CountSection::displacement, "half", "half", true},
    {kCountNonInteger, CountSection::displacement, "non_integer", "non_integer", true},
    {kCountNonfinite, CountSection::displacement, "nonfinite", "nonfinite", true},
    {kCountMoved, CountSection::displacement, "moved", "moved", true},
    {kCountCrossed, CountSection::crossings, "crossed", "crossed", true},
    {kCountFrozenRows, CountSection::motion, "frozen_rows", "frozen", true},
    {kCountHopRows, CountSection::motion, "hop_rows", "hop", true},
    {kCountThermalRows, CountSection::motion, "thermal_rows", "thermal", true},
    {kCountNonfiniteRows, CountSection::motion, "nonfinite_rows", "nonfinite", false},
    {kCountBeyondFloat32, CountSection::displacement, "beyond_float32_exact", nullptr, false},
    {kCountBeyondFloat64, CountSection::displacement, "beyond_float64_exact", nullptr, false},
    {kCountFloat32Inexact, CountSection::displacement, "float32_inexact", nullptr, false},
    {kCountDisagreements, CountSection::displacement, "arithmetic_disagreements", nullptr, false},
    {kCountCauseUlpRule, CountSection::disagreement_causes, "ulp_rule", nullptr, false},
    {kCountCauseRounding, CountSection::disagreement_causes, "bfloat16_rounding", nullptr, false},
    {kCountCauseFloor, CountSection::disagreement_causes, "floor_classification", nullptr, false},
};

namespace count_table_checks {

constexpr bool one_row_per_count_in_order() {
  for (int c = 0; c < kNumTallyCounts; ++c)
    if (kCountTable[c].count != c) return false;
  return true;
}

// A series exactly for the counts the analysis keeps series of, and a CSV column only for a series.
constexpr bool series_as_kept() {
  for (int c = 0; c < kNumTallyCounts; ++c) {
    const bool series = kCountTable[c].series_key != nullptr;
    if (series != (c < kSeriesFields) || (kCountTable[c].in_series_csv && !series)) return false;
  }
  return true;
}

}  // namespace count_table_checks

static_assert(std::size(kCountTable) == kNumTallyCounts, "one row per TallyCount");
static_assert(count_table_checks::one_row_per_count_in_order(), "rows in TallyCount order");
static_assert(count_table_checks::series_as_kept(), "series keys for the counts up to kCountNonfiniteRows");

}  // namespace latdisp
