// The exact sum of the near-zero breakdown (kokkos_kernels/near_zero_tally.hpp,
// docs/definitions.md §19): order-free, and rounded once to nearest even;
// the expected values are worked out by hand or with long double-free integer sums.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "analysis/near_zero_result.hpp"

namespace latdisp {

namespace {

AbsSum sum_of(const std::vector<double>& values) {
  AbsSum sum;
  sum.reset();
  for (double v : values) sum.add(v);
  return sum;
}

}  // namespace

TEST(NearZeroSum, RoundsOnceToNearestEven) {
  const double two53 = std::ldexp(1.0, 53);
  EXPECT_EQ(to_double(sum_of({two53, 1.0})), two53);                  // tie: to even 2^53
  EXPECT_EQ(to_double(sum_of({two53 + 2, 1.0})), two53 + 4);          // tie: to even 2^53 + 4
  EXPECT_EQ(to_double(sum_of({two53, 1.0, std::ldexp(1.0, -253)})), two53 + 2);  // just above: up
  EXPECT_EQ(to_double(sum_of({1e16, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1})), 1e16 + 10);  // what double addition loses
  EXPECT_EQ(to_double(sum_of({})), 0.0);
  EXPECT_EQ(to_double(sum_of({std::ldexp(1.0, -253)})), std::ldexp(1.0, -253));
  EXPECT_EQ(to_double(sum_of({std::ldexp(1.0, 277), std::ldexp(1.0, 277)})), std::ldexp(1.0, 278));
}

TEST(NearZeroSum, IntegersAndDoublesAgree) {
  AbsSum a, b;
  a.reset();
  b.reset();
  a.add_integer(uint64_t(1) << 40);
  a.add_integer(12345);
  b.add(std::ldexp(1.0, 40));
  b.add(12345.0);
  EXPECT_EQ(to_double(a), to_double(b));
  EXPECT_EQ(to_double(a), std::ldexp(1.0, 40) + 12345);
}

TEST(NearZeroSum, OrderAndSplitDoNotMatter) {
  std::mt19937_64 random(5);
  std::vector<double> values;
  for (int i = 0; i < 2000; ++i)
    values.push_back(std::ldexp(static_cast<double>(random() >> 11), static_cast<int>(random() % 300) - 253 - 52 + 52));
  const double forward = to_double(sum_of(values));
  std::shuffle(values.begin(), values.end(), random);
  AbsSum left = sum_of(std::vector<double>(values.begin(), values.begin() + 700));
  left.merge(sum_of(std::vector<double>(values.begin() + 700, values.end())));
  EXPECT_EQ(to_double(left), forward);
}

}  // namespace latdisp
