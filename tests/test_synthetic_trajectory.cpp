#include <gtest/gtest.h>

#include "kokkos_kernels/bf16_lattice.hpp"
#include "synthetic/synthetic_trajectory.hpp"

namespace latdisp {

TEST(SyntheticTrajectory, DeterministicInSeedAndCoordinates) {
  const TrajectoryModel a{42, 0.1, true}, b{42, 0.1, true}, c{43, 0.1, true};
  int differences = 0;
  for (int64_t n = 0; n < 50; ++n)
    for (int64_t d = 0; d < 16; ++d) {
      EXPECT_EQ(initial_value(a, n, d), initial_value(b, n, d));
      differences += initial_value(a, n, d) != initial_value(c, n, d);
      const uint16_t v = initial_value(a, n, d);
      EXPECT_EQ(next_value(a, v, 3, n, d, false), next_value(b, v, 3, n, d, false));
    }
  EXPECT_GT(differences, 700);
}

TEST(SyntheticTrajectory, RealisticMix) {
  const TrajectoryModel model{1, 0.2, false};
  int64_t dead = 0, transitions = 0, crossed = 0, moved = 0, zeros = 0, finite = 0;
  for (int64_t n = 0; n < 400; ++n) {
    const bool is_dead = token_is_dead(model, n);
    dead += is_dead;
    for (int64_t d = 0; d < 32; ++d) {
      uint16_t v = initial_value(model, n, d);
      zeros += bf16::is_zero(v);
      for (int64_t t = 0; t < 20; ++t) {
        const uint16_t next = next_value(model, v, t, n, d, is_dead);
        ++transitions;
        crossed += bf16::exponent_field(next) != bf16::exponent_field(v);
        moved += next != v;
        finite += bf16::is_finite(next);
        v = next;
      }
    }
  }
  EXPECT_NEAR(static_cast<double>(dead) / 400, 0.2, 0.06);
  const double crossing_rate = static_cast<double>(crossed) / static_cast<double>(transitions);
  EXPECT_GT(crossing_rate, 0.003);  // "about 1%"
  EXPECT_LT(crossing_rate, 0.03);
  EXPECT_GT(moved, transitions / 2);
  EXPECT_GT(zeros, 0);
  EXPECT_EQ(finite, transitions);  // no Inf/NaN without --special
}

TEST(SyntheticTrajectory, SpecialPlantsEveryKind) {
  const TrajectoryModel model{1, 0.1, true};
  bool subnormal = false, infinite = false, nan = false, zero = false, large = false;
  for (int64_t n = 0; n < 200; ++n)
    for (int64_t d = 0; d < 64; ++d) {
      uint16_t v = initial_value(model, n, d);
      for (int64_t t = 0; t < 6; ++t) {
        subnormal |= bf16::is_subnormal(v);
        infinite |= (v & 0x7FFF) == 0x7F80;
        nan |= bf16::is_nan(v);
        zero |= bf16::is_zero(v);
        large |= bf16::is_finite(v) && bf16::exponent_field(v) >= 135;
        v = next_value(model, v, t, n, d, false);
      }
    }
  EXPECT_TRUE(subnormal && infinite && nan && zero && large);
}

}  // namespace latdisp
