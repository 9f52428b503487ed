// The magnitude statistics (counting store + distributed selection) against
// an oracle that sorts every finite magnitude of the whole data set and
// applies numpy's percentile definition, for mixtures of integer-sqrt,
// half-integer, large, general and non-finite values, at every rank count,
// for every way of holding the general values.
#include <gtest/gtest.h>

#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "analysis/magnitude_statistics.hpp"
#include "parallel/partition.hpp"

namespace latdisp {

namespace {

// Which kinds of value a data set mixes.
enum class Mix { kEverything, kIntegersOnly, kGeneralOnly, kNonfiniteOnly, kManyDistinct, kSeedRoots, kManySeedRoots };

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

struct DataSet {
  Mix mix;
  int64_t transitions, tokens;
  int dead_every;  // token n is dead when n % dead_every == 1; 0: no dead token
};

bool is_dead(const DataSet& d, int64_t n) { return d.dead_every > 0 && n % d.dead_every == 1; }

uint64_t mix_bits(uint64_t z) {  // splitmix64's finalizer
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The magnitude of row (t, n), a pure function of the data set.
double row_value(const DataSet& d, int64_t t, int64_t n) {
  const uint64_t r =
      mix_bits(mix_bits(static_cast<uint64_t>(t) * 1000003u + static_cast<uint64_t>(n)) + static_cast<uint64_t>(d.mix));
  const uint64_t r2 = mix_bits(r);
  const auto uniform = [&](double lo, double hi) { return lo + (hi - lo) * static_cast<double>(r2 >> 11) * 0x1p-53; };
  switch (d.mix) {
    case Mix::kIntegersOnly:
      return r % 9 == 0 ? 0.0 : std::sqrt(static_cast<double>(r % 300));
    case Mix::kGeneralOnly:
      return std::ldexp(uniform(1.0, 2.0), static_cast<int>(r % 60) - 30);
    case Mix::kNonfiniteOnly:
      return r % 2 ? kNaN : kInf;
    case Mix::kManyDistinct:  // more distinct values than the counting tables take
      return r % 4 == 0 ? std::sqrt(static_cast<double>(r % 50)) : uniform(0.0, 1000.0);
    case Mix::kSeedRoots:  // the seed arithmetic's float32 roots of integer sums, small and large
      return static_cast<double>(std::sqrt(static_cast<float>(r % 8 == 0 ? (r >> 8) % 1000000 : (r >> 8) % 20000)));
    case Mix::kManySeedRoots:  // float32 roots, counted per step, after the hash table has filled
      return r % 4 == 0 ? static_cast<double>(std::sqrt(static_cast<float>((r >> 8) % 16384))) : uniform(0.0, 1000.0);
    case Mix::kEverything:
      break;
  }
  switch (r % 12) {
    case 0:
      return kNaN;
    case 1:
      return kInf;
    case 2:
      return (r >> 8) % 2 ? 0.0 : -0.0;
    case 3:
    case 4:
    case 5:  // integer sum of squares, many ties
      return std::sqrt(static_cast<double>((r >> 8) % 2000));
    case 6:  // half-integer coordinates: sqrt(q / 4)
      return std::sqrt(static_cast<double>((r >> 8) % 5000)) / 2;
    case 7:  // integer sums of squares beyond any dense range
      return std::sqrt(static_cast<double>((r >> 8) % (uint64_t(1) << 45)));
    case 8:  // float32-rounded roots, as the seed arithmetic gives
      return static_cast<double>(std::sqrt(static_cast<float>((r >> 8) % 3000)));
    case 9:  // dyadic fractions from finer binades, and tiny values
      return std::ldexp(std::sqrt(static_cast<double>((r >> 8) % 100)), -static_cast<int>((r >> 16) % 40));
    case 10:  // huge
      return std::ldexp(uniform(1.0, 2.0), 200 + static_cast<int>((r >> 8) % 50));
    default:  // general doubles with a few repeats
      return (r >> 8) % 5 == 0 ? 0.1 * static_cast<double>((r >> 12) % 7) : uniform(0.0, 50.0);
  }
}

// numpy.percentile(a, q) (method 'linear') of sorted a, written from numpy's
// definition: virtual index (n - 1) * q / 100 and numpy's two-sided lerp.
double numpy_percentile(const std::vector<double>& a, double q) {
  const double index = static_cast<double>(a.size() - 1) * (q / 100.0);
  const double below = std::floor(index);
  const size_t i = static_cast<size_t>(below);
  const double t = index - below;
  const double lo = a[i], hi = a[std::min(i + 1, a.size() - 1)];
  const double d = hi - lo;
  return t >= 0.5 ? hi - d * (1.0 - t) : lo + d * t;
}

double numpy_median(const std::vector<double>& a) {
  const size_t n = a.size();
  return n % 2 == 1 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2.0;
}

struct Expected {
  std::vector<double> sorted;  // finite magnitudes (-0 as +0)
  int64_t nonfinite = 0;
  std::map<int, int64_t> log2_counts;  // floor(log2 m) -> rows
  std::vector<double> step_max;        // -inf: no finite row
  std::vector<long double> step_sum;
  std::vector<int64_t> step_count;
};

Expected expected_of(const DataSet& d, int population) {
  Expected e;
  e.step_max.assign(static_cast<size_t>(d.transitions), -kInf);
  e.step_sum.assign(static_cast<size_t>(d.transitions), 0.0L);
  e.step_count.assign(static_cast<size_t>(d.transitions), 0);
  for (int64_t t = 0; t < d.transitions; ++t)
    for (int64_t n = 0; n < d.tokens; ++n) {
      if (population != kAllTokens && (population == kDeadTokens) != is_dead(d, n)) continue;
      double m = row_value(d, t, n);
      if (!std::isfinite(m)) {
        ++e.nonfinite;
        continue;
      }
      if (m == 0.0) m = 0.0;
      e.sorted.push_back(m);
      if (m > 0) ++e.log2_counts[std::ilogb(m)];
      const size_t s = static_cast<size_t>(t);
      e.step_max[s] = std::max(e.step_max[s], m);
      e.step_sum[s] += m;
      ++e.step_count[s];
    }
  std::sort(e.sorted.begin(), e.sorted.end());
  return e;
}

void expect_matches(const MagnitudeSummary& got, const Expected& e, const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_EQ(got.count, static_cast<int64_t>(e.sorted.size()));
  EXPECT_EQ(got.nonfinite, e.nonfinite);
  if (e.sorted.empty()) {
    EXPECT_FALSE(got.min || got.max || got.mean || got.median);
    for (const auto& p : got.percentiles) EXPECT_FALSE(p.has_value());
    EXPECT_TRUE(got.histogram.empty());
  } else {
    EXPECT_EQ(*got.min, e.sorted.front());
    EXPECT_EQ(*got.max, e.sorted.back());
    EXPECT_EQ(*got.median, numpy_median(e.sorted));
    for (size_t q = 0; q < kPercentiles.size(); ++q)
      EXPECT_EQ(*got.percentiles[q], numpy_percentile(e.sorted, kPercentiles[q])) << kPercentiles[q];
    long double total = 0;
    for (double m : e.sorted) total += m;
    const double mean = static_cast<double>(total / static_cast<long double>(e.sorted.size()));
    EXPECT_NEAR(*got.mean, mean, 1e-14 * std::fabs(mean));
  }
  EXPECT_EQ(got.zero_count, std::count(e.sorted.begin(), e.sorted.end(), 0.0));
  std::map<int, int64_t> histogram;
  for (size_t i = 0; i < got.histogram.size(); ++i)
    if (got.histogram[i] != 0) histogram[got.log2_lo + static_cast<int>(i)] = got.histogram[i];
  EXPECT_EQ(histogram, e.log2_counts);
  if (!e.log2_counts.empty()) {
    EXPECT_EQ(got.log2_lo, e.log2_counts.begin()->first);
  }
  ASSERT_EQ(got.per_step_max.size(), e.step_max.size());
  for (size_t t = 0; t < e.step_max.size(); ++t) {
    if (e.step_count[t] == 0) {
      EXPECT_FALSE(got.per_step_max[t] || got.per_step_mean[t]) << "step " << t;
      continue;
    }
    EXPECT_EQ(*got.per_step_max[t], e.step_max[t]) << "step " << t;
    const double mean = static_cast<double>(e.step_sum[t] / static_cast<long double>(e.step_count[t]));
    EXPECT_NEAR(*got.per_step_mean[t], mean, 1e-14 * std::fabs(mean)) << "step " << t;
  }
}

// This rank's part: the tokens of `slab`, every transition, in row order.
std::vector<double> slab_rows(const DataSet& d, const TokenRange& slab) {
  std::vector<double> rows;
  for (int64_t t = 0; t < d.transitions; ++t)
    for (int64_t n = slab.begin; n < slab.begin + slab.count; ++n) rows.push_back(row_value(d, t, n));
  return rows;
}

std::vector<uint8_t> slab_dead(const DataSet& d, const TokenRange& slab) {
  std::vector<uint8_t> dead;
  for (int64_t n = slab.begin; n < slab.begin + slab.count; ++n) dead.push_back(is_dead(d, n) ? 1 : 0);
  return dead;
}

// The ways a store can hold its general values.
enum class Holding { kInMemory, kSpilledEarly, kAllSpilled, kDeferred };

MagnitudeStore store_of(const DataSet& d, const TokenRange& slab, Holding holding) {
  const std::vector<double> rows = slab_rows(d, slab);
  const int64_t n = static_cast<int64_t>(rows.size());
  if (holding == Holding::kDeferred) {
    MagnitudeStore store(n, true, "/tmp");
    for (int64_t i = 0; i < n; i += 777) store.append(rows.data() + i, std::min<int64_t>(777, n - i));
    return store;
  }
  GeneralValueSpace space{n, false, "/tmp"};
  if (holding == Holding::kSpilledEarly) space = {50, true, "/tmp"};
  if (holding == Holding::kAllSpilled) space = {0, true, "/tmp"};
  MagnitudeStore store(slab_dead(d, slab), d.transitions, space);
  // Uneven appends: blocks that end inside a step, and single rows.
  int64_t i = 0;
  for (int64_t size = 1; i < n; size = size * 3 + 1) {
    store.append(rows.data() + i, std::min(size, n - i));
    i += size;
  }
  return store;
}

// Every order statistic of every population (a stride of them for large
// sets) against the sorted values.
void expect_order_statistics(const MagnitudeStore& store, const std::vector<uint8_t>& dead,
                             const std::array<Expected, 3>& expected, const std::string& what) {
  std::vector<OrderStatistic> wanted;
  for (int p = 0; p < 3; ++p) {
    const int64_t count = static_cast<int64_t>(expected[p].sorted.size());
    const int64_t stride = std::max<int64_t>(1, count / 150);
    for (int64_t r = 0; r < count; r += stride) wanted.push_back({static_cast<MagnitudePopulation>(p), r});
    if (count > 0) wanted.push_back({static_cast<MagnitudePopulation>(p), count - 1});
  }
  const std::vector<double> got = select_order_statistics(store, dead, wanted, MPI_COMM_WORLD);
  for (size_t w = 0; w < wanted.size(); ++w)
    ASSERT_EQ(got[w], expected[wanted[w].population].sorted[static_cast<size_t>(wanted[w].rank)])
        << what << ", population " << wanted[w].population << ", rank " << wanted[w].rank;
}

void check_data_set(const DataSet& d) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  const TokenRange slab = token_range(d.tokens, rank, ranks);
  std::array<Expected, 3> expected;
  for (int p = 0; p < 3; ++p) expected[p] = expected_of(d, p);
  // Everything on one rank: what any distributed run must reproduce exactly.
  const std::array<MagnitudeSummary, 3> whole = summarize_magnitudes(
      store_of(d, {0, d.tokens}, Holding::kInMemory), slab_dead(d, {0, d.tokens}), d.transitions, MPI_COMM_SELF);
  const std::vector<uint8_t> dead = slab_dead(d, slab);
  for (Holding holding : {Holding::kInMemory, Holding::kSpilledEarly, Holding::kAllSpilled, Holding::kDeferred}) {
    const std::string what = "holding " + std::to_string(int(holding));
    const MagnitudeStore store = store_of(d, slab, holding);
    expect_order_statistics(store, dead, expected, what);
    const std::array<MagnitudeSummary, 3> got = summarize_magnitudes(store, dead, d.transitions, MPI_COMM_WORLD);
    if (rank != 0) continue;
    for (int p = 0; p < 3; ++p) {
      const std::string population = what + ", population " + std::to_string(p);
      expect_matches(got[p], expected[p], population);
      // Identical (means included) to the one-rank summary.
      EXPECT_EQ(got[p].mean, whole[p].mean) << population;
      EXPECT_EQ(got[p].per_step_mean, whole[p].per_step_mean) << population;
      EXPECT_EQ(got[p].percentiles, whole[p].percentiles) << population;
    }
  }
}

}  // namespace

TEST(MagnitudeStatistics, MixedIntegerHalfGeneralAndNonfiniteValues) { check_data_set({Mix::kEverything, 23, 131, 4}); }

TEST(MagnitudeStatistics, IntegerSquaresOnly) { check_data_set({Mix::kIntegersOnly, 17, 97, 3}); }

TEST(MagnitudeStatistics, GeneralValuesOnly) { check_data_set({Mix::kGeneralOnly, 11, 89, 5}); }

TEST(MagnitudeStatistics, EmptyPopulations) {
  check_data_set({Mix::kNonfiniteOnly, 5, 40, 3});  // no finite row at all
  check_data_set({Mix::kEverything, 7, 50, 0});     // no dead token
}

// A data set with more distinct magnitudes than the tables hold: some go to
// the general values, and the statistics are still exact.
void check_overflowing_data_set(const DataSet& d) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  const MagnitudeStore store = store_of(d, token_range(d.tokens, rank, ranks), Holding::kInMemory);
  EXPECT_GT(store.general().size(), 0) << "the data set must overflow the hash table";
  check_data_set(d);
}

TEST(MagnitudeStatistics, MoreDistinctValuesThanTheTablesHold) {
  check_overflowing_data_set({Mix::kManyDistinct, 100, 3000, 7});
}

TEST(MagnitudeStatistics, SeedFloatRootsOfIntegerSums) { check_data_set({Mix::kSeedRoots, 19, 301, 4}); }

TEST(MagnitudeStatistics, SeedFloatRootsBeyondAFullTable) {
  check_overflowing_data_set({Mix::kManySeedRoots, 100, 3000, 7});
}

TEST(MagnitudeStatistics, CountsQuarterSquaresExactly) {
  uint64_t q = 0;
  EXPECT_TRUE(quarter_square_of(std::sqrt(2.0), 1u << 20, q));
  EXPECT_EQ(q, 8u);
  EXPECT_TRUE(quarter_square_of(1.5, 1u << 20, q));  // sqrt(9 / 4)
  EXPECT_EQ(q, 9u);
  EXPECT_TRUE(quarter_square_of(0.0, 1u << 20, q));
  EXPECT_EQ(q, 0u);
  EXPECT_FALSE(quarter_square_of(0.1, 1u << 20, q));
  EXPECT_FALSE(quarter_square_of(std::nextafter(std::sqrt(2.0), 2.0), 1u << 20, q));
  EXPECT_FALSE(quarter_square_of(1000.0, 1u << 20, q));  // 4 m^2 beyond the limit
  EXPECT_FALSE(quarter_square_of(kNaN, 1u << 20, q));
  EXPECT_FALSE(quarter_square_of(kInf, 1u << 20, q));
}

}  // namespace latdisp
