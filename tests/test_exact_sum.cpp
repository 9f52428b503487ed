#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "parallel/exact_sum.hpp"

namespace latdisp {

TEST(ExactSum, KeepsWhatDoubleAdditionLoses) {
  ExactSum sum;
  sum.add(1e16);
  for (int i = 0; i < 10; ++i) sum.add(1.0);  // 1e16 + 1 rounds back to 1e16 in double
  EXPECT_EQ(sum.to_double(), 1e16 + 10);
}

TEST(ExactSum, RoundsToNearestEven) {
  ExactSum tie_down;  // 2^53 + 1: a tie between 2^53 and 2^53 + 2, even is 2^53
  tie_down.add(std::ldexp(1.0, 53));
  tie_down.add(1.0);
  EXPECT_EQ(tie_down.to_double(), std::ldexp(1.0, 53));
  ExactSum tie_up;  // 2^53 + 3: between 2^53 + 2 and 2^53 + 4, even is 2^53 + 4
  tie_up.add(std::ldexp(1.0, 53) + 2);
  tie_up.add(1.0);
  EXPECT_EQ(tie_up.to_double(), std::ldexp(1.0, 53) + 4);
  ExactSum sticky;  // 2^53 + 1 + 2^-250: just above the tie, rounds up
  sticky.add(std::ldexp(1.0, 53));
  sticky.add(1.0);
  sticky.add(std::ldexp(1.0, -250));
  EXPECT_EQ(sticky.to_double(), std::ldexp(1.0, 53) + 2);
}

TEST(ExactSum, OrderAndSplitDoNotMatter) {
  std::mt19937_64 random(7);
  std::vector<double> values;
  for (int i = 0; i < 20000; ++i) {
    const double mantissa = std::uniform_real_distribution<double>(1.0, 2.0)(random);
    values.push_back(std::ldexp(mantissa, static_cast<int>(random() % 200) - 100));
  }
  ExactSum forward, halves_a, halves_b;
  for (double v : values) forward.add(v);
  std::shuffle(values.begin(), values.end(), random);
  for (size_t i = 0; i < values.size(); ++i) (i % 3 ? halves_a : halves_b).add(values[i]);
  halves_a.add(halves_b);
  EXPECT_EQ(forward.to_double(), halves_a.to_double());
  // Against a long double sum of the values sorted ascending, which is close
  // (not exact): a sanity check of magnitude.
  std::sort(values.begin(), values.end());
  long double reference = 0;
  for (double v : values) reference += v;
  EXPECT_NEAR(forward.to_double() / static_cast<double>(reference), 1.0, 1e-15);
}

TEST(ExactSum, RefusesValuesOutsideItsRange) {
  ExactSum sum;
  EXPECT_THROW(sum.add(std::ldexp(1.0, 400)), std::range_error);
  EXPECT_THROW(sum.add(-1.0), std::range_error);
  EXPECT_NO_THROW(sum.add(0.0));
  EXPECT_TRUE(sum.is_zero());
}

TEST(ExactSum, RepeatedValueInOneStep) {
  std::mt19937_64 random(11);
  for (int i = 0; i < 200; ++i) {
    const double value =
        std::ldexp(std::uniform_real_distribution<double>(1.0, 2.0)(random), static_cast<int>(random() % 500) - 260);
    const uint32_t times = static_cast<uint32_t>(random() % 40);
    ExactSum once, repeated;
    once.add(value, times);
    for (uint32_t k = 0; k < times; ++k) repeated.add(value);
    repeated.add(1.0);
    once.add(1.0);
    EXPECT_EQ(once.to_double(), repeated.to_double()) << value << " x " << times;
  }
  // The most times at the top of the range: exact, no overflow.
  ExactSum big;
  big.add(std::ldexp(1.0, 287), 4294967295u);
  EXPECT_EQ(big.to_double(), std::ldexp(4294967295.0, 287));
  ExactSum ones;  // 2^32 - 1 + 2^-200: every bit kept until rounding
  ones.add(1.0, 4294967295u);
  ones.add(std::ldexp(1.0, -200));
  EXPECT_EQ(ones.to_double(), 4294967295.0);
  EXPECT_FALSE(ones.is_zero());
  EXPECT_THROW(big.add(-1.0, 2), std::range_error);
}

}  // namespace latdisp
