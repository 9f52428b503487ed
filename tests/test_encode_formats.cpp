// The save kernel (kokkos_kernels/encode_block.hpp) typed over the five
// element formats: its branch-free fast case and its general path must give
// what the exact lattice rules (formats/lattice_rules.hpp, themselves checked
// against an oracle from the definitions in test_lattice_rules.cpp) give for
// each coordinate: the integer or the exception (kind, correctly rounded x),
// the crossing, and U as the format's pattern of 2^k (a NaN where undefined).
// Every pair of 8-bit patterns; every 16-bit pattern against neighbours,
// binade moves and random partners; random f32 pairs likewise; both zero-ULP
// rules, int8 and int64. The Python oracle of the saved files is
// tests/reference/check_saved_output.py.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kokkos_kernels/encode_block.hpp"
#include "kokkos_kernels/formats/lattice_rules.hpp"

namespace {

using namespace latdisp;
namespace fm = latdisp::formats;

constexpr int64_t kSide = 256;  // tokens x dims of the one transition

// b (step 0) and a (step 1) patterns: every 8-bit pair, or for wider formats
// every pattern (a sample for f32) against a partner near it, a few binades
// away, or anywhere.
template <class F>
std::vector<uint32_t> pattern_pairs() {
  std::vector<uint32_t> bits(2 * kSide * kSide);
  std::mt19937_64 random(F::total_bits);
  const uint64_t size = uint64_t(1) << F::total_bits;
  for (int64_t i = 0; i < kSide * kSide; ++i) {
    uint64_t b = F::total_bits == 8 ? static_cast<uint64_t>(i / kSide) : i;
    uint64_t a = F::total_bits == 8 ? static_cast<uint64_t>(i % kSide) : 0;
    if (F::total_bits > 8) {
      if (F::total_bits == 32) b = random() % size;
      const int64_t choice = static_cast<int64_t>(random() % 4);
      const int64_t near = static_cast<int64_t>(random() % 601) - 300;
      const int64_t binades = static_cast<int64_t>(random() % 21) - 10;
      const int64_t offset = choice == 0 ? near : choice == 1 ? (binades << F::mantissa_bits) + near % 3 : 0;
      a = choice == 2 ? random() % size : (b + static_cast<uint64_t>(offset)) % size;
      if (choice == 3) a = (b + (static_cast<uint64_t>(binades) << F::mantissa_bits)) % size;
    }
    bits[static_cast<size_t>(i)] = static_cast<uint32_t>(b);
    bits[static_cast<size_t>(kSide * kSide + i)] = static_cast<uint32_t>(a);
  }
  return bits;
}

struct Expected {
  uint8_t kind = kNoException;
  int64_t integer = 0;
  double value = 0.0;
};

// What the exact rules say of one coordinate, for integers of `width`.
template <class F>
Expected expected_of(uint32_t a, uint32_t b, fm::ZeroUlp zero_rule, bf16::IntegerWidth width) {
  using L = fm::Lattice<F>;
  using Bits = typename F::bits_type;
  Expected e;
  if (!L::is_finite(Bits(a)) || !L::is_finite(Bits(b))) {
    e.kind = kExceptionNonfinite;
    e.value = std::nan("");
    return e;
  }
  const fm::ExactX x = fm::exact_x<F>(Bits(a), Bits(b), zero_rule);
  e.value = fm::to_double(x);
  const int klass = fm::classify<F>(x, 1e-6);
  if (klass != bf16::kExact) {
    e.kind = static_cast<uint8_t>(klass);
    return e;
  }
  if (fm::integer_facts<F>(x).width > width) {
    e.kind = kExceptionOutOfRange;
    return e;
  }
  // An integer that fits int64: exact in 128-bit arithmetic (s <= 63 here unless qa == 0).
  const __int128 scaled = x.s >= 0 ? static_cast<__int128>(x.qa) << (x.qa == 0 ? 0 : x.s)
                                   : static_cast<__int128>(x.qa) / (static_cast<__int128>(1) << -x.s);
  e.integer = static_cast<int64_t>(scaled - x.qb);
  return e;
}

template <class F>
class EncodeFormats : public ::testing::Test {};
using Formats = ::testing::Types<fm::BF16, fm::F16, fm::F32, fm::F8E4M3, fm::F8E5M2>;
TYPED_TEST_SUITE(EncodeFormats, Formats);

TYPED_TEST(EncodeFormats, EveryCoordinateAsTheExactRulesSay) {
  using F = TypeParam;
  using L = fm::Lattice<F>;
  using Bits = typename F::bits_type;
  const std::vector<uint32_t> pairs = pattern_pairs<F>();
  Kokkos::View<Bits*, DeviceMemory> values("latdisp::test::values", pairs.size());
  auto host_values = Kokkos::create_mirror_view(values);
  for (size_t i = 0; i < pairs.size(); ++i) host_values(i) = static_cast<Bits>(pairs[i]);
  Kokkos::deep_copy(values, host_values);
  RawBlockValues block;
  block.data = values.data();
  block.steps = 2;
  block.step_stride = kSide * kSide;
  block.tokens = kSide;
  block.dims = kSide;
  block.type = [] {
    fm::ElementType type{};
    fm::parse_element_type(F::name, type);
    return type;
  }();
  for (const bf16::ZeroUlp zero : {bf16::ZeroUlp::min_normal, bf16::ZeroUlp::min_subnormal}) {
    for (const bf16::IntegerWidth width : {bf16::kInt8, bf16::kInt64}) {
      SCOPED_TRACE(std::string(F::name) + (zero == bf16::ZeroUlp::min_normal ? " min-normal" : " min-subnormal") +
                   " width " + std::to_string(width));
      KernelSettings settings;
      settings.zero_ulp = zero;
      const fm::ZeroUlp rule = static_cast<fm::ZeroUlp>(static_cast<int>(zero));
      const EncodedBlock out{Kokkos::View<int64_t*, DeviceMemory>("latdisp::test::integers", kSide * kSide),
                             BlockArray<uint8_t>("latdisp::test::crossed", 1, kSide, kSide),
                             Kokkos::View<uint32_t*, DeviceMemory>("latdisp::test::ulps", 2 * kSide * kSide)};
      ExceptionTable table(1);
      encode_block(block, settings, width, 0, 0, out, table);
      const auto integers = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out.integers);
      const auto crossed = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out.crossed);
      const auto ulps = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out.ulps);
      const auto index = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), table.index);
      const auto kinds = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), table.kind);
      const auto exception_values = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), table.value);
      const Bits* ulp_bits = reinterpret_cast<const Bits*>(ulps.data());
      int failures = 0;
      int64_t row = 0;
      for (int64_t i = 0; i < kSide * kSide && failures < 10; ++i) {
        const uint32_t b = pairs[static_cast<size_t>(i)], a = pairs[static_cast<size_t>(kSide * kSide + i)];
        const Expected e = expected_of<F>(a, b, rule, width);
        const int64_t integer = width == bf16::kInt8 ? reinterpret_cast<const int8_t*>(integers.data())[i]
                                                     : integers.data()[i];
        bool same = integer == e.integer &&
                    crossed.data()[i] == (L::exponent_field(Bits(a)) != L::exponent_field(Bits(b)));
        if (e.kind != kNoException) {
          const bool in_table = row < table.count && index(row, 0) == 0 && index(row, 1) * kSide + index(row, 2) == i;
          same = same && in_table && kinds(row) == e.kind &&
                 (std::isnan(e.value) ? std::isnan(exception_values(row)) : exception_values(row) == e.value);
          ++row;
        }
        // U(b): the format's pattern of 2^k, sign clear; a NaN where undefined.
        const Bits u = ulp_bits[i];
        if (L::is_finite(Bits(b)))
          same = same && L::sign_bit(u) == 0 && L::to_double(u) == std::ldexp(1.0, L::ulp_exponent(Bits(b), rule));
        else
          same = same && L::is_nan(u);
        if (same) continue;
        ++failures;
        ADD_FAILURE() << "b " << std::hex << b << " a " << a << std::dec << ": integer " << integer << " (expected "
                      << e.integer << "), kind expected " << int(e.kind) << ", U bits " << std::hex << uint32_t(u);
      }
      EXPECT_EQ(row, table.count) << "exceptions beyond the expected ones";
      // The last step has a ULP too.
      for (int64_t i = 0; i < kSide * kSide && failures < 10; ++i) {
        const Bits a = static_cast<Bits>(pairs[static_cast<size_t>(kSide * kSide + i)]);
        const Bits u = ulp_bits[kSide * kSide + i];
        const bool same = L::is_finite(a) ? L::to_double(u) == std::ldexp(1.0, L::ulp_exponent(a, rule)) : L::is_nan(u);
        if (same) continue;
        ++failures;
        ADD_FAILURE() << "U of the last step at " << i;
      }
    }
  }
}

}  // namespace
