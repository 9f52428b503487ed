// The optimizer audit's exact |c| percentiles (optimizer/cell_percentiles)
// against a sort of every rank's keys: through the in-memory candidates and
// through one pass per digit, the keys made anew by each pass.
#include <gtest/gtest.h>

#include <mpi.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <utility>
#include <vector>

#include "analysis/magnitude_keys.hpp"
#include "analysis/magnitude_statistics.hpp"
#include "optimizer/cell_percentiles.hpp"
#include "optimizer/key_selection.hpp"
#include "parallel/partition.hpp"

namespace latdisp {

namespace {

constexpr int64_t kKeys = 30011;

// Key i of the global list: most share a top-16-bit bin (values in [1, 1 +
// 2^-5) differ in lower digits only), with ties, zeros and a wide range.
uint64_t global_key(int64_t i) {
  std::mt19937_64 random(static_cast<uint64_t>(i * 7919 + 13));
  const uint64_t r = random();
  double value;
  switch (r % 6) {
    case 0:
      value = 0.0;
      break;
    case 1:
      value = std::sqrt(static_cast<double>(r % 40));  // ties
      break;
    case 2:
      value = std::ldexp(1.0 + static_cast<double>(r % 1000) / 1000.0, static_cast<int>(r % 120) - 60);
      break;
    default:
      value = 1.0 + std::ldexp(static_cast<double>(r >> 16 & 0xFFFFFF), -29);  // one top-16-bit bin
  }
  return magnitude_key(value, i % 7 == 3);
}

struct Passes {
  std::vector<uint64_t> keys;  // this rank's
  int made = 0;
  // Visits the keys of the marked top digits only, in chunks of up to 1000,
  // as a pass over step blocks would.
  void operator()(const std::vector<uint8_t>& top_digits, const KeyVisit& visit) {
    ++made;
    std::vector<uint64_t> chunk;
    for (const uint64_t key : keys) {
      if (top_digits.at(size_t(key_value_bits(key) >> 48))) chunk.push_back(key);
      if (chunk.size() == 1000) visit(chunk.data(), int64_t(chunk.size())), chunk.clear();
    }
    if (!chunk.empty()) visit(chunk.data(), int64_t(chunk.size()));
  }
};

}  // namespace

TEST(CellPercentiles, MatchSortingThroughCandidatesAndDigitPasses) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  const TokenRange mine = token_range(kKeys, rank, ranks);
  Passes passes;
  TopDigitCounts top;
  for (int64_t i = mine.begin; i < mine.begin + mine.count; ++i) {
    passes.keys.push_back(global_key(i));
    top.count(passes.keys.back());
  }
  std::array<std::vector<double>, 3> sorted;  // all, live, dead
  for (int64_t i = 0; i < kKeys; ++i) {
    const uint64_t key = global_key(i);
    sorted[0].push_back(key_value(key));
    sorted[key_is_dead(key) ? 2 : 1].push_back(key_value(key));
  }
  // Memory for every candidate: one pass; for none: one pass per further digit.
  for (const auto& [memory_keys, expected_passes] : {std::pair<int64_t, int>{int64_t(1) << 40, 1}, {0, 3}}) {
    passes.made = 0;
    const auto result = cell_percentiles(std::ref(passes), top, memory_keys, MPI_COMM_WORLD);
    EXPECT_EQ(passes.made, expected_passes);
    for (int p = 0; p < 3; ++p) {
      std::sort(sorted[p].begin(), sorted[p].end());
      for (int q = 0; q < 4; ++q) {
        const PercentileRecipe r = numpy_percentile_recipe(int64_t(sorted[p].size()), kCellPercentiles[q]);
        const double expected = numpy_lerp(sorted[p][size_t(r.lower)], sorted[p][size_t(r.upper)], r.gamma);
        ASSERT_TRUE(result[p][q].has_value());
        EXPECT_EQ(*result[p][q], expected) << "population " << p << " percentile " << kCellPercentiles[q];
      }
    }
  }
}

TEST(CellPercentiles, NoKeyOnAnyRankMakesNoPass) {
  Passes passes;
  const auto result = cell_percentiles(std::ref(passes), TopDigitCounts{}, 0, MPI_COMM_WORLD);
  EXPECT_EQ(passes.made, 0);
  for (const auto& population : result)
    for (const auto& percentile : population) EXPECT_FALSE(percentile.has_value());
}

// WantedDigits picks exactly the keys of the wanted top digits, in order,
// against a plain loop over the cells: a few wanted digits (the vector
// path where the host has one) and many (the table), rows of 8k and 8k + 1
// .. 7 cells, live and dead, cells of no key (-1), +0 and far apart.
TEST(CellPercentiles, WantedDigitsPickTheirKeys) {
  std::mt19937_64 random(11);
  std::vector<double> cells(4096);
  for (double& c : cells) {
    const uint64_t r = random();
    c = r % 5 == 0 ? -1.0 : r % 11 == 0 ? 0.0 : std::ldexp(1.0 + double(r % 1000) / 1000, int(r >> 40) % 9 - 4);
  }
  for (const int wanted_count : {1, 5, 16, 17, 300}) {
    std::vector<uint8_t> flags(size_t(1) << 16, 0);
    for (int j = 0; j < wanted_count; ++j) {
      uint64_t bits;
      const double c = cells[size_t(random() % cells.size())];
      std::memcpy(&bits, &c, sizeof bits);
      flags[size_t(j < 2 ? (j == 0 ? 0 : 0xBFF0) : bits >> 48)] = 1;  // +0's digit, -1's digit, and the cells'
    }
    const WantedDigits wanted(flags);
    for (const int64_t count : {int64_t(4096), int64_t(64), int64_t(61), int64_t(8), int64_t(7), int64_t(1)})
      for (const bool dead : {false, true}) {
        std::vector<uint64_t> expected, keys(size_t(count) + 8);
        for (int64_t k = 0; k < count; ++k) {
          uint64_t bits;
          std::memcpy(&bits, &cells[size_t(k)], sizeof bits);
          if (flags[size_t(bits >> 48)] && cells[size_t(k)] >= 0) expected.push_back(magnitude_key(cells[size_t(k)], dead));
        }
        keys.resize(size_t(wanted.select(cells.data(), count, dead, keys.data())));
        ASSERT_EQ(keys, expected) << wanted_count << " digits, " << count << " cells, dead " << dead;
      }
  }
}

TEST(CellPercentiles, TopDigitCountsRoundTrip) {
  TopDigitCounts top;
  for (int64_t i = 0; i < 500; ++i) top.count(global_key(i));
  TopDigitCounts restored;
  ASSERT_TRUE(restored.restore(top.counted_bins()));
  EXPECT_EQ(restored.counts(), top.counts());
  EXPECT_FALSE(restored.restore({1}));                // not pairs
  EXPECT_FALSE(restored.restore({int64_t(2) << 16, 1}));  // no such bin
  EXPECT_FALSE(restored.restore({5, 0}));             // a bin counted with nothing
  EXPECT_FALSE(restored.restore({5, 1, 5, 2}));       // a bin twice
  EXPECT_EQ(restored.counts(), top.counts());         // unchanged by a refused list
}

}  // namespace latdisp
