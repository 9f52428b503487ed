// Distributed exact order statistics against a sort of the gathered values.
#include <gtest/gtest.h>

#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "analysis/magnitude_statistics.hpp"
#include "parallel/partition.hpp"

namespace latdisp {

namespace {

// The global data: `rows` transitions x `tokens` tokens, some NaN (non-finite
// rows), many ties, zeros, and a wide range of magnitudes.
double global_value(int64_t t, int64_t n) {
  std::mt19937_64 random(static_cast<uint64_t>(t * 1000003 + n));
  const uint64_t r = random();
  switch (r % 7) {
    case 0:
      return 0.0;
    case 1:
      return std::nan("");
    case 2:
      return std::sqrt(static_cast<double>(r % 50));  // many ties
    case 3:
      return std::ldexp(1.0 + static_cast<double>(r % 1000) / 1000.0, static_cast<int>(r % 200) - 100);
    default:
      return std::uniform_real_distribution<double>(0.0, 10.0)(random);
  }
}

bool dead_token(int64_t n) { return n % 5 == 1; }

}  // namespace

TEST(OrderStatistics, MatchesSortingAtEveryRankCount) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  const int64_t transitions = 40, tokens = 301;
  const TokenRange slab = token_range(tokens, rank, ranks);
  for (bool in_memory : {true, false}) {
    MagnitudeStore store(transitions * slab.count, in_memory, "/tmp");
    std::vector<uint8_t> dead(static_cast<size_t>(slab.count));
    for (int64_t n = 0; n < slab.count; ++n) dead[n] = dead_token(slab.begin + n);
    for (int64_t t = 0; t < transitions; ++t)
      for (int64_t n = 0; n < slab.count; ++n) {
        const double v = global_value(t, slab.begin + n);
        store.append(&v, 1);
      }
    for (int population = 0; population < 3; ++population) {
      std::vector<double> sorted;
      for (int64_t t = 0; t < transitions; ++t)
        for (int64_t n = 0; n < tokens; ++n) {
          const double v = global_value(t, n);
          const bool member = population == kAllTokens || (population == kDeadTokens) == dead_token(n);
          if (member && !std::isnan(v)) sorted.push_back(v);
        }
      std::sort(sorted.begin(), sorted.end());
      const int64_t count = static_cast<int64_t>(sorted.size());
      const std::vector<int64_t> ranks_wanted = {0, 1, count / 3, count / 2, count - 2, count - 1};
      std::vector<OrderStatistic> wanted;
      for (int64_t r : ranks_wanted) wanted.push_back({static_cast<MagnitudePopulation>(population), r});
      const std::vector<double> got = select_order_statistics(store, dead, wanted, MPI_COMM_WORLD);
      for (size_t i = 0; i < ranks_wanted.size(); ++i)
        EXPECT_EQ(got[i], sorted[static_cast<size_t>(ranks_wanted[i])]) << "population " << population;
    }
  }
}

TEST(OrderStatistics, NumpyPercentileRecipe) {
  // float(np.percentile(np.arange(10.), q)) from numpy 1.24, and n = 1.
  const std::vector<double> values = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  const auto percentile = [&](double q) {
    const PercentileRecipe r = numpy_percentile_recipe(10, q);
    return numpy_lerp(values[static_cast<size_t>(r.lower)], values[static_cast<size_t>(r.upper)], r.gamma);
  };
  EXPECT_EQ(percentile(50), 4.5);
  EXPECT_EQ(percentile(90), 8.1);
  EXPECT_EQ(percentile(99.9), 8.991000000000001);  // float(np.percentile(np.arange(10.), 99.9))
  EXPECT_EQ(percentile(100), 9.0);
  const PercentileRecipe single = numpy_percentile_recipe(1, 99.9);
  EXPECT_EQ(single.lower, 0);
  EXPECT_EQ(single.upper, 0);
  // numpy's two-sided lerp: b - (b - a) * (1 - t) for t >= 0.5.
  EXPECT_EQ(numpy_lerp(1.0, 1e16, 0.75), 1e16 - (1e16 - 1.0) * 0.25);
  EXPECT_EQ(numpy_lerp(1.0, 1e16, 0.25), 1.0 + (1e16 - 1.0) * 0.25);
}

}  // namespace latdisp
