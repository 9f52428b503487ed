// The optimizer audit's rules and accounting on hand-worked steps
// (docs/optimizer.md §3-§4), without torch: a state that rounds back, an
// update below half a cell, a weight decay that is a no-op, torch's split of
// an element range into vector lanes and scalar tails, the classes, and the
// exact signed sums.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kokkos_kernels/optimizer/audit_block.hpp"
#include "optimizer/wide_sum.hpp"

namespace latdisp {
namespace {

using namespace optimizer;
using formats::BF16;

constexpr uint16_t kOne = 0x3F80, kTwo = 0x4000, kZero = 0x0000;

StepScalars scalars(double lr, double wd, int64_t k) {
  StepScalars s;
  s.lr = lr;
  s.weight_decay = wd;
  s.beta1 = 0.9;
  s.beta2 = 0.999;
  s.eps = 1e-8;
  s.decay = 1 - lr * wd;
  s.bias_correction2 = 1 - std::pow(0.999, double(k));
  s.step_size = lr / (1 - std::pow(0.9, double(k)));
  s.bc2_sqrt = std::sqrt(s.bias_correction2);
  return s;
}

const UpdateRule kRules[3] = {UpdateRule::torch_mul_add, UpdateRule::torch_lerp, UpdateRule::fused};

// exp_avg_sq = 1 with a zero gradient: 1 * 0.999 is within half a bf16 cell
// (2^-9) of 1, so every rule rounds it back to 1 (the variance ratchet); in
// torch-mul-add the scalar itself is already bf16(0.999) = 1.
TEST(OptimizerRules, VarianceRoundsBack) {
  EXPECT_EQ(scalar_in_format<BF16>(0.999), 1.0f);
  for (UpdateRule rule : kRules) {
    const auto r = replay_step<BF16>(rule, kOne, kZero, kZero, kOne, scalars(1e-3, 0, 5), TorchCapability::avx2, true);
    EXPECT_EQ(r.exp_avg_sq, kOne);
  }
  const CoordinateOutcome o = account_coordinate<BF16>(kOne, kOne, kZero, kZero, kOne, kOne, scalars(1e-3, 0, 5));
  EXPECT_EQ((o.flags >> kExpAvgSqShift) & 3u, 0u);  // unchanged
  EXPECT_EQ(o.cls, kStill);                          // u = 0: exp_avg is 0
}

// Step 1 from zero states, g = 1: exp_avg = bf16(0.1) = 0x3DCD (0.10009765625,
// the alpha bf16(1 - 0.9) times 1), exp_avg_sq = bf16(0.001f) = 0x3A83; the
// update -1e-3 * 0.1001/0.1 / (sqrt(0.000999.../0.001) + 1e-8) is about
// -0.001, 0.128 of W = 1's cell 2^-7: swallowed, W stays 1.
TEST(OptimizerRules, UpdateBelowHalfACell) {
  const StepScalars s = scalars(1e-3, 0, 1);
  const auto r = torch_mul_add_step<BF16>(kOne, kOne, kZero, kZero, s, TorchCapability::avx2, true);
  EXPECT_EQ(r.exp_avg, 0x3DCD);
  EXPECT_EQ(r.exp_avg_sq, 0x3A83);
  EXPECT_EQ(r.w, kOne);
  const auto tail = torch_mul_add_step<BF16>(kOne, kOne, kZero, kZero, s, TorchCapability::avx2, false);
  EXPECT_EQ(tail.w, kOne);
  const CoordinateOutcome o = account_coordinate<BF16>(kOne, r.w, kZero, r.exp_avg, kZero, r.exp_avg_sq, s);
  EXPECT_EQ(o.cls, kSwallowed);
  EXPECT_TRUE(o.flags & kSubHalfCell);
  EXPECT_FALSE(o.flags & kMoved);
  EXPECT_GT(o.cells, 0.12);
  EXPECT_LT(o.cells, 0.13);
  EXPECT_LT(o.u, 0);
}

// 1 - lr*wd = 1 - 1e-5 becomes bf16 1.0 in torch-mul-add: W = 2 is left
// bit-identical (a no-op); with lr*wd = 0.01 the scalar is bf16(0.99) =
// 0.98828125 and 2 * 0.98828125 = 1.9765625 (0x3FFD) is a real decay.
TEST(OptimizerRules, WeightDecayNoop) {
  const auto noop = torch_mul_add_step<BF16>(kTwo, kZero, kZero, kZero, scalars(1e-3, 0.01, 3),
                                             TorchCapability::avx2, true);
  EXPECT_TRUE(noop.decay_noop);
  EXPECT_EQ(noop.w, kTwo);  // zero gradient and states: only the decay could act
  const auto acts = torch_mul_add_step<BF16>(kTwo, kZero, kZero, kZero, scalars(0.1, 0.1, 3),
                                             TorchCapability::avx2, true);
  EXPECT_FALSE(acts.decay_noop);
  EXPECT_EQ(acts.w, 0x3FFD);
  const CoordinateOutcome o = account_coordinate<BF16>(kTwo, kTwo, kZero, kZero, kZero, kZero, scalars(1e-3, 0.01, 3));
  EXPECT_TRUE(o.flags & kDecayEligible);
  EXPECT_EQ(o.cls, kSwallowed);  // u = -2e-5, Delta = 0
}

// torch's lerp: fma(w, end - start, start) for w < 1/2; fused keeps float32
// to the end and rounds once.
TEST(OptimizerRules, LerpAndFused) {
  EXPECT_EQ(torch_lerp(0.0f, 1.0f, 0.1f), 0.1f);
  EXPECT_EQ(torch_lerp(1.0f, 3.0f, 0.75f), 2.5f);
  const auto lerp = torch_lerp_step<BF16>(kOne, kOne, kZero, kZero, scalars(1e-3, 0, 1));
  EXPECT_EQ(lerp.exp_avg, 0x3DCD);  // bf16(0.1f)
  const auto fused = fused_step<BF16>(kOne, kOne, kZero, kZero, scalars(1e-3, 0, 1));
  EXPECT_EQ(fused.exp_avg, 0x3DCD);
  EXPECT_EQ(fused.w, kOne);
}

// Element i of n runs in the vectorised loop unless it is among the last
// (chunk length mod lanes) of its thread's chunk.
TEST(OptimizerRules, VectorLanesAndTails) {
  EXPECT_TRUE(torch_vector_lane(95, 100, 1, 32));
  EXPECT_FALSE(torch_vector_lane(96, 100, 1, 32));
  EXPECT_FALSE(torch_vector_lane(99, 100, 1, 32));
  EXPECT_FALSE(torch_vector_lane(96, 100, 4, 32));  // below the grain: one chunk
  // 70000 over 2 threads: chunks of 35000, 35000 mod 32 = 24 tail elements each.
  EXPECT_TRUE(torch_vector_lane(34975, 70000, 2, 32));
  EXPECT_FALSE(torch_vector_lane(34976, 70000, 2, 32));
  EXPECT_TRUE(torch_vector_lane(35000, 70000, 2, 32));
  EXPECT_FALSE(torch_vector_lane(69999, 70000, 2, 32));
  EXPECT_EQ(torch_loop_lanes<BF16>(TorchCapability::avx2), 32);
  EXPECT_EQ(torch_loop_lanes<BF16>(TorchCapability::avx512), 64);
  EXPECT_EQ(torch_loop_lanes<formats::F32>(TorchCapability::avx2), 16);
  EXPECT_EQ(Rounding<BF16>::round(NAN, true), 0xFFFF);
  EXPECT_EQ(Rounding<BF16>::round(NAN, false), 0x7FC0);
}

// The audit kernel replays each element on its lane kind (torch_vector_lane):
// the recorded step is the scalar tail's replay of every element, so the
// kernel flags a mismatch exactly where the vector lanes' replay differs and
// never in a tail, here with rows that end in a tail and rows across
// torch's thread chunks (70000 elements over 2 threads: chunks of 35000
// with 24-element tails).
class KokkosEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { Kokkos::initialize(); }
  void TearDown() override { Kokkos::finalize(); }
};
::testing::Environment* const kKokkos = ::testing::AddGlobalTestEnvironment(new KokkosEnvironment);

void expect_kernel_lanes(int64_t tokens, int64_t dims, int threads, const StepScalars& s = scalars(1e-3, 0.01, 7)) {
  using Unmanaged = Kokkos::MemoryTraits<Kokkos::Unmanaged>;
  const int64_t numel = tokens * dims;
  std::mt19937_64 random{uint64_t(numel)};
  auto value = [&](int exponent) { return uint16_t((random() & 0x807F) | uint64_t(127 + exponent) << 7); };
  std::vector<uint16_t> w(2 * numel), g(2 * numel), m(2 * numel), v(2 * numel);
  int64_t tails_differing = 0;
  std::vector<uint32_t> expected(numel);
  for (int64_t k = 0; k < numel; ++k) {
    w[k] = value(-6), g[numel + k] = value(-10), m[k] = value(-10), v[k] = uint16_t(value(-20) & 0x7FFF);
    const auto tail = torch_mul_add_step<BF16>(w[k], g[numel + k], m[k], v[k], s, TorchCapability::avx2, false);
    const auto lane = torch_mul_add_step<BF16>(w[k], g[numel + k], m[k], v[k], s, TorchCapability::avx2, true);
    w[numel + k] = tail.w, m[numel + k] = tail.exp_avg, v[numel + k] = tail.exp_avg_sq;
    const bool vector_lane = torch_vector_lane(k, numel, threads, 32);
    expected[k] = vector_lane ? (lane.w != tail.w ? kMismatchW : 0u) | (lane.exp_avg != tail.exp_avg ? kMismatchExpAvg : 0u) |
                                    (lane.exp_avg_sq != tail.exp_avg_sq ? kMismatchExpAvgSq : 0u)
                              : 0u;
    if (!vector_lane && (lane.w != tail.w || lane.exp_avg != tail.exp_avg)) ++tails_differing;
  }
  ASSERT_GT(tails_differing, 0) << "no tail element whose lane replay differs: the check could not fail";
  AuditSettings settings;
  settings.rule = UpdateRule::torch_mul_add;
  settings.capability = TorchCapability::avx2;
  settings.torch_threads = threads;
  settings.tokens = tokens;
  settings.dims = dims;
  std::vector<double> u(numel), delta(numel), cells(numel);
  std::vector<uint32_t> flags(numel);
  const ChunkOutcomes outcome{decltype(ChunkOutcomes::u)(u.data(), numel), decltype(ChunkOutcomes::u)(delta.data(), numel),
                              decltype(ChunkOutcomes::u)(cells.data(), numel),
                              decltype(ChunkOutcomes::flags)(flags.data(), numel)};
  auto view = [&](const std::vector<uint16_t>& x) { return Kokkos::View<const uint16_t*, Unmanaged>(x.data(), x.size()); };
  audit_block<BF16>(settings, 0, tokens, tokens, view(w), view(g), view(m), view(v),
                    Kokkos::View<const StepScalars*, Unmanaged>(&s, 1), outcome);
  const uint32_t mismatch = kMismatchW | kMismatchExpAvg | kMismatchExpAvgSq;
  for (int64_t k = 0; k < numel; ++k) ASSERT_EQ(flags[k] & mismatch, expected[k]) << "element " << k;
}

TEST(OptimizerRules, KernelReplaysEachLaneKind) {
  expect_kernel_lanes(3, 40, 1);     // 120 elements: 96 in lanes, the last row ends in the 24-element tail
  expect_kernel_lanes(700, 100, 2);  // rows 349 and 699 end in tails, row 350 starts the second chunk
  // Steps whose 1 - lr*wd, or beta2, is not 1 in bf16 (the kernel's replay keeps those multiplications).
  expect_kernel_lanes(3, 40, 1, scalars(0.1, 0.1, 7));
  StepScalars beta2 = scalars(1e-3, 0.01, 7);
  beta2.beta2 = 0.9;
  expect_kernel_lanes(700, 100, 2, beta2);
}

// torch_mul_add_step without the multiplications by a scalar that bf16
// makes exactly 1 gives the full step's bits (W, exp_avg, exp_avg_sq, and
// decay_noop where W is not a NaN), on values of every kind (NaN W and
// exp_avg_sq of both NaN patterns included), in both lane kinds and both
// capabilities.
TEST(OptimizerRules, MulAddWithoutOnesIsTheStep) {
  const StepScalars s = scalars(1e-3, 0.01, 9);
  ASSERT_EQ(scalar_in_format<BF16>(s.decay), 1.0f);
  ASSERT_EQ(scalar_in_format<BF16>(s.beta2), 1.0f);
  std::mt19937_64 random(12);
  const uint16_t special[] = {0x0000, 0x8000, 0x0001, 0x7F80, 0xFF80, 0x7FC1, 0xFFFF, 0x7FC0};
  auto value = [&] {
    const uint64_t r = random();
    return r % 8 == 0 ? special[(r >> 8) % 8] : uint16_t((r >> 16) & 0xFFFF);
  };
  for (int i = 0; i < 200000; ++i) {
    const uint16_t w = value(), g = value(), m = value(), v = value();
    for (const bool lane : {true, false})
      for (const TorchCapability capability : {TorchCapability::avx2, TorchCapability::default_isa}) {
        const auto full = torch_mul_add_step<BF16>(w, g, m, v, s, capability, lane);
        const auto both = torch_mul_add_step<BF16, true, true>(w, g, m, v, s, capability, lane);
        const auto decay = torch_mul_add_step<BF16, true, false>(w, g, m, v, s, capability, lane);
        const auto beta2 = torch_mul_add_step<BF16, false, true>(w, g, m, v, s, capability, lane);
        for (const auto& r : {both, decay, beta2}) {
          ASSERT_EQ(r.w, full.w) << std::hex << w << " " << g << " " << m << " " << v;
          ASSERT_EQ(r.exp_avg, full.exp_avg);
          ASSERT_EQ(r.exp_avg_sq, full.exp_avg_sq) << std::hex << v;
          if ((w & 0x7FFF) <= 0x7F80) {  // not a NaN
            ASSERT_EQ(r.decay_noop, full.decay_noop) << std::hex << w;
          }
        }
      }
  }
}

// A NaN gradient makes NaN states, written as the lane kind writes NaN
// (0xFFFF in torch's vector loops, 0x7FC0 in its scalar tails); a NaN W
// stays a NaN through the decay, a no-op exactly where W holds that NaN's bits.
TEST(OptimizerRules, NanAsEachLaneWritesIt) {
  const StepScalars s = scalars(1e-3, 0.01, 3);
  const uint16_t nan_in = 0x7FC1;
  for (const bool lane : {true, false}) {
    const uint16_t nan_out = lane ? 0xFFFF : 0x7FC0;
    for (const TorchCapability capability : {TorchCapability::avx2, TorchCapability::default_isa}) {
      const auto r = torch_mul_add_step<BF16>(kOne, nan_in, kOne, kOne, s, capability, lane);
      EXPECT_EQ(r.exp_avg, nan_out);
      EXPECT_EQ(r.exp_avg_sq, nan_out);
      EXPECT_EQ(r.w, nan_out);
      EXPECT_FALSE(torch_mul_add_step<BF16>(nan_in, kZero, kOne, kOne, s, capability, lane).decay_noop);
      EXPECT_TRUE(torch_mul_add_step<BF16>(nan_out, kZero, kOne, kOne, s, capability, lane).decay_noop);
    }
  }
  const auto r = torch_lerp_step<BF16>(kOne, nan_in, kOne, kOne, s);
  EXPECT_EQ(r.exp_avg, 0xFFFF);
  EXPECT_EQ(r.exp_avg_sq, 0xFFFF);
  EXPECT_TRUE(torch_lerp_step<BF16>(0xFFFF, kZero, kOne, kOne, s).decay_noop);
}

TEST(OptimizerRules, Classes) {
  EXPECT_EQ(coordinate_class(0, 0), kStill);
  EXPECT_EQ(coordinate_class(1, 0), kSwallowed);
  EXPECT_EQ(coordinate_class(0, 1), kSpurious);
  EXPECT_EQ(coordinate_class(1, -1), kReversed);
  EXPECT_EQ(coordinate_class(1, 2), kAmplified);
  EXPECT_EQ(coordinate_class(-2, -1), kAttenuated);
  EXPECT_EQ(coordinate_class(-1, -1), kExact);
}

TEST(OptimizerRules, WideSumIsExact) {
  WideSum s;
  s.add(1e308);
  s.add(1e-300);
  s.add(-1e308);
  EXPECT_EQ(s.to_double(), 1e-300);
  WideSum t;
  t.add(0.1);
  t.add(0.2);
  EXPECT_EQ(t.to_double(), 0.30000000000000004);
  WideSum tiny;
  tiny.add(5e-324);
  tiny.add(5e-324);
  tiny.add(-1.5);
  tiny.add(1.5);
  EXPECT_EQ(tiny.to_double(), 1e-323);
  WideSum negative;
  negative.add(-3.0);
  negative.add(1.0);
  EXPECT_EQ(negative.to_double(), -2.0);
}

// account_flat, for bf16 with exp_avg_sq / bc2 by the inverse where asked.
template <class F>
CoordinateOutcome flat(bool by_inverse, typename F::bits_type w0, typename F::bits_type w1, typename F::bits_type m0,
                       typename F::bits_type m1, typename F::bits_type v0, typename F::bits_type v1,
                       const StepScalars& s) {
  if constexpr (F::mantissa_bits <= 7)
    if (by_inverse) return account_flat<F, true>(w0, w1, m0, m1, v0, v1, s);
  return account_flat<F>(w0, w1, m0, m1, v0, v1, s);
}

// The steps the accounting tests run, each as made (a division by bc2) and
// again by the inverse (where it is exact: it is for these; whether or not
// this build's fused multiply-adds are instructions).
std::vector<StepScalars> accounting_steps() {
  std::vector<StepScalars> steps;
  for (StepScalars s : {scalars(1e-3, 0, 5), scalars(1e-3, 0.01, 1), scalars(0.5, 0.1, 1000)}) {
    steps.push_back(s);
    s.by_inverse = inverse_is_exact(s);
    EXPECT_TRUE(s.by_inverse);
    steps.push_back(s);
  }
  return steps;
}

// The kernel's branch-free accounting (account_flat) gives account_coordinate's
// u, Delta, |c|, class and flags bit for bit, on random values of every kind
// (zeros, subnormals, Inf, NaN, negative variances) and steps with and without
// weight decay, dividing by bc2 and by its inverse.
template <class F>
void expect_flat_matches_general(uint64_t seed) {
  using Bits = typename F::bits_type;
  std::mt19937_64 random(seed);
  const Bits special[] = {Bits(0), Bits(Bits(1) << (F::total_bits - 1)), Bits(1), Bits(3),
                          Bits(formats::Lattice<F>::exponent_mask << F::mantissa_bits),
                          Bits(formats::Lattice<F>::exponent_mask << F::mantissa_bits | 1u)};
  auto value = [&] {
    const uint64_t r = random();
    if (r % 16 == 0) return special[(r >> 8) % 6];
    // Mostly values near the weights' and the states' scales, sometimes any bits.
    const Bits any = Bits(r >> 20);
    return r % 7 == 0 ? any : Bits((any & formats::Lattice<F>::mantissa_mask) | (Bits(F::bias - 8 + (r >> 60)) << F::mantissa_bits));
  };
  for (const StepScalars& s : accounting_steps())
    for (int i = 0; i < 20000; ++i) {
      const Bits w0 = value(), w1 = value(), m0 = value(), m1 = value(), v0 = value(), v1 = value();
      const CoordinateOutcome a = account_coordinate<F>(w0, w1, m0, m1, v0, v1, s);
      const CoordinateOutcome b = flat<F>(s.by_inverse, w0, w1, m0, m1, v0, v1, s);
      ASSERT_EQ(std::memcmp(&a.u, &b.u, sizeof a.u), 0) << a.u << " " << b.u;
      ASSERT_EQ(std::memcmp(&a.delta, &b.delta, sizeof a.delta), 0) << a.delta << " " << b.delta;
      ASSERT_EQ(std::memcmp(&a.cells, &b.cells, sizeof a.cells), 0) << a.cells << " " << b.cells;
      ASSERT_EQ(a.cls, b.cls);
      ASSERT_EQ(a.flags | class_flag(a.cls), b.flags);
    }
}

TEST(OptimizerRules, FlatAccountingMatchesGeneral) {
  expect_flat_matches_general<BF16>(1);
  expect_flat_matches_general<formats::F32>(2);
}

// inverse_is_exact's claim, checked on every bf16 value: where it holds,
// quotient_by_inverse(v) is v / bc2 for each finite v, bit for
// bit (its check of 128 significands decides for every exponent). Over the
// bias corrections of real betas and step counts and over bc2 spread across
// its range it holds (Markstein's theorem says it always does there); outside
// [2^-400, 2^400], and for bc2 = 0 (beta2 = 1), the division stays.
TEST(OptimizerRules, QuotientByInverseIsTheQuotient) {
  std::vector<double> corrections;
  for (double beta2 : {0.9, 0.95, 0.98, 0.99, 0.999, 0.9999})
    for (int64_t k = 1; k <= 3000; k += 11) corrections.push_back(1 - std::pow(beta2, double(k)));
  std::mt19937_64 random(7);
  for (int i = 0; i < 300; ++i)
    corrections.push_back(std::ldexp(1.0 + double(random() % 1000000) / 1e6, int(random() % 800) - 400));
  int64_t by_inverse = 0;
  for (const double bc2 : corrections) {
    StepScalars s;
    s.bias_correction2 = bc2;
    if (!inverse_is_exact(s)) continue;
    ++by_inverse;
    for (uint32_t bits = 0; bits < 0x10000; ++bits) {
      if ((bits & 0x7F80) == 0x7F80) continue;  // not finite
      const double v = Rounding<BF16>::to_float(uint16_t(bits));
      const double q = quotient_by_inverse(v, s), exact = v / bc2;
      ASSERT_TRUE(std::memcmp(&q, &exact, sizeof q) == 0 || (v == 0 && q == 0))
          << "bc2 " << bc2 << " v bits " << bits << ": " << q << " != " << exact;
    }
  }
  EXPECT_EQ(by_inverse, int64_t(corrections.size()));
  // The audit takes the inverse where the build's fused multiply-adds are instructions.
  StepScalars usual = scalars(1e-3, 0.01, 100);
  prepare_inverse(usual);
  EXPECT_EQ(usual.by_inverse, kFusedMultiplyAdds);
  for (const double bc2 : {0.0, std::ldexp(1.0, -401), std::ldexp(1.0, 401), -std::ldexp(1.0, -500)}) {
    StepScalars s;
    s.bias_correction2 = bc2;
    EXPECT_FALSE(inverse_is_exact(s)) << bc2;
    prepare_inverse(s);
    EXPECT_FALSE(s.by_inverse) << bc2;
  }
}

// The kernel's accounting of a row (account_coordinates: for bf16 sixteen
// coordinates at a time in AVX-512 registers where the host has them) gives
// every coordinate account_coordinate's u, Delta, |c|, class and flags, the
// replay's flags kept beside them (kDecayNoop only where the decay is
// eligible): values of every kind, rows of 16k and 16k + 1 .. 15 coordinates
// (pieces of 64 and what is left).
template <class F>
void expect_row_matches_general(uint64_t seed) {
  using Bits = typename F::bits_type;
  using L = formats::Lattice<F>;
  std::mt19937_64 random(seed);
  const Bits special[] = {Bits(0), Bits(Bits(1) << (F::total_bits - 1)), Bits(1), Bits(3),
                          Bits(L::exponent_mask << F::mantissa_bits), Bits(L::exponent_mask << F::mantissa_bits | 1u),
                          Bits((Bits(1) << (F::total_bits - 1)) | 5u)};
  auto value = [&] {
    const uint64_t r = random();
    if (r % 16 == 0) return special[(r >> 8) % 7];
    const Bits any = Bits(r >> 20);
    return r % 7 == 0 ? any : Bits((any & L::mantissa_mask) | (Bits(F::bias - 8 + (r >> 60)) << F::mantissa_bits));
  };
  const uint32_t replay_bits = kMismatchW | kMismatchExpAvg | kMismatchExpAvgSq | kDecayNoop;
  for (const StepScalars& s : accounting_steps())
    for (int64_t count : {int64_t(4096), int64_t(64), int64_t(16), int64_t(8), int64_t(61), int64_t(97), int64_t(17),
                          int64_t(15), int64_t(7), int64_t(1)}) {
      std::vector<Bits> w0(count), w1(count), m0(count), m1(count), v0(count), v1(count);
      std::vector<double> u(count), delta(count), cells(count);
      std::vector<uint32_t> flags(count), replay(count);
      for (int64_t d = 0; d < count; ++d) {
        w0[d] = value(), w1[d] = value(), m0[d] = value(), m1[d] = value(), v0[d] = value(), v1[d] = value();
        flags[d] = replay[d] = uint32_t(random()) & replay_bits;
      }
      account_coordinates<F>(w0.data(), w1.data(), m0.data(), m1.data(), v0.data(), v1.data(), count, s, u.data(),
                             delta.data(), cells.data(), flags.data());
      for (int64_t d = 0; d < count; ++d) {
        const CoordinateOutcome a = account_coordinate<F>(w0[d], w1[d], m0[d], m1[d], v0[d], v1[d], s);
        ASSERT_EQ(std::memcmp(&a.u, &u[d], sizeof a.u), 0) << a.u << " " << u[d] << " at " << d;
        ASSERT_EQ(std::memcmp(&a.delta, &delta[d], sizeof a.delta), 0) << a.delta << " " << delta[d];
        ASSERT_EQ(std::memcmp(&a.cells, &cells[d], sizeof a.cells), 0) << a.cells << " " << cells[d];
        const uint32_t noop = (a.flags & kDecayEligible) ? replay[d] & kDecayNoop : 0u;
        ASSERT_EQ(a.flags | class_flag(a.cls) | (replay[d] & ~kDecayNoop) | noop, flags[d]) << "at " << d;
      }
    }
}

// The percentiles' second pass (block_cells: account_flat's |c| in one flat
// loop a row, for bf16 by the inverse of bc2 where the step allows it) gives
// every coordinate account_coordinate's |c| where u != 0 and -1 elsewhere:
// values of every kind, rows of 8k and 8k + 1 .. 7 coordinates, a block of
// two steps, the first dividing by bc2 and the second by its inverse.
template <class F>
void expect_block_cells_match_general(uint64_t seed) {
  using Bits = typename F::bits_type;
  using L = formats::Lattice<F>;
  using Unmanaged = Kokkos::MemoryTraits<Kokkos::Unmanaged>;
  std::mt19937_64 random(seed);
  const Bits special[] = {Bits(0), Bits(Bits(1) << (F::total_bits - 1)), Bits(1), Bits(3),
                          Bits(L::exponent_mask << F::mantissa_bits), Bits(L::exponent_mask << F::mantissa_bits | 1u)};
  auto value = [&] {
    const uint64_t r = random();
    if (r % 16 == 0) return special[(r >> 8) % 6];
    const Bits any = Bits(r >> 20);
    return r % 7 == 0 ? any : Bits((any & L::mantissa_mask) | (Bits(F::bias - 8 + (r >> 60)) << F::mantissa_bits));
  };
  const std::vector<StepScalars> steps = accounting_steps();
  for (size_t first = 0; first + 1 < steps.size(); first += 2)
    for (int64_t dims : {int64_t(64), int64_t(61), int64_t(8), int64_t(7), int64_t(1), int64_t(200)}) {
      const int64_t tokens = 5, step_values = tokens * dims;
      std::vector<Bits> w(3 * step_values), m(3 * step_values), v(3 * step_values);
      for (size_t k = 0; k < w.size(); ++k) w[k] = value(), m[k] = value(), v[k] = value();
      const StepScalars block[2] = {steps[first], steps[first + 1]};  // by division, then by the inverse
      AuditSettings settings;
      settings.tokens = tokens;
      settings.dims = dims;
      std::vector<double> cells(size_t(2 * step_values));
      auto view = [&](const std::vector<Bits>& x) { return Kokkos::View<const Bits*, Unmanaged>(x.data(), x.size()); };
      block_cells<F>(settings, 0, 2 * tokens, tokens, view(w), view(m), view(v),
                     Kokkos::View<const StepScalars*, Unmanaged>(block, 2),
                     Kokkos::View<double*, Unmanaged>(cells.data(), cells.size()));
      for (int64_t k = 0; k < 2 * step_values; ++k) {
        const int64_t after = k + step_values;
        const CoordinateOutcome o =
            account_coordinate<F>(w[k], w[after], m[k], m[after], v[k], v[after], block[k / step_values]);
        const double expected = o.u != 0 ? o.cells : -1.0;
        ASSERT_EQ(std::memcmp(&expected, &cells[size_t(k)], sizeof expected), 0)
            << expected << " " << cells[size_t(k)] << " at " << k << ", " << dims << " dims";
      }
    }
}

TEST(OptimizerRules, BlockCellsMatchGeneral) {
  expect_block_cells_match_general<BF16>(8);
  expect_block_cells_match_general<formats::F32>(9);
}

TEST(OptimizerRules, RowAccountingMatchesGeneral) {
  expect_row_matches_general<BF16>(4);
  expect_row_matches_general<formats::F32>(5);
  // |c| exactly 1/2 (half a cell or more, not sub-half) and just below: W = 1
  // (U = 2^-7), exp_avg = exp_avg_sq = 1, eps = 0, bc2 = 1, u = -lr/bc1.
  StepScalars s = scalars(std::ldexp(1.0, -8), 0, 1);
  s.eps = 0, s.bias_correction2 = 1, s.step_size = std::ldexp(1.0, -8);
  for (const double step : {std::ldexp(1.0, -8), std::nextafter(std::ldexp(1.0, -8), 0.0)}) {
    s.step_size = step;
    std::vector<uint16_t> one(9, kOne);
    std::vector<double> u(9), delta(9), cells(9);
    std::vector<uint32_t> flags(9, 0);
    account_coordinates<BF16>(one.data(), one.data(), one.data(), one.data(), one.data(), one.data(), 9, s, u.data(),
                              delta.data(), cells.data(), flags.data());
    const uint32_t expected = step == std::ldexp(1.0, -8) ? kHalfCellOrMore : kSubHalfCell;
    for (int d = 0; d < 9; ++d) {
      EXPECT_EQ(cells[d], step * 128) << d;
      EXPECT_EQ(flags[d] & (kHalfCellOrMore | kSubHalfCell), expected) << d;
      EXPECT_EQ(flags[d] & class_flag(kSwallowed), class_flag(kSwallowed)) << d;
    }
  }
}

// add_exactly (flat levels) gives the same exact sum as adding term by term:
// terms spread over the whole double range, of both signs, subnormals, -0,
// a chunk with an Inf (ignored) and one near the top of the range.
TEST(OptimizerRules, ChunkSumIsExact) {
  std::mt19937_64 random(3);
  for (int trial = 0; trial < 40; ++trial) {
    const int64_t count = 1 + int64_t(random() % kExactChunkTerms);
    const int spread = trial % 4 == 0 ? 2000 : 10 + trial * 5;
    const int top = trial % 5 == 0 ? 1020 : (trial % 5 == 1 ? -1000 : 0);
    std::vector<double> terms(static_cast<size_t>(count));
    for (double& x : terms) {
      x = std::ldexp(double(random() >> 11) * 0x1p-53, top - int(random() % uint64_t(spread)));
      if (random() % 2) x = -x;
      if (random() % 50 == 0) x = random() % 2 ? -0.0 : 0.0;
    }
    if (trial == 7) terms[0] = INFINITY;
    WideSum one_by_one, flat, made;
    for (double x : terms) one_by_one.add(x);
    // add_terms_exactly on the same terms, with a bound on them as tight as
    // their largest's binade or up to two binades looser (finite terms only).
    double largest = 0;
    for (double x : terms) largest = std::max(largest, std::fabs(x));
    int bound = 0;
    std::frexp(largest, &bound);  // largest < 2^bound
    bound = std::max(bound, -1021) + trial % 3;
    const bool boundable = std::isfinite(largest) && bound <= kMostTermTop;
    std::vector<double> scratch(terms.size());
    if (boundable)
      add_terms_exactly([&](int64_t k) { return terms[size_t(k)]; }, count, bound, scratch.data(), made);
    add_exactly(terms.data(), count, flat);
    std::vector<int64_t> a(WideSum::kDigits), b(WideSum::kDigits), c(WideSum::kDigits);
    one_by_one.digits(a.data());
    flat.digits(b.data());
    made.digits(c.data());
    ASSERT_EQ(a, b) << "trial " << trial;
    ASSERT_EQ(one_by_one.to_double(), flat.to_double());
    if (boundable) {
      ASSERT_EQ(a, c) << "trial " << trial << ", add_terms_exactly";
    }
  }
}

}  // namespace
}  // namespace latdisp
