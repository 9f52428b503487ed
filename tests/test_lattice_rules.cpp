// The exact lattice rules over every element format
// (kokkos_kernels/formats/lattice_rules.hpp, docs/definitions.md §17),
// typed over the five formats, against an oracle written here
// from the definitions: patterns decoded from their fields into exact dyadics
// (boost cpp_int), x = (a - b) / U(b) exactly, its class, its rounding to
// double (an explicit round-to-nearest-even), its integer and float facts.
// Every pair of 8-bit patterns; every f16 pattern against neighbours and
// random partners; structured and random bf16 and f32 pairs. bf16 is also
// checked against its own fast-path rules (bf16_lattice.hpp).
#include "kokkos_kernels/formats/common_case.hpp"
#include "kokkos_kernels/formats/lattice_rules.hpp"

#include <gtest/gtest.h>

#include <boost/multiprecision/cpp_int.hpp>

#include <cmath>
#include <random>
#include <vector>

namespace {

using boost::multiprecision::cpp_int;
namespace fm = latdisp::formats;
namespace bf = latdisp::bf16;

struct Dyadic {  // n * 2^e
  cpp_int n;
  int e;
};

// The oracle's decoding, from the traits' table values only.
template <class F>
struct Oracle {
  static constexpr int mb = F::mantissa_bits, eb = F::exponent_bits, total = F::total_bits;
  static int sign(uint32_t b) { return (b >> (total - 1)) & 1; }
  static int field(uint32_t b) { return (b >> mb) & ((1 << eb) - 1); }
  static uint32_t mantissa(uint32_t b) { return b & ((1u << mb) - 1); }
  static bool finite(uint32_t b) {
    if (F::specials == fm::Specials::nan_only_fn) return !(field(b) == (1 << eb) - 1 && mantissa(b) == (1u << mb) - 1);
    return field(b) != (1 << eb) - 1;
  }
  static Dyadic value(uint32_t b) {
    const int e = field(b);
    cpp_int n = e ? cpp_int((1u << mb) + mantissa(b)) : cpp_int(mantissa(b));
    return {sign(b) ? cpp_int(-n) : n, (e ? e : 1) - F::bias - mb};
  }
  static int ulp(uint32_t b, fm::ZeroUlp rule) {
    if (field(b) == 0 && mantissa(b) == 0 && rule == fm::ZeroUlp::min_normal) return 1 - F::bias;
    return (field(b) ? field(b) : 1) - F::bias - mb;
  }
  // x = (a - b) / U(b)
  static Dyadic x(uint32_t a, uint32_t b, fm::ZeroUlp rule) {
    const Dyadic va = value(a), vb = value(b);
    const int low = std::min(va.e, vb.e);
    return {(va.n << (va.e - low)) - (vb.n << (vb.e - low)), low - ulp(b, rule)};
  }
};

// floor(x), and x - floor(x) = rem / 2^t (t = -e > 0).
cpp_int round_half_even(const Dyadic& x) {
  if (x.e >= 0) return x.n << x.e;
  const int t = -x.e;
  const cpp_int one = cpp_int(1) << t;
  cpp_int q = x.n >= 0 ? cpp_int(x.n >> t) : cpp_int(-((-x.n + one - 1) >> t));
  const cpp_int rem = x.n - (q << t);
  const cpp_int half = one >> 1;
  if (rem > half || (rem == half && (q & 1) != 0)) q += 1;
  return q;
}

// The exact dyadic of a positive double.
Dyadic of_double(double d) {
  int e = 0;
  const double m = std::frexp(d, &e);
  return {cpp_int(static_cast<long long>(std::ldexp(m, 53))), e - 53};
}

// a < b for dyadics.
bool less(const Dyadic& a, const Dyadic& b) {
  const int low = std::min(a.e, b.e);
  return (a.n << (a.e - low)) < (b.n << (b.e - low));
}

int oracle_class(const Dyadic& x, double epsilon) {
  const cpp_int r = round_half_even(x);
  Dyadic distance{x.e >= 0 ? cpp_int(0) : cpp_int(x.n - (r << -x.e)), std::min(x.e, 0)};
  if (distance.n < 0) distance.n = -distance.n;
  if (distance.n == 0) return bf::kExact;
  const Dyadic eps = of_double(epsilon);
  if (less(distance, eps)) return bf::kAlmost;
  Dyadic gap{(cpp_int(1) << (-distance.e - 1)) - distance.n, distance.e};  // 1/2 - r >= 0
  return less(gap, eps) ? bf::kHalf : bf::kNonInteger;
}

// Round to nearest even of a dyadic to double (no subnormal results arise here).
double oracle_double(const Dyadic& x) {
  if (x.n == 0) return 0.0;
  cpp_int m = x.n < 0 ? cpp_int(-x.n) : x.n;
  int e = x.e;
  const int length = static_cast<int>(boost::multiprecision::msb(m)) + 1;
  if (length > 53) {
    const int drop = length - 53;
    const cpp_int kept = m >> drop, rest = m - (kept << drop), half = cpp_int(1) << (drop - 1);
    m = kept + ((rest > half || (rest == half && (kept & 1) != 0)) ? 1 : 0);
    e += drop;
  }
  const double v = std::ldexp(static_cast<double>(static_cast<long long>(m)), e);
  return x.n < 0 ? -v : v;
}

int oracle_width(const cpp_int& r) {
  if (r >= -128 && r <= 127) return bf::kInt8;
  if (r >= -32768 && r <= 32767) return bf::kInt16;
  if (r >= INT32_MIN && r <= INT32_MAX) return bf::kInt32;
  if (r >= cpp_int(INT64_MIN) && r <= cpp_int(INT64_MAX)) return bf::kInt64;
  return bf::kNoInteger;
}

bool oracle_float32(const Dyadic& x) {
  if (x.n == 0) return true;
  cpp_int m = x.n < 0 ? cpp_int(-x.n) : x.n;
  int e = x.e;
  const unsigned zeros = boost::multiprecision::lsb(m);
  m >>= zeros;
  e += static_cast<int>(zeros);
  const int length = static_cast<int>(boost::multiprecision::msb(m)) + 1;
  if (length > 24 || e < -149) return false;
  return e + length <= 128;  // |x| < 2^128 with at most 24 significant bits: <= FLT_MAX
}

bool beyond(const Dyadic& x, int power) {
  const cpp_int a = x.n < 0 ? cpp_int(-x.n) : x.n;
  return x.e >= -power ? (a << (x.e + power)) > (cpp_int(1) << (2 * power))
                       : a > (cpp_int(1) << (power - x.e));
}

template <class F>
void check_pair(uint32_t a, uint32_t b, fm::ZeroUlp rule, double epsilon, int& failures) {
  using O = Oracle<F>;
  using Bits = typename F::bits_type;
  if (!O::finite(a) || !O::finite(b)) {
    const bool finite = fm::Lattice<F>::is_finite(Bits(a)) && fm::Lattice<F>::is_finite(Bits(b));
    if (finite && ++failures < 20) ADD_FAILURE() << F::name << " finite " << a << " " << b;
    return;
  }
  const Dyadic x = O::x(a, b, rule);
  const fm::ExactX hx = fm::exact_x<F>(Bits(a), Bits(b), rule);
  const bf::IntegerFacts facts = fm::integer_facts<F>(hx);
  const cpp_int r = round_half_even(x);
  const bool ok = fm::to_double(hx) == oracle_double(x) && fm::classify<F>(hx, epsilon) == oracle_class(x, epsilon) &&
                  facts.rounded == oracle_double({r, 0}) && facts.width == oracle_width(r) &&
                  facts.beyond_2_24 == beyond(x, 24) && facts.beyond_2_53 == beyond(x, 53) &&
                  fm::exactly_float32(hx) == oracle_float32(x);
  if (!ok && ++failures < 20)
    ADD_FAILURE() << F::name << " a=" << a << " b=" << b << " rule=" << int(rule) << " eps=" << epsilon
                  << ": x=" << fm::to_double(hx) << " vs " << oracle_double(x) << ", class "
                  << fm::classify<F>(hx, epsilon) << " vs " << oracle_class(x, epsilon) << ", width " << facts.width
                  << " vs " << oracle_width(r) << ", beyond " << facts.beyond_2_24 << facts.beyond_2_53 << " vs "
                  << beyond(x, 24) << beyond(x, 53) << ", f32 " << fm::exactly_float32(hx) << " vs "
                  << oracle_float32(x);
}

// The pairs of a format: all of them for 8 bits; else every pattern against
// neighbours and random partners, and random pairs near binade edges.
template <class F>
std::vector<std::pair<uint32_t, uint32_t>> pairs_of() {
  std::vector<std::pair<uint32_t, uint32_t>> pairs;
  const uint64_t patterns = uint64_t(1) << F::total_bits;
  std::mt19937_64 random(F::total_bits * 31 + F::mantissa_bits);
  if (F::total_bits == 8) {
    for (uint32_t a = 0; a < 256; ++a)
      for (uint32_t b = 0; b < 256; ++b) pairs.emplace_back(a, b);
    return pairs;
  }
  const uint32_t mask = static_cast<uint32_t>(patterns - 1);
  if (F::total_bits == 16)
    for (uint32_t b = 0; b < 65536; ++b)
      for (int k = 0; k < 4; ++k)
        pairs.emplace_back(k < 2 ? (b + k * 2 - 1) & mask : static_cast<uint32_t>(random()) & mask, b);
  for (int k = 0; k < 300000; ++k) {
    const uint32_t b = static_cast<uint32_t>(random()) & mask;
    const uint64_t pick = random() % 4;
    const uint32_t field_step = uint32_t(1) << F::mantissa_bits;
    const uint32_t a = pick == 0   ? static_cast<uint32_t>(random()) & mask
                       : pick == 1 ? (b + static_cast<uint32_t>(random() % 9) - 4) & mask
                       : pick == 2 ? (b + field_step * static_cast<uint32_t>(random() % 80)) & mask
                                   : (b ^ (uint32_t(1) << (F::total_bits - 1))) & mask;
    pairs.emplace_back(a, b);
  }
  return pairs;
}

template <class F>
class LatticeRules : public ::testing::Test {};
using Formats = ::testing::Types<fm::BF16, fm::F16, fm::F32, fm::F8E4M3, fm::F8E5M2>;
TYPED_TEST_SUITE(LatticeRules, Formats);

TYPED_TEST(LatticeRules, ExactDisplacementAgreesWithTheOracle) {
  int failures = 0;
  for (const auto& [a, b] : pairs_of<TypeParam>())
    for (const fm::ZeroUlp rule : {fm::ZeroUlp::min_normal, fm::ZeroUlp::min_subnormal})
      for (const double epsilon : {1e-6, 0.3}) check_pair<TypeParam>(a, b, rule, epsilon, failures);
  EXPECT_EQ(failures, 0);
}

// f32 pairs where x lies near 2^24, 2^53 and the int64 limits.
TEST(LatticeRulesF32, IntegerFactsAtTheirEdges) {
  const auto bits = [](float v) {
    uint32_t b;
    std::memcpy(&b, &v, 4);
    return b;
  };
  std::vector<uint32_t> values;
  for (float v : {1.0f, -1.0f, 1.5f, -1.5f, 0.0f, -0.0f, 0x1p-149f, 0x1p-126f, 0x1p30f, -0x1p30f, 0x1p40f, -0x1p40f,
                  0x1p24f, 0x1p53f, 0x1p63f, -0x1p63f, 0x1p62f, 0x1p38f, 0x1p39f, 16777215.0f, 3.4028234e38f})
    for (int k = -2; k <= 2; ++k) values.push_back(bits(v) + static_cast<uint32_t>(k));
  int failures = 0;
  for (uint32_t a : values)
    for (uint32_t b : values)
      for (const fm::ZeroUlp rule : {fm::ZeroUlp::min_normal, fm::ZeroUlp::min_subnormal})
        check_pair<fm::F32>(a, b, rule, 1e-6, failures);
  EXPECT_EQ(failures, 0);
}

// The kernel's common case (formats/common_case.hpp) against the oracle: where
// a pair is common, 2x, its class (exact, or half for a half-integer), an
// exact float32, no integer beyond 2^24; the crossing, the ULP of b and b's
// kind always. And the common case is not empty: the trajectory-like pairs
// (b and a few cells or a binade away) are mostly common.
template <class F>
void check_common_lane(uint32_t a, uint32_t b, fm::ZeroUlp rule, double epsilon, int64_t& common, int& failures) {
  using O = Oracle<F>;
  using C = fm::CommonCase<F>;
  const typename C::Rules rules = C::rules(rule, epsilon);
  const typename C::Lane l = C::lane(static_cast<typename C::U>(a), static_cast<typename C::U>(b), rules);
  bool ok = l.crossed == static_cast<typename C::U>(O::field(a) != O::field(b)) &&
            l.b_zero == static_cast<typename C::U>(O::field(b) == 0 && O::mantissa(b) == 0) &&
            l.b_subnormal == static_cast<typename C::U>(O::field(b) == 0 && O::mantissa(b) != 0) &&
            (l.common == 1 || l.x2 == 0);
  if (O::finite(b)) ok = ok && C::ulp_exponent_of_field(l.ulp_field) == O::ulp(b, rule);
  if (l.common) {
    ++common;
    ok = ok && O::finite(a) && O::finite(b);
    if (ok) {
      const Dyadic x = O::x(a, b, rule);
      const Dyadic twice{x.n, x.e + 1};
      const bool is_x2 = twice.e >= 0 ? (twice.n << twice.e) == cpp_int(l.x2) : twice.n == (cpp_int(l.x2) << -twice.e);
      const int klass = oracle_class(x, epsilon);
      ok = is_x2 && klass == ((l.x2 & 1) ? bf::kHalf : bf::kExact) && oracle_float32(x) && !beyond(x, 24);
    }
  }
  // The 8-bit formats' byte lanes (the flat pass's) are the same lane as the checked one.
  if constexpr (C::kByteLanes) {
    const auto byte = C::template lane<uint8_t>(static_cast<uint8_t>(a), static_cast<uint8_t>(b), rules);
    ok = ok && byte.x2 == l.x2 && byte.common == l.common && byte.crossed == l.crossed &&
         byte.ulp_field == l.ulp_field && byte.b_zero == l.b_zero && byte.b_subnormal == l.b_subnormal;
  }
  // A simple lane (IEEE formats but bf16) is a common one with the same 2x, ULP field and marks.
  if constexpr (F::specials == fm::Specials::ieee && !C::kSeedAgreement) {
    const typename C::SimpleLane s =
        C::simple_lane(static_cast<typename C::U>(a), static_cast<typename C::U>(b), rules);
    const bool zeros = O::field(a) == 0 && O::mantissa(a) == 0 && O::field(b) == 0 && O::mantissa(b) == 0;
    const bool simple_expected = O::finite(a) && O::finite(b) && O::field(a) == O::field(b) &&
                                 (O::field(b) != 0 || zeros) && ((a ^ b) >> (F::total_bits - 1)) == 0;
    ok = ok && s.simple == static_cast<typename C::U>(simple_expected) && (s.simple == 1 || s.x2 == 0) &&
         s.b_zero == static_cast<typename C::U>(simple_expected && zeros);
    if (s.simple)
      ok = ok && l.common == 1 && s.x2 == l.x2 && s.field == l.ulp_field && l.crossed == 0 && (l.x2 & 1) == 0;
  }
  if (!ok && ++failures < 20)
    ADD_FAILURE() << F::name << " common case: a=" << a << " b=" << b << " rule=" << int(rule) << " eps=" << epsilon
                  << " common=" << int(l.common) << " x2=" << int64_t(l.x2);
}

TYPED_TEST(LatticeRules, CommonCaseAgreesWithTheOracle) {
  using F = TypeParam;
  std::vector<std::pair<uint32_t, uint32_t>> pairs = pairs_of<F>();
  // Trajectory-like pairs: a within a few cells, or up to three binades' worth, of b.
  std::mt19937_64 random(F::total_bits * 7 + F::mantissa_bits);
  const uint64_t mask = (uint64_t(1) << F::total_bits) - 1;
  const int64_t span = int64_t(3) << F::mantissa_bits;
  for (int k = 0; k < 200000; ++k) {
    const uint32_t b = static_cast<uint32_t>(random() & mask);
    const int64_t step = k % 2 ? static_cast<int64_t>(random() % 9) - 4
                               : static_cast<int64_t>(random() % static_cast<uint64_t>(2 * span + 1)) - span;
    pairs.emplace_back(static_cast<uint32_t>((static_cast<int64_t>(b) + step) & static_cast<int64_t>(mask)), b);
  }
  int failures = 0;
  int64_t common = 0, checked = 0;
  for (const auto& [a, b] : pairs)
    for (const fm::ZeroUlp rule : {fm::ZeroUlp::min_normal, fm::ZeroUlp::min_subnormal})
      for (const double epsilon : {1e-6, 0.3}) {
        check_common_lane<F>(a, b, rule, epsilon, common, failures);
        ++checked;
      }
  EXPECT_EQ(failures, 0);
  EXPECT_GT(common, checked / 10) << "the common case covers almost nothing";
}

// bf16's fast-path rules and the general ones are the same rules.
TEST(LatticeRulesBf16, GeneralRulesEqualTheBf16Rules) {
  int failures = 0;
  for (const auto& [a, b] : pairs_of<fm::BF16>()) {
    const uint16_t a16 = static_cast<uint16_t>(a), b16 = static_cast<uint16_t>(b);
    if (!bf::is_finite(a16) || !bf::is_finite(b16)) continue;
    const bf::ExactDisplacement x = bf::exact_displacement(a16, b16, bf::ZeroUlp::min_normal);
    const fm::ExactX y = fm::exact_x<fm::BF16>(a16, b16, fm::ZeroUlp::min_normal);
    const bf::IntegerFacts f = bf::integer_facts(x), g = fm::integer_facts<fm::BF16>(y);
    if ((bf::to_double(x) != fm::to_double(y) || bf::classify(x, 1e-6) != fm::classify<fm::BF16>(y, 1e-6) ||
         f.width != g.width || f.rounded != g.rounded || f.beyond_2_24 != g.beyond_2_24 ||
         f.beyond_2_53 != g.beyond_2_53) &&
        ++failures < 20)
      ADD_FAILURE() << "bf16 a=" << a << " b=" << b;
  }
  EXPECT_EQ(failures, 0);
}

}  // namespace
