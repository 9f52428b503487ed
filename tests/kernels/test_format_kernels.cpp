// The kernel on every element format (analyze_raw_block) against a scalar
// reference written here from the general rules alone
// (formats/lattice_rules.hpp, checked against an exact oracle in
// tests/test_lattice_rules.cpp): one coordinate at a time, no common case,
// magnitudes in numpy's pairwise order. Typed over the five formats, on
// trajectory-like blocks (mostly the kernel's common case, with planted
// special values), random bit patterns, edge-value rows and jumps of a few
// cells or up to three binades, so that the
// common pass, the rows it hands to the general rules and their mix all
// meet the reference.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "kernel_harness.hpp"
#include "scalar_reference.hpp"
#include "kokkos_kernels/formats/lattice_rules.hpp"
#include "synthetic/synthetic_trajectory.hpp"

namespace latdisp {
bool kernel_tests_default_space_is_backend();  // test_kernels.cpp: --backend names the default space

namespace {

namespace fm = formats;

using kernel_reference::numpy_pairwise_sum;

enum class FormatBlock { trajectory, random_bits, edge_rows, jumps };

// The runtime element type of traits F.
template <class F>
fm::ElementType type_of() {
  for (int i = 0; i < fm::kElementTypeCount; ++i)
    if (fm::element_type_name(static_cast<fm::ElementType>(i)) == F::name) return static_cast<fm::ElementType>(i);
  return fm::ElementType::bf16;
}

// Bits of W[t, n, d] (steps x tokens x dims, row-major) in a uint32 each.
template <class F>
std::vector<uint32_t> make_values(FormatBlock kind, int64_t steps, int64_t tokens, int64_t dims,
                                  std::vector<uint8_t>& dead) {
  const fm::ElementType type = type_of<F>();
  const TrajectoryModel model{11, 0.1, true};
  std::mt19937_64 random(static_cast<uint64_t>(kind) * 1000 + F::total_bits + F::mantissa_bits);
  const uint64_t mask = (uint64_t(1) << F::total_bits) - 1;
  std::vector<uint32_t> w(static_cast<size_t>(steps * tokens * dims));
  dead.assign(static_cast<size_t>(tokens), 0);
  const auto at = [&](int64_t t, int64_t n, int64_t d) -> uint32_t& {
    return w[static_cast<size_t>((t * tokens + n) * dims + d)];
  };
  // Values at the format's edges: zeros, subnormals, binade edges, the largest finite, specials.
  const uint32_t m = uint32_t(1) << F::mantissa_bits, top = static_cast<uint32_t>(mask >> 1);
  const uint32_t edges[] = {0, 1, m - 1, m, m + 1, 2 * m - 1, 2 * m, top, top - 1, top - m, top - m + 1, 7 * m + 3};
  for (int64_t n = 0; n < tokens; ++n) {
    dead[static_cast<size_t>(n)] = token_is_dead(model, n) ? 1 : 0;
    for (int64_t d = 0; d < dims; ++d) {
      uint32_t value = initial_bits(type, model, n, d);
      for (int64_t t = 0; t < steps; ++t) {
        if (t > 0) value = next_bits(type, model, value, t - 1, n, d, dead[static_cast<size_t>(n)] != 0);
        uint32_t v = value;
        if (kind == FormatBlock::random_bits) v = static_cast<uint32_t>(random() & mask);
        if (kind == FormatBlock::edge_rows && random() % 4 == 0) {
          const uint32_t sign = (random() % 2) ? static_cast<uint32_t>((mask >> 1) + 1) : 0u;
          v = (edges[random() % (sizeof edges / sizeof edges[0])] + static_cast<uint32_t>(random() % 3)) | sign;
          v &= static_cast<uint32_t>(mask);
        }
        if (kind == FormatBlock::jumps && t > 0) {  // a few cells, or up to three binades' worth, from the last step
          const int64_t span = random() % 8 == 0 ? int64_t(3) << F::mantissa_bits : 4;
          const int64_t step = static_cast<int64_t>(random() % static_cast<uint64_t>(2 * span + 1)) - span;
          v = static_cast<uint32_t>((static_cast<int64_t>(at(t - 1, n, d)) + step) & static_cast<int64_t>(mask));
        }
        at(t, n, d) = v;
      }
    }
  }
  return w;
}

struct Reference {
  std::vector<ItemTally> steps;   // per transition
  std::vector<double> magnitudes;  // (transition, token)
  std::vector<RowEvents> events;
};

template <class F>
void reference_coordinate(uint32_t a32, uint32_t b32, const KernelSettings& s, PopulationTally& p, UlpTally& u,
                          double& value) {
  using L = fm::Lattice<F>;
  using Bits = typename F::bits_type;
  const Bits a = static_cast<Bits>(a32), b = static_cast<Bits>(b32);
  const fm::ZeroUlp rule = static_cast<fm::ZeroUlp>(static_cast<int>(s.zero_ulp));
  p.counts[kCountCrossed] += L::exponent_field(a) != L::exponent_field(b);
  if (!L::is_finite(b)) {
    u.nonfinite += 1;
  } else {
    u.zeros += L::is_zero(b);
    u.subnormals += L::is_subnormal(b);
    u.min_exponent = std::min(u.min_exponent, L::ulp_exponent(b, rule));
    u.max_exponent = std::max(u.max_exponent, L::ulp_exponent(b, rule));
  }
  if (!L::is_finite(a) || !L::is_finite(b)) {
    p.counts[kCountNonfinite] += 1;
    value = std::nan("");
    return;
  }
  const fm::ExactX x = fm::exact_x<F>(a, b, rule);
  const int klass = fm::classify<F>(x, s.epsilon);
  const bf16::IntegerFacts facts = fm::integer_facts<F>(x);
  value = fm::to_double(x);
  p.counts[klass] += 1;
  p.counts[kCountMoved] += value != 0.0;
  p.counts[kCountBeyondFloat32] += facts.beyond_2_24;
  p.counts[kCountBeyondFloat64] += facts.beyond_2_53;
  p.counts[kCountFloat32Inexact] += !fm::exactly_float32(x);
  p.min = std::min(p.min, value);
  p.max = std::max(p.max, value);
  p.max_abs = std::max(p.max_abs, std::fabs(value));
  p.int_min = std::min(p.int_min, facts.rounded);
  p.int_max = std::max(p.int_max, facts.rounded);
  p.width = std::max(p.width, facts.width);
}

template <class F>
Reference reference(const std::vector<uint32_t>& w, const std::vector<uint8_t>& dead, int64_t steps, int64_t tokens,
                    int64_t dims, const KernelSettings& s) {
  Reference r;
  for (int64_t t = 0; t + 1 < steps; ++t) {
    ItemTally tally;
    tally.reset();
    for (int64_t n = 0; n < tokens; ++n) {
      PopulationTally& p = tally.population[dead[static_cast<size_t>(n)] ? kDead : kLive];
      const int64_t crossed = p.counts[kCountCrossed], non_integer = p.counts[kCountNonInteger],
                    half = p.counts[kCountHalf];
      std::vector<double> squares;
      bool finite = true;
      for (int64_t d = 0; d < dims; ++d) {
        double value;
        reference_coordinate<F>(w[static_cast<size_t>(((t + 1) * tokens + n) * dims + d)],
                                w[static_cast<size_t>((t * tokens + n) * dims + d)], s, p, tally.ulp, value);
        finite = finite && std::isfinite(value);
        squares.push_back(value * value);
      }
      const double magnitude = finite ? std::sqrt(numpy_pairwise_sum(squares.data(), dims))
                                      : std::nan("");
      p.counts[kCountFrozenRows + row_regime(magnitude, s.hop_radius)] += 1;
      r.magnitudes.push_back(magnitude);
      r.events.push_back(RowEvents{static_cast<int32_t>(p.counts[kCountCrossed] - crossed),
                                   static_cast<int32_t>(p.counts[kCountNonInteger] - non_integer),
                                   static_cast<int32_t>(p.counts[kCountHalf] - half)});
      if (t + 2 == steps)  // the final step's ULPs
        for (int64_t d = 0; d < dims; ++d) {
          PopulationTally scratch;
          scratch.reset();
          double ignored;
          const uint32_t v = w[static_cast<size_t>(((t + 1) * tokens + n) * dims + d)];
          reference_coordinate<F>(v, v, s, scratch, tally.ulp, ignored);
        }
    }
    r.steps.push_back(tally);
  }
  return r;
}

template <class F>
class FormatKernel : public ::testing::Test {};
using Formats = ::testing::Types<fm::BF16, fm::F16, fm::F32, fm::F8E4M3, fm::F8E5M2>;
TYPED_TEST_SUITE(FormatKernel, Formats);

TYPED_TEST(FormatKernel, CommonPassAndGeneralRowsMatchTheGeneralRules) {
  using F = TypeParam;
  using Bits = typename F::bits_type;
  if (!kernel_tests_default_space_is_backend()) GTEST_SKIP() << "analyze_raw_block runs on " << ExecutionSpace::name();
  const int64_t steps = 4, tokens = 37;
  int failures = 0;
  for (const FormatBlock kind :
       {FormatBlock::trajectory, FormatBlock::random_bits, FormatBlock::edge_rows, FormatBlock::jumps})
    for (const int64_t dims : {1, 7, 64, 131}) {
      std::vector<uint8_t> dead_flags;
      const std::vector<uint32_t> w = make_values<F>(kind, steps, tokens, dims, dead_flags);
      Kokkos::View<Bits*, DeviceMemory> values("values", w.size());
      auto host_values = Kokkos::create_mirror_view(values);
      for (size_t i = 0; i < w.size(); ++i) host_values(i) = static_cast<Bits>(w[i]);
      Kokkos::deep_copy(values, host_values);
      Kokkos::View<uint8_t*, DeviceMemory> dead("dead", tokens);
      auto host_dead = Kokkos::create_mirror_view(dead);
      for (int64_t n = 0; n < tokens; ++n) host_dead(n) = dead_flags[static_cast<size_t>(n)];
      Kokkos::deep_copy(dead, host_dead);
      RawBlockValues block;
      block.data = values.data();
      block.steps = steps;
      block.step_stride = tokens * dims;
      block.tokens = tokens;
      block.dims = dims;
      block.type = type_of<F>();
      for (const bf16::ZeroUlp zero : {bf16::ZeroUlp::min_normal, bf16::ZeroUlp::min_subnormal})
        for (const double epsilon : {1e-6, 0.3})
          for (const int64_t per_item : {8, 64}) {
            KernelSettings s;
            s.zero_ulp = zero;
            s.epsilon = epsilon;
            s.tokens_per_item = per_item;
            s.hop_radius = 2.0;
            ItemTallies tallies("tallies", steps - 1, block_items_per_transition(tokens, per_item));
            RowMagnitudes magnitudes("magnitudes", steps - 1, tokens);
            RowEventViews events("events", steps - 1, tokens);
            analyze_raw_block(block, dead, true, s, tallies, magnitudes, events);
            const auto host_tallies = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), tallies);
            const auto host_magnitudes = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), magnitudes);
            const auto host_events = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), events);
            const Reference ref = reference<F>(w, dead_flags, steps, tokens, dims, s);
            const std::vector<ItemTally> got = kernel_harness::per_step(host_tallies);
            const std::string where = std::string(F::name) + " block " + std::to_string(int(kind)) + " dims " +
                                      std::to_string(dims) + " zero " + std::to_string(int(zero)) + " eps " +
                                      std::to_string(epsilon) + " per_item " + std::to_string(per_item);
            for (int64_t t = 0; t + 1 < steps; ++t) {
              // bf16 also counts the seed arithmetic's disagreements: tests/kernels/test_kernels.cpp checks those.
              const std::string difference =
                  kernel_harness::tally_difference(got[t], ref.steps[t], !std::is_same<F, fm::BF16>::value);
              if (!difference.empty() && ++failures < 10)
                ADD_FAILURE() << where << " step " << t << ": " << difference;
              for (int64_t n = 0; n < tokens; ++n) {
                const size_t i = static_cast<size_t>(t * tokens + n);
                const RowEvents& e = host_events(t, n);
                const bool same = kernel_harness::same_magnitude(host_magnitudes(t, n), ref.magnitudes[i]) &&
                                  e.crossed == ref.events[i].crossed && e.non_integer == ref.events[i].non_integer &&
                                  e.half == ref.events[i].half;
                if (!same && ++failures < 10)
                  ADD_FAILURE() << where << " row (" << t << ", " << n << "): magnitude " << host_magnitudes(t, n)
                                << " vs " << ref.magnitudes[i] << ", events " << e.crossed << "/" << e.non_integer
                                << "/" << e.half << " vs " << ref.events[i].crossed << "/"
                                << ref.events[i].non_integer << "/" << ref.events[i].half;
              }
            }
          }
    }
  EXPECT_EQ(failures, 0);
}

}  // namespace
}  // namespace latdisp
