// The result model of analyze: which counts have per-step series and where
// they are kept (count table, checkpoint slots of docs/formats.md §13), the
// one translation from the pass's populations (live, dead) to the result's
// (all, live, dead), and the parts an AnalysisResult is made of.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "analysis/analysis_result.hpp"
#include "analysis/count_table.hpp"
#include "analysis/population.hpp"

namespace latdisp {
namespace {

// The per-step series of docs/report.md (§5, §7, §8), in the order of the
// checkpoint's fields NAME.series.0 .. NAME.series.10 (docs/formats.md §13).
const std::vector<std::string> kSeriesInCheckpointOrder = {"exact",     "almost",       "half",          "non_integer",
                                                           "nonfinite", "moved",        "crossed",       "frozen_rows",
                                                           "hop_rows",  "thermal_rows", "nonfinite_rows"};

TEST(CountTable, SeriesAreTheReportsInCheckpointOrder) {
  std::vector<std::string> keys;
  for (const TallyCount count : kSeriesCounts) keys.push_back(kCountTable[count].key);
  EXPECT_EQ(keys, kSeriesInCheckpointOrder);
  for (int c = 0; c < kNumTallyCounts; ++c) {
    const bool listed = std::find(keys.begin(), keys.end(), kCountTable[c].key) != keys.end();
    EXPECT_EQ(has_series(c), listed) << kCountTable[c].key;
    EXPECT_EQ(kSeriesSlots[static_cast<size_t>(c)] >= 0, listed) << kCountTable[c].key;
  }
}

TEST(CountSeries, IndexedByCountStoredBySlot) {
  CountSeries series;
  for (int s = 0; s < kSeriesFields; ++s) series.slot(s).assign(3, s);
  EXPECT_EQ(series[kCountExact], (std::vector<int64_t>{0, 0, 0}));
  EXPECT_EQ(series[kCountCrossed], (std::vector<int64_t>{6, 6, 6}));
  EXPECT_EQ(series[kCountNonfiniteRows], (std::vector<int64_t>{10, 10, 10}));
  EXPECT_THROW(series[kCountBeyondFloat32], std::logic_error);
  EXPECT_THROW(series[kCountCauseFloor], std::logic_error);
}

TEST(CountSeries, AddsAStepsCountsAndMerges) {
  CountSeries series;
  for (auto& s : series) s.assign(3, 0);
  PopulationTally tally;
  tally.reset();
  for (int c = 0; c < kNumTallyCounts; ++c) tally.counts[c] = 100 + c;
  series.add_step(1, tally);
  series.add_step(1, tally);
  for (const TallyCount count : kSeriesCounts)
    EXPECT_EQ(series[count], (std::vector<int64_t>{0, 2 * (100 + count), 0})) << kCountTable[count].key;
  CountSeries other = series;
  other[kCountHopRows][2] = 5;
  series.merge(other);
  EXPECT_EQ(series[kCountHopRows], (std::vector<int64_t>{0, 4 * (100 + kCountHopRows), 5}));
}

// A part of a population's numbers, merged by adding.
struct Part {
  std::vector<int> values;
  void merge(const Part& other) { values.insert(values.end(), other.values.begin(), other.values.end()); }
};

TEST(Population, PassToResult) {
  EXPECT_EQ(result_population(kLive), kLiveTokens);
  EXPECT_EQ(result_population(kDead), kDeadTokens);
  EXPECT_EQ(pass_population(false), kLive);
  EXPECT_EQ(pass_population(true), kDead);
  const std::array<Part, kResultPopulations> result =
      by_result_population(std::array<Part, kPassPopulations>{Part{{1}}, Part{{2}}});  // live, dead
  EXPECT_EQ(result[kAllTokens].values, (std::vector<int>{1, 2}));
  EXPECT_EQ(result[kLiveTokens].values, (std::vector<int>{1}));
  EXPECT_EQ(result[kDeadTokens].values, (std::vector<int>{2}));
  EXPECT_STREQ(population_name(kAllTokens), "all");
  EXPECT_STREQ(population_name(kLiveTokens), "live");
  EXPECT_STREQ(population_name(kDeadTokens), "dead");
  EXPECT_STREQ(population_name(kLive), "live");
  EXPECT_STREQ(population_name(kDead), "dead");
}

TEST(AnalysisResult, MadeOfItsParts) {
  static_assert(std::is_base_of<AnalysisSetup, AnalysisResult>::value, "every rank, from the plan");
  static_assert(std::is_base_of<ReducedNumbers, AnalysisResult>::value, "rank 0");
  static_assert(std::is_base_of<RunRecord, AnalysisResult>::value, "rank 0");
  static_assert(std::is_base_of<AgreedNumbers, AnalysisResult>::value, "every rank, after the reductions");
  static_assert(std::is_base_of<RankNumbers, AnalysisResult>::value, "each rank's own");
  AnalysisResult result;
  result.shape = TrajectoryShape{5, 3, 2};
  EXPECT_EQ(result.transitions(), 4);
  EXPECT_EQ(result.coordinates(), 4 * 3 * 2);
  EXPECT_EQ(result.integer_width, -1);
}

}  // namespace
}  // namespace latdisp
