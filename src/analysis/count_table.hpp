// The counts of analyze (TallyCount, kokkos_kernels/displacement_tally.hpp), one row each:
// the report section and key that name it (docs/report.md §5, §7, §8), and whether it has a
// per-step series: its key in the section's `per_step` and its --series-csv column.
// report/report_json.cpp and report/series_csv.cpp name the counts from here, and the pass
// keeps, reduces and checkpoints the series of exactly the rows that have one (CountSeries);
// a new count is a new row (docs/architecture.md §5).
//
// Every count reduces by a sum (PopulationTally::merge over work items and blocks, one
// MPI_SUM over ranks in analysis/analyze.cpp) and the checkpoint archive stores all of them as
// one array, so neither needs a column.
#pragma once

#include <array>
#include <cstdint>
#include <iterator>
#include <stdexcept>
#include <vector>

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
  const char* series_key;  // the per-step series' key in `per_step` and in --series-csv; nullptr: no series
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

constexpr bool has_series(int count) { return kCountTable[count].series_key != nullptr; }

// The counts with a per-step series, in table order: a series' slot is its
// index here (its place in CountSeries, in the reductions and in the
// checkpoint's field names, `live.series.SLOT`).
constexpr int kSeriesFields = [] {
  int series = 0;
  for (const CountDescriptor& d : kCountTable) series += d.series_key != nullptr;
  return series;
}();
constexpr std::array<TallyCount, kSeriesFields> kSeriesCounts = [] {
  std::array<TallyCount, kSeriesFields> counts{};
  int slot = 0;
  for (const CountDescriptor& d : kCountTable)
    if (d.series_key) counts[static_cast<size_t>(slot++)] = d.count;
  return counts;
}();
// The slot of each count's series; -1: none.
constexpr std::array<int, kNumTallyCounts> kSeriesSlots = [] {
  std::array<int, kNumTallyCounts> slots{};
  int slot = 0;
  for (const CountDescriptor& d : kCountTable) slots[static_cast<size_t>(d.count)] = d.series_key ? slot++ : -1;
  return slots;
}();

// One population's per-step series (each of length S-1), one per count that
// has one, indexed by that count: series[kCountCrossed].
class CountSeries {
 public:
  std::vector<int64_t>& operator[](int count) { return m_series[slot_of(count)]; }
  const std::vector<int64_t>& operator[](int count) const { return m_series[slot_of(count)]; }
  // By slot (kSeriesCounts), for the checkpoint's field names.
  std::vector<int64_t>& slot(int s) { return m_series[static_cast<size_t>(s)]; }
  const std::vector<int64_t>& slot(int s) const { return m_series[static_cast<size_t>(s)]; }
  // Every series in slot order: the order the reductions carry them in.
  auto begin() { return m_series.begin(); }
  auto end() { return m_series.end(); }
  auto begin() const { return m_series.begin(); }
  auto end() const { return m_series.end(); }

  // Transition `step`'s counts of a tally, each into its series.
  void add_step(int64_t step, const PopulationTally& tally) {
    for (int s = 0; s < kSeriesFields; ++s)
      m_series[static_cast<size_t>(s)][static_cast<size_t>(step)] +=
          tally.counts[kSeriesCounts[static_cast<size_t>(s)]];
  }
  // Adds another population's series of the same length, step by step.
  void merge(const CountSeries& other) {
    for (int s = 0; s < kSeriesFields; ++s)
      for (size_t t = 0; t < m_series[static_cast<size_t>(s)].size(); ++t)
        m_series[static_cast<size_t>(s)][t] += other.m_series[static_cast<size_t>(s)][t];
  }

 private:
  static size_t slot_of(int count) {
    if (count < 0 || count >= kNumTallyCounts || kSeriesSlots[static_cast<size_t>(count)] < 0)
      throw std::logic_error("CountSeries: a count without a per-step series (kCountTable)");
    return static_cast<size_t>(kSeriesSlots[static_cast<size_t>(count)]);
  }
  std::array<std::vector<int64_t>, kSeriesFields> m_series;
};

namespace count_table_checks {

constexpr bool one_row_per_count_in_order() {
  for (int c = 0; c < kNumTallyCounts; ++c)
    if (kCountTable[c].count != c) return false;
  return true;
}

// A CSV column only for a series.
constexpr bool csv_columns_are_series() {
  for (const CountDescriptor& d : kCountTable)
    if (d.in_series_csv && !d.series_key) return false;
  return true;
}

}  // namespace count_table_checks

static_assert(std::size(kCountTable) == kNumTallyCounts, "one row per TallyCount");
static_assert(count_table_checks::one_row_per_count_in_order(), "rows in TallyCount order");
static_assert(count_table_checks::csv_columns_are_series(), "a --series-csv column only for a count with a series");

}  // namespace latdisp
