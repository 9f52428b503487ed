// Unit tests of kokkos_kernels/bf16_lattice.hpp (docs/definitions.md §1-14).
//
// Every function of the header is compared with an independent oracle written
// here from the definitions of docs/definitions.md: bfloat16 patterns are decoded through
// float32 (bits << 16, then frexp), values are exact dyadics n * 2^e with
// boost::multiprecision::cpp_int numerators, and doubles are produced by an
// explicit round-to-nearest-even written below. The oracle never calls the
// header's helpers.
#include "kokkos_kernels/bf16_lattice.hpp"

#include <gtest/gtest.h>

#include <boost/multiprecision/cpp_int.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace bf = latdisp::bf16;
using boost::multiprecision::cpp_int;

// ============================================================================
// Oracle: exact dyadic arithmetic
// ============================================================================

// value = n * 2^e, exactly.
struct Dyadic {
  cpp_int n;
  int e;
};

// Strip trailing zero bits so that n is odd (or zero).
Dyadic normalized(Dyadic d) {
  if (d.n == 0) {
    d.e = 0;
    return d;
  }
  const bool negative = d.n < 0;
  cpp_int magnitude = negative ? cpp_int(-d.n) : d.n;
  const unsigned zeros = boost::multiprecision::lsb(magnitude);
  magnitude >>= zeros;
  d.n = negative ? cpp_int(-magnitude) : magnitude;
  d.e += static_cast<int>(zeros);
  return d;
}

Dyadic dyadic(long long n, int e) { return normalized(Dyadic{cpp_int(n), e}); }

Dyadic negate(const Dyadic& d) { return Dyadic{cpp_int(-d.n), d.e}; }

Dyadic abs_of(const Dyadic& d) { return d.n < 0 ? negate(d) : d; }

Dyadic subtract(const Dyadic& a, const Dyadic& b) {
  const int e = std::min(a.e, b.e);
  const cpp_int an = a.n << (a.e - e);
  const cpp_int bn = b.n << (b.e - e);
  return normalized(Dyadic{an - bn, e});
}

int sign_of(const Dyadic& d) { return d.n < 0 ? -1 : (d.n > 0 ? 1 : 0); }

// Exact three-way comparison of two dyadics.
int compare(const Dyadic& a, const Dyadic& b) {
  const int sa = sign_of(a), sb = sign_of(b);
  if (sa != sb) return sa < sb ? -1 : 1;
  if (sa == 0) return 0;
  const cpp_int ma = sa < 0 ? cpp_int(-a.n) : a.n;
  const cpp_int mb = sb < 0 ? cpp_int(-b.n) : b.n;
  // Position of the leading bit decides unless equal.
  const long long ta = static_cast<long long>(boost::multiprecision::msb(ma)) + a.e;
  const long long tb = static_cast<long long>(boost::multiprecision::msb(mb)) + b.e;
  int magnitude_order;
  if (ta != tb) {
    magnitude_order = ta < tb ? -1 : 1;
  } else {
    const int e = std::min(a.e, b.e);
    const cpp_int xa = ma << (a.e - e);
    const cpp_int xb = mb << (b.e - e);
    magnitude_order = xa < xb ? -1 : (xa > xb ? 1 : 0);
  }
  return sa > 0 ? magnitude_order : -magnitude_order;
}

// Exact dyadic of a finite double (53-bit significand from frexp).
Dyadic exact_of_double(double v) {
  if (v == 0.0) return Dyadic{cpp_int(0), 0};
  int exponent = 0;
  const double m = std::frexp(v, &exponent);  // |m| in [0.5, 1)
  const long long integer = static_cast<long long>(std::ldexp(m, 53));
  return dyadic(integer, exponent - 53);
}

// Decode a bfloat16 pattern through float32: bits << 16 into a float, then an
// exact rational from frexp. Only for finite patterns.
float float_of_pattern(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

bool oracle_finite(uint16_t b) { return std::isfinite(float_of_pattern(b)); }

Dyadic decode(uint16_t b) {
  const float f = float_of_pattern(b);
  int exponent = 0;
  const float m = std::frexp(f, &exponent);  // |m| in [0.5, 1), 24 bits
  const long long integer = static_cast<long long>(std::ldexp(static_cast<double>(m), 24));
  return dyadic(integer, exponent - 24);
}

// log2 of U(b) per docs/definitions.md §3, from the bit fields.
int oracle_ulp_log2(uint16_t b, bf::ZeroUlp rule) {
  const int E = (b >> 7) & 0xFF;
  const int M = b & 0x7F;
  if (E >= 1 && E <= 254) return E - 134;
  if (E == 0 && M != 0) return -133;
  return rule == bf::ZeroUlp::min_normal ? -126 : -133;  // zero
}

// x = (a - b) / U(b), exact. Only for finite a, b.
Dyadic oracle_x(uint16_t a, uint16_t b, bf::ZeroUlp rule) {
  Dyadic d = subtract(decode(a), decode(b));
  d.e -= oracle_ulp_log2(b, rule);
  return normalized(d);
}

bool is_integer(const Dyadic& x) { return x.n == 0 || x.e >= 0; }

// r = |x - nearest integer|, exact.
Dyadic distance_to_integer(const Dyadic& x) {
  if (is_integer(x)) return Dyadic{cpp_int(0), 0};
  const unsigned t = static_cast<unsigned>(-x.e);
  const cpp_int magnitude = x.n < 0 ? cpp_int(-x.n) : x.n;
  const cpp_int denominator = cpp_int(1) << t;
  const cpp_int remainder = magnitude % denominator;
  const cpp_int complement = denominator - remainder;
  return normalized(Dyadic{remainder < complement ? remainder : complement, x.e});
}

int oracle_class_of(const Dyadic& x, double epsilon) {
  const Dyadic r = distance_to_integer(x);
  if (r.n == 0) return bf::kExact;
  const Dyadic eps = exact_of_double(epsilon);
  if (compare(r, eps) < 0) return bf::kAlmost;
  const Dyadic gap = abs_of(subtract(r, dyadic(1, -1)));
  if (compare(gap, eps) < 0) return bf::kHalf;
  return bf::kNonInteger;
}

int oracle_class(uint16_t a, uint16_t b, bf::ZeroUlp rule, double epsilon) {
  if (!oracle_finite(a) || !oracle_finite(b)) return bf::kNonfinite;
  return oracle_class_of(oracle_x(a, b, rule), epsilon);
}

// Correct rounding of an exact dyadic to double: nearest, ties to even,
// with gradual underflow and overflow to infinity.
double round_to_double(const Dyadic& x) {
  if (x.n == 0) return 0.0;
  const bool negative = x.n < 0;
  const cpp_int magnitude = negative ? cpp_int(-x.n) : x.n;
  const long long length = static_cast<long long>(boost::multiprecision::msb(magnitude)) + 1;
  // Bits to drop: keep 53 bits, and never keep a bit below 2^-1074.
  long long drop = std::max(length - 53, -1074LL - x.e);
  cpp_int kept;
  long long exponent;
  if (drop <= 0) {
    kept = magnitude;
    exponent = x.e;
  } else {
    kept = magnitude >> static_cast<unsigned>(drop);
    const cpp_int remainder = magnitude - (kept << static_cast<unsigned>(drop));
    const cpp_int half = cpp_int(1) << static_cast<unsigned>(drop - 1);
    if (remainder > half || (remainder == half && (kept & 1) != 0)) kept += 1;
    exponent = x.e + drop;
  }
  // kept <= 2^53 here, exactly representable; the scaling by 2^exponent is
  // exact unless it overflows (then infinity, the correct rounding).
  const uint64_t k = kept.convert_to<uint64_t>();
  double value = static_cast<double>(k);
  if (exponent > 2000)
    value = std::numeric_limits<double>::infinity();
  else
    value = std::ldexp(value, static_cast<int>(exponent));
  return negative ? -value : value;
}

// round_half_even(x), exact.
cpp_int round_half_even(const Dyadic& x) {
  if (x.n == 0) return 0;
  if (x.e >= 0) return x.n << x.e;
  const bool negative = x.n < 0;
  const cpp_int magnitude = negative ? cpp_int(-x.n) : x.n;
  const unsigned t = static_cast<unsigned>(-x.e);
  cpp_int q = magnitude >> t;
  const cpp_int remainder = magnitude - (q << t);
  const cpp_int half = cpp_int(1) << (t - 1);
  if (remainder > half || (remainder == half && (q & 1) != 0)) q += 1;
  return negative ? cpp_int(-q) : q;
}

int oracle_width(const cpp_int& v) {
  for (int bits = 8, w = 0; bits <= 64; bits *= 2, ++w) {
    const cpp_int lo = -(cpp_int(1) << (bits - 1));
    const cpp_int hi = (cpp_int(1) << (bits - 1)) - 1;
    if (v >= lo && v <= hi) return w;
  }
  return bf::kNoInteger;
}

// x is exactly a float32 value: odd significand of at most 24 bits, lowest
// bit not below 2^-149, value at most (2^24 - 1) * 2^104.
bool oracle_exactly_float32(const Dyadic& x0) {
  const Dyadic x = normalized(x0);
  if (x.n == 0) return true;
  const cpp_int magnitude = x.n < 0 ? cpp_int(-x.n) : x.n;
  const long long length = static_cast<long long>(boost::multiprecision::msb(magnitude)) + 1;
  return length <= 24 && x.e >= -149 && length + x.e <= 128;
}

std::string hex(uint16_t b) {
  std::ostringstream s;
  s << "0x" << std::hex << b;
  return s.str();
}

std::string describe(uint16_t a, uint16_t b, bf::ZeroUlp rule) {
  return "a=" + hex(a) + " b=" + hex(b) +
         (rule == bf::ZeroUlp::min_normal ? " zero_ulp=min_normal" : " zero_ulp=min_subnormal");
}

// A broken header fails fast instead of flooding the log.
#ifndef LATDISP_TEST_MAX_FAILURES
#define LATDISP_TEST_MAX_FAILURES 20
#endif
constexpr int kMaxFailures = LATDISP_TEST_MAX_FAILURES;

const bf::ZeroUlp kRules[] = {bf::ZeroUlp::min_normal, bf::ZeroUlp::min_subnormal};

const double kEpsilons[] = {1e-6, 0.25, 0.3, 0.5, 0.75, 1e-300, 0x1p-60, 0x1p-7, 0x1p-9, 0.49999999999999994, 0x1p-200};

// The header's classification, with non-finite inputs handled the way its
// callers do (classify itself is only called for finite inputs).
int header_class(uint16_t a, uint16_t b, bf::ZeroUlp rule, double epsilon) {
  if (!bf::is_finite(a) || !bf::is_finite(b)) return bf::kNonfinite;
  return bf::classify(bf::exact_displacement(a, b, rule), epsilon);
}

// ============================================================================
// Input sets
// ============================================================================

std::vector<uint16_t> structured_patterns() {
  std::vector<uint16_t> positive = {0x0000, 0x0001, 0x0002, 0x0003, 0x003F, 0x0040, 0x0041, 0x007E, 0x007F};
  const int exponents[] = {1,   2,   3,   8,   50,  56,  57,  63,  64,  100, 118, 119, 120, 121, 126,
                           127, 128, 129, 133, 134, 135, 136, 150, 190, 197, 198, 199, 200, 253, 254};
  const int mantissas[] = {0, 1, 63, 64, 126, 127};
  for (int E : exponents)
    for (int M : mantissas) positive.push_back(static_cast<uint16_t>((E << 7) | M));
  // +Inf and NaNs (quiet, signalling-looking, all-ones mantissa).
  for (uint16_t s : {0x7F80, 0x7FC0, 0x7F81, 0x7FFF}) positive.push_back(s);
  std::vector<uint16_t> all;
  for (uint16_t p : positive) {
    all.push_back(p);
    all.push_back(static_cast<uint16_t>(p | 0x8000));
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return all;
}

// Random pairs: uniform patterns, and pairs close on the lattice (same or
// neighbouring binade), where the interesting classes live.
std::vector<std::pair<uint16_t, uint16_t>> random_pairs(size_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::pair<uint16_t, uint16_t>> pairs;
  pairs.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const uint64_t r = rng();
    const uint16_t b = static_cast<uint16_t>(r);
    uint16_t a;
    switch ((r >> 16) % 4) {
      case 0:
      case 1:
        a = static_cast<uint16_t>(r >> 32);
        break;
      case 2: {  // a few lattice steps away, possibly across binades/signs
        const int step = static_cast<int>((r >> 32) % 513) - 256;
        a = static_cast<uint16_t>(b + step);
        break;
      }
      default: {  // exponent field differing by a little, any mantissa/sign
        const int E = ((b >> 7) & 0xFF) + static_cast<int>((r >> 32) % 21) - 10;
        const int Ec = std::min(255, std::max(0, E));
        a = static_cast<uint16_t>(((r >> 40) & 0x8000) | (Ec << 7) | ((r >> 48) & 0x7F));
        break;
      }
    }
    pairs.emplace_back(a, b);
  }
  return pairs;
}

// ============================================================================
// Checks of one pair against the oracle
// ============================================================================

// Returns the number of failures (reported through gtest, capped by caller).
int check_pair(uint16_t a, uint16_t b, bf::ZeroUlp rule, const double* epsilons, size_t n_epsilons) {
  int failures = 0;
  for (size_t i = 0; i < n_epsilons; ++i) {
    const int expected = oracle_class(a, b, rule, epsilons[i]);
    const int got = header_class(a, b, rule, epsilons[i]);
    if (expected != got) {
      ++failures;
      ADD_FAILURE() << "classify " << describe(a, b, rule) << " eps=" << epsilons[i] << " expected " << expected
                    << " got " << got;
    }
  }
  if (!oracle_finite(a) || !oracle_finite(b)) return failures;

  const Dyadic x = oracle_x(a, b, rule);
  const bf::ExactDisplacement hx = bf::exact_displacement(a, b, rule);

  const double expected_double = round_to_double(x);
  const double got_double = bf::to_double(hx);
  if (std::memcmp(&expected_double, &got_double, sizeof(double)) != 0 &&
      !(expected_double == 0.0 && got_double == 0.0)) {
    ++failures;
    ADD_FAILURE() << "to_double " << describe(a, b, rule) << " expected " << expected_double << " got " << got_double;
  }

  const cpp_int rounded = round_half_even(x);
  const Dyadic abs_x = abs_of(x);
  const int width = oracle_width(rounded);
  const bool beyond_24 = compare(abs_x, dyadic(1, 24)) > 0;
  const bool beyond_53 = compare(abs_x, dyadic(1, 53)) > 0;
  const double rounded_double = round_to_double(Dyadic{rounded, 0});
  const bf::IntegerFacts facts = bf::integer_facts(hx);
  if (facts.width != width || facts.beyond_2_24 != beyond_24 || facts.beyond_2_53 != beyond_53 ||
      !(facts.rounded == rounded_double)) {
    ++failures;
    ADD_FAILURE() << "integer_facts " << describe(a, b, rule) << " x~" << expected_double
                  << " round_half_even(x)=" << rounded << " expected (width " << width << ", >2^24 " << beyond_24
                  << ", >2^53 " << beyond_53 << ", rounded " << rounded_double << ") got (" << facts.width << ", "
                  << facts.beyond_2_24 << ", " << facts.beyond_2_53 << ", " << facts.rounded << ")";
  }

  const bool f32 = oracle_exactly_float32(x);
  if (bf::exactly_float32(hx) != f32) {
    ++failures;
    ADD_FAILURE() << "exactly_float32 " << describe(a, b, rule) << " x~" << expected_double << " expected " << f32;
  }
  return failures;
}

// ============================================================================
// 0. Self-checks of the oracle (so that its failures are not blamed on the
//    header)
// ============================================================================

TEST(Bf16Oracle, RoundToDoubleIsCorrect) {
  EXPECT_EQ(round_to_double(dyadic(1, 0)), 1.0);
  EXPECT_EQ(round_to_double(dyadic(3, -1)), 1.5);
  // 2^53 + 1 ties to even 2^53; 2^53 + 3 ties to 2^53 + 4.
  EXPECT_EQ(round_to_double(Dyadic{(cpp_int(1) << 53) + 1, 0}), 9007199254740992.0);
  EXPECT_EQ(round_to_double(Dyadic{(cpp_int(1) << 53) + 3, 0}), 9007199254740996.0);
  // Just above a tie rounds up.
  EXPECT_EQ(round_to_double(Dyadic{((cpp_int(1) << 54) + 3), -1}), 9007199254740994.0);
  EXPECT_EQ(round_to_double(Dyadic{-((cpp_int(1) << 60) - 1), 0}), -0x1p60);
  EXPECT_EQ(round_to_double(dyadic(1, -1074)), 0x1p-1074);
  EXPECT_EQ(round_to_double(dyadic(1, -1075)), 0.0);  // tie to even (zero)
  EXPECT_EQ(round_to_double(dyadic(3, -1076)), 0x1p-1074);
  EXPECT_EQ(round_to_double(dyadic(1, 1024)), std::numeric_limits<double>::infinity());
  // Dyadics that are exact doubles come back unchanged.
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    const int64_t n = static_cast<int64_t>(rng() >> 12);  // < 2^52, exact
    const int e = static_cast<int>(rng() % 200) - 100;
    EXPECT_EQ(round_to_double(dyadic(n, e)), std::ldexp(static_cast<double>(n), e));
  }
}

TEST(Bf16Oracle, DecodeAndClassify) {
  EXPECT_EQ(round_to_double(decode(0x3F80)), 1.0);
  EXPECT_EQ(round_to_double(decode(0xC040)), -3.0);
  EXPECT_EQ(round_to_double(decode(0x0001)), 0x1p-133);
  EXPECT_EQ(round_to_double(decode(0x7F7F)), 0x1.FEp127);
  EXPECT_EQ(decode(0x8000).n, 0);
  // x = 2.5: half; x = 2.25: non-integer for eps 1e-6, almost for eps 0.3.
  EXPECT_EQ(oracle_class_of(dyadic(5, -1), 1e-6), bf::kHalf);
  EXPECT_EQ(oracle_class_of(dyadic(9, -2), 1e-6), bf::kNonInteger);
  EXPECT_EQ(oracle_class_of(dyadic(9, -2), 0.3), bf::kAlmost);
  // r = 1/4 with eps = 1/4: neither r < eps nor |r - 1/2| < eps.
  EXPECT_EQ(oracle_class_of(dyadic(9, -2), 0.25), bf::kNonInteger);
  EXPECT_EQ(oracle_class_of(dyadic(-7, -2), 1e-6), bf::kNonInteger);
  EXPECT_EQ(oracle_class_of(dyadic(-7, 0), 1e-6), bf::kExact);
  EXPECT_TRUE(oracle_exactly_float32(dyadic(0xFFFFFF, 104)));
  EXPECT_FALSE(oracle_exactly_float32(dyadic(0x1FFFFFF, 103)));
  EXPECT_FALSE(oracle_exactly_float32(dyadic(1, 128)));
  EXPECT_TRUE(oracle_exactly_float32(dyadic(1, 127)));
  EXPECT_TRUE(oracle_exactly_float32(dyadic(1, -149)));
  EXPECT_FALSE(oracle_exactly_float32(dyadic(1, -150)));
  EXPECT_EQ(oracle_width(cpp_int(127)), 0);
  EXPECT_EQ(oracle_width(cpp_int(128)), 1);
  EXPECT_EQ(oracle_width(cpp_int(-128)), 0);
  EXPECT_EQ(oracle_width(-(cpp_int(1) << 63)), 3);
  EXPECT_EQ(oracle_width(cpp_int(1) << 63), 4);
}

// ============================================================================
// 1. ULP
// ============================================================================

TEST(Bf16Lattice, UlpExponentAllPatterns) {
  for (int rule_index = 0; rule_index < 2; ++rule_index) {
    const bf::ZeroUlp rule = kRules[rule_index];
    for (uint32_t p = 0; p < 65536; ++p) {
      const uint16_t b = static_cast<uint16_t>(p);
      if (!oracle_finite(b)) continue;
      ASSERT_EQ(bf::ulp_exponent(b, rule), oracle_ulp_log2(b, rule)) << describe(b, b, rule);
    }
  }
  EXPECT_EQ(bf::ulp_exponent(0x7F7F, bf::ZeroUlp::min_normal), 120);
  EXPECT_EQ(bf::ulp_exponent(0xFF7F, bf::ZeroUlp::min_subnormal), 120);
  EXPECT_EQ(bf::ulp_exponent(0x0000, bf::ZeroUlp::min_normal), -126);
  EXPECT_EQ(bf::ulp_exponent(0x8000, bf::ZeroUlp::min_normal), -126);
  EXPECT_EQ(bf::ulp_exponent(0x0000, bf::ZeroUlp::min_subnormal), -133);
  EXPECT_EQ(bf::ulp_exponent(0x8000, bf::ZeroUlp::min_subnormal), -133);
  EXPECT_EQ(bf::ulp_exponent(0x0001, bf::ZeroUlp::min_normal), -133);
  EXPECT_EQ(bf::ulp_exponent(0x3F80, bf::ZeroUlp::min_normal), -7);  // ULP of 1 is 2^-7
}

// The ULP is the lattice spacing above |b|: the next pattern up in magnitude
// is |b| + U(b), checked through the float32 decode (max finite: 2^120).
TEST(Bf16Lattice, UlpIsSpacingAbove) {
  for (uint32_t p = 1; p < 0x7F7F; ++p) {
    const uint16_t b = static_cast<uint16_t>(p);
    const Dyadic spacing = subtract(decode(static_cast<uint16_t>(p + 1)), decode(b));
    ASSERT_EQ(compare(spacing, dyadic(1, bf::ulp_exponent(b, bf::ZeroUlp::min_normal))), 0) << hex(b);
    ASSERT_EQ(bf::ulp_exponent(static_cast<uint16_t>(p | 0x8000), bf::ZeroUlp::min_normal),
              bf::ulp_exponent(b, bf::ZeroUlp::min_normal));
  }
}

// ============================================================================
// 2. Lattice displacement against the oracle
// ============================================================================

TEST(Bf16Lattice, DisplacementStructuredPairs) {
  const std::vector<uint16_t> patterns = structured_patterns();
  ASSERT_GT(patterns.size(), 300u);
  int failures = 0;
  for (bf::ZeroUlp rule : kRules)
    for (uint16_t a : patterns)
      for (uint16_t b : patterns) {
        failures += check_pair(a, b, rule, kEpsilons, sizeof kEpsilons / sizeof kEpsilons[0]);
        ASSERT_LT(failures, kMaxFailures) << "too many failures";
      }
}

TEST(Bf16Lattice, DisplacementRandomPairs) {
  const auto pairs = random_pairs(3000000, 0x1a7d15u);
  const double epsilons[] = {1e-6, 0.3, 0x1p-60};
  int failures = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const bf::ZeroUlp rule = kRules[i & 1];
    failures += check_pair(pairs[i].first, pairs[i].second, rule, epsilons, 3);
    ASSERT_LT(failures, kMaxFailures) << "too many failures";
  }
}

// Classification only (cheaper), many more random pairs and every epsilon.
TEST(Bf16Lattice, ClassifyRandomPairsAllEpsilons) {
  const auto pairs = random_pairs(1000000, 0xc1a551f7u);
  int failures = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const bf::ZeroUlp rule = kRules[(i >> 1) & 1];
    const uint16_t a = pairs[i].first, b = pairs[i].second;
    const int got_nonfinite = header_class(a, b, rule, 1e-6) == bf::kNonfinite;
    if (!oracle_finite(a) || !oracle_finite(b)) {
      if (!got_nonfinite) {
        ++failures;
        ADD_FAILURE() << "nonfinite " << describe(a, b, rule);
      }
      continue;
    }
    const Dyadic x = oracle_x(a, b, rule);
    const bf::ExactDisplacement hx = bf::exact_displacement(a, b, rule);
    for (double eps : kEpsilons) {
      const int expected = oracle_class_of(x, eps);
      const int got = bf::classify(hx, eps);
      if (expected != got) {
        ++failures;
        ADD_FAILURE() << "classify " << describe(a, b, rule) << " eps=" << eps << " expected " << expected << " got "
                      << got;
      }
    }
    ASSERT_LT(failures, kMaxFailures) << "too many failures";
  }
}

// Hand-worked displacements.
TEST(Bf16Lattice, DisplacementHandWorked) {
  const auto rn = bf::ZeroUlp::min_normal;
  const auto rs = bf::ZeroUlp::min_subnormal;
  // 1 -> 1.0078125 is one ULP.
  EXPECT_EQ(bf::to_double(bf::exact_displacement(0x3F81, 0x3F80, rn)), 1.0);
  // 2 -> 1: U(2) = 2^-6, x = -64.
  EXPECT_EQ(bf::to_double(bf::exact_displacement(0x3F80, 0x4000, rn)), -64.0);
  // 2 -> 1.0078125: x = -63.5, a half.
  EXPECT_EQ(bf::to_double(bf::exact_displacement(0x3F81, 0x4000, rn)), -63.5);
  EXPECT_EQ(bf::classify(bf::exact_displacement(0x3F81, 0x4000, rn), 1e-6), bf::kHalf);
  // 4 -> 1.0078125: U(4) = 2^-5, x = -95.75.
  EXPECT_EQ(bf::to_double(bf::exact_displacement(0x3F81, 0x4080, rn)), -95.75);
  EXPECT_EQ(bf::classify(bf::exact_displacement(0x3F81, 0x4080, rn), 1e-6), bf::kNonInteger);
  // 0 -> min subnormal: 2^-7 under min-normal, 1 under min-subnormal.
  EXPECT_EQ(bf::to_double(bf::exact_displacement(0x0001, 0x0000, rn)), 0x1p-7);
  EXPECT_EQ(bf::to_double(bf::exact_displacement(0x0001, 0x8000, rs)), 1.0);
  // -0 -> +0 stays.
  EXPECT_EQ(bf::classify(bf::exact_displacement(0x0000, 0x8000, rn), 1e-6), bf::kExact);
  // max finite from min subnormal: x = (2^128 - 2^120) / 2^-133 - 1.
  const bf::ExactDisplacement big = bf::exact_displacement(0x7F7F, 0x0001, rn);
  EXPECT_EQ(bf::to_double(big), 0x1.FEp260);
  EXPECT_EQ(bf::integer_facts(big).width, bf::kNoInteger);
  EXPECT_FALSE(bf::exactly_float32(big));
  // -max finite -> +max finite: x = (2^129 - 2^121)/2^120 = 510.
  EXPECT_EQ(bf::to_double(bf::exact_displacement(0x7F7F, 0xFF7F, rn)), 510.0);
}

// ---- int64 boundaries of integer_facts --------------------------------------
// |x| in [2^62, 2^64] needs s = (E(a) - 134) - log2 U(b) in {55, 56, 57}. The
// header's x depends only on (significand(a), s, b / U(b)); the families below
// realise every such triple: a in the binade E(a) = s + 1 against every b with
// U(b) = 2^-133 (zeros under min-subnormal, all subnormals, E(b) = 1), a in the
// top binade against E(b) = 254 - s, and zero b under min-normal. Every pair of
// these families with |x| in [2^62, 2^64] (decided by the oracle) is tested.
TEST(Bf16Lattice, IntegerFactsNearInt64Bounds) {
  struct Family {
    int Ea;
    std::vector<uint16_t> bs;
    bf::ZeroUlp rule;
  };
  std::vector<Family> families;
  for (int s = 54; s <= 58; ++s) {
    Family f1{s + 1, {}, bf::ZeroUlp::min_subnormal};
    for (uint32_t m = 0; m < 256; ++m) {  // E(b) in {0, 1}, both signs, zeros too
      f1.bs.push_back(static_cast<uint16_t>(m));
      f1.bs.push_back(static_cast<uint16_t>(m | 0x8000));
    }
    families.push_back(f1);
    Family f2{254, {}, bf::ZeroUlp::min_normal};
    for (uint32_t m = 0; m < 128; ++m) {
      const uint16_t b = static_cast<uint16_t>(((254 - s) << 7) | m);
      f2.bs.push_back(b);
      f2.bs.push_back(static_cast<uint16_t>(b | 0x8000));
    }
    families.push_back(f2);
    Family f3{s + 8, {0x0000, 0x8000}, bf::ZeroUlp::min_normal};
    families.push_back(f3);
    Family f4{200, {}, bf::ZeroUlp::min_subnormal};
    for (uint32_t m = 0; m < 128; ++m) {
      const uint16_t b = static_cast<uint16_t>(((200 - s) << 7) | m);
      f4.bs.push_back(b);
      f4.bs.push_back(static_cast<uint16_t>(b | 0x8000));
    }
    families.push_back(f4);
  }
  const Dyadic lo = dyadic(1, 62), hi = dyadic(1, 64);
  const double eps[] = {1e-6};
  size_t tested = 0, in_int64 = 0, outside = 0;
  int failures = 0;
  for (const Family& f : families)
    for (uint32_t m = 0; m < 256; ++m) {
      const uint16_t a = static_cast<uint16_t>(((m & 0x80) << 8) | (f.Ea << 7) | (m & 0x7F));
      for (uint16_t b : f.bs) {
        const Dyadic x = oracle_x(a, b, f.rule);
        const Dyadic ax = abs_of(x);
        if (compare(ax, lo) < 0 || compare(ax, hi) > 0) continue;
        ++tested;
        if (oracle_width(round_half_even(x)) == bf::kInt64)
          ++in_int64;
        else
          ++outside;
        failures += check_pair(a, b, f.rule, eps, 1);
        ASSERT_LT(failures, kMaxFailures);
      }
    }
  EXPECT_GT(tested, 100000u);
  EXPECT_GT(in_int64, 1000u);
  EXPECT_GT(outside, 1000u);

  // The exact edges, worked by hand: a = +-2^-70 (E = 57), b = +-min subnormal
  // or zero, U(b) = 2^-133, so x = +-2^63 -+ {1, 0}.
  const auto rs = bf::ZeroUlp::min_subnormal;
  struct Edge {
    uint16_t a, b;
    int width;
  } edges[] = {
      {0x1C80, 0x0001, bf::kInt64},      // 2^63 - 1
      {0x1C80, 0x0000, bf::kNoInteger},  // 2^63
      {0x1C80, 0x8001, bf::kNoInteger},  // 2^63 + 1
      {0x9C80, 0x0001, bf::kNoInteger},  // -2^63 - 1
      {0x9C80, 0x8000, bf::kInt64},      // -2^63
      {0x9C80, 0x8001, bf::kInt64},      // -2^63 + 1
  };
  for (const Edge& e : edges) {
    const bf::IntegerFacts facts = bf::integer_facts(bf::exact_displacement(e.a, e.b, rs));
    EXPECT_EQ(facts.width, e.width) << describe(e.a, e.b, rs);
    EXPECT_TRUE(facts.beyond_2_53);
    EXPECT_EQ(std::fabs(facts.rounded), 0x1p63);
  }
}

// Edges of the smaller widths and of 2^24 / 2^53, worked by hand.
TEST(Bf16Lattice, IntegerFactsSmallEdges) {
  const auto rn = bf::ZeroUlp::min_normal;
  // b = 1 (U = 2^-7). a = 1 + 127/128 ... use a = 2 (0x4000): x = 128 -> int16.
  EXPECT_EQ(bf::integer_facts(bf::exact_displacement(0x4000, 0x3F80, rn)).width, bf::kInt16);
  // a = 1.9921875 (0x3FFF): x = 127 -> int8.
  EXPECT_EQ(bf::integer_facts(bf::exact_displacement(0x3FFF, 0x3F80, rn)).width, bf::kInt8);
  // b = 0 under min-normal: x = a / 2^-126. a = 2^-102 (E = 25): x = 2^24,
  // not beyond 2^24; the next value up is.
  bf::IntegerFacts f = bf::integer_facts(bf::exact_displacement(25 << 7, 0x0000, rn));
  EXPECT_EQ(f.rounded, 0x1p24);
  EXPECT_FALSE(f.beyond_2_24);
  EXPECT_EQ(f.width, bf::kInt32);
  f = bf::integer_facts(bf::exact_displacement((25 << 7) | 1, 0x0000, rn));
  EXPECT_TRUE(f.beyond_2_24);
  // x = 2^53 exactly (a = 2^-73, E = 54), and just above.
  f = bf::integer_facts(bf::exact_displacement(54 << 7, 0x0000, rn));
  EXPECT_FALSE(f.beyond_2_53);
  EXPECT_TRUE(f.beyond_2_24);
  EXPECT_EQ(f.width, bf::kInt64);
  f = bf::integer_facts(bf::exact_displacement((54 << 7) | 1, 0x0000, rn));
  EXPECT_TRUE(f.beyond_2_53);
  // Round half even of a fraction: 2 -> 1.0078125 is x = -63.5 -> -64;
  // 2 -> 1.0234375 is x = -62.5 -> -62.
  f = bf::integer_facts(bf::exact_displacement(0x3F83, 0x4000, rn));
  EXPECT_EQ(f.rounded, -62.0);
  f = bf::integer_facts(bf::exact_displacement(0x3F81, 0x4000, rn));
  EXPECT_EQ(f.rounded, -64.0);
  EXPECT_EQ(f.width, bf::kInt8);
  // Ties with an odd b / U(b): the tie must be broken on x itself, not on
  // a / U(b) before subtracting b / U(b).
  // 2.015625 -> 1.0078125: x = 64.5 - 129 = -64.5 -> -64.
  f = bf::integer_facts(bf::exact_displacement(0x3F81, 0x4001, rn));
  EXPECT_EQ(f.rounded, -64.0);
  // b = 129 * 2^-132 (E = 2, M = 1) -> a = 2^-133: x = 0.5 - 129 = -128.5 ->
  // -128, which fits int8.
  for (bf::ZeroUlp rule : kRules) {
    f = bf::integer_facts(bf::exact_displacement(0x0001, 0x0101, rule));
    EXPECT_EQ(f.rounded, -128.0);
    EXPECT_EQ(f.width, bf::kInt8);
  }
}

// ============================================================================
// 3. Exact facts of docs/definitions.md §4
// ============================================================================

void check_integrality_facts(uint16_t a, uint16_t b, bf::ZeroUlp rule, int* failures) {
  if (!oracle_finite(a) || !oracle_finite(b)) return;
  const int Ea = (a >> 7) & 0xFF, Eb = (b >> 7) & 0xFF;
  const bool b_subnormal = Eb == 0 && (b & 0x7F) != 0;
  const bool b_zero = (b & 0x7FFF) == 0;
  const Dyadic x = oracle_x(a, b, rule);
  const bool integer = is_integer(x);
  const bool header_integer = bf::classify(bf::exact_displacement(a, b, rule), 1e-6) == bf::kExact;
  if (integer != header_integer) {
    ++*failures;
    ADD_FAILURE() << "integrality " << describe(a, b, rule);
  }
  if ((Ea >= Eb && Eb >= 1) || b_subnormal) {
    if (!integer) {
      ++*failures;
      ADD_FAILURE() << "x must be an integer: " << describe(a, b, rule);
    }
  }
  if (!integer) {
    const bool allowed = Ea < Eb || (b_zero && rule == bf::ZeroUlp::min_normal);
    if (!allowed) {
      ++*failures;
      ADD_FAILURE() << "unexpected fraction: " << describe(a, b, rule);
    }
  }
}

TEST(Bf16Lattice, IntegralityFacts) {
  const std::vector<uint16_t> patterns = structured_patterns();
  int failures = 0;
  size_t fractions_finer = 0, fractions_zero = 0;
  for (bf::ZeroUlp rule : kRules)
    for (uint16_t a : patterns)
      for (uint16_t b : patterns) {
        check_integrality_facts(a, b, rule, &failures);
        if (oracle_finite(a) && oracle_finite(b) && !is_integer(oracle_x(a, b, rule))) {
          if ((b & 0x7FFF) == 0)
            ++fractions_zero;
          else
            ++fractions_finer;
        }
        ASSERT_LT(failures, kMaxFailures);
      }
  // Both sources of fractions do occur.
  EXPECT_GT(fractions_finer, 0u);
  EXPECT_GT(fractions_zero, 0u);
  const auto pairs = random_pairs(300000, 0xfac75u);
  for (size_t i = 0; i < pairs.size(); ++i) {
    check_integrality_facts(pairs[i].first, pairs[i].second, kRules[i & 1], &failures);
    ASSERT_LT(failures, kMaxFailures);
  }
}

// ============================================================================
// 4. Lattice position
// ============================================================================

TEST(Bf16Lattice, LatticePositionConsecutive) {
  std::vector<uint16_t> finite;
  for (uint32_t p = 0; p < 65536; ++p)
    if (oracle_finite(static_cast<uint16_t>(p))) finite.push_back(static_cast<uint16_t>(p));
  ASSERT_EQ(finite.size(), 65536u - 256u);
  // Sort by exact value (the float32 decode of a bfloat16 is exact in double).
  std::stable_sort(finite.begin(), finite.end(), [](uint16_t x, uint16_t y) {
    return static_cast<double>(float_of_pattern(x)) < static_cast<double>(float_of_pattern(y));
  });
  EXPECT_EQ(bf::lattice_position(0x0000), 0);
  EXPECT_EQ(bf::lattice_position(0x8000), 0);
  for (size_t i = 1; i < finite.size(); ++i) {
    const uint16_t lo = finite[i - 1], hi = finite[i];
    const int c = compare(decode(lo), decode(hi));
    ASSERT_LE(c, 0);
    const int step = bf::lattice_position(hi) - bf::lattice_position(lo);
    if (c == 0) {
      ASSERT_EQ(step, 0) << hex(lo) << " " << hex(hi);  // only +0 / -0
      ASSERT_EQ(lo & 0x7FFF, 0);
    } else {
      ASSERT_EQ(step, 1) << hex(lo) << " " << hex(hi);
    }
  }
  EXPECT_EQ(bf::lattice_position(0x7F7F) - bf::lattice_position(0xFF7F), 2 * 0x7F7F);
}

// ============================================================================
// 5. Seed arithmetic (docs/definitions.md §13): plain float32 scalar reference
// ============================================================================

float ref_bf16_to_float(uint16_t b) { return float_of_pattern(b); }

// float32 -> bfloat16, round to nearest even on the 16 dropped bits; NaN ->
// 0x7FC0 (PyTorch's convention).
uint16_t ref_float_to_bf16(float f) {
  if (std::isnan(f)) return 0x7FC0;
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  uint32_t upper = bits >> 16;
  const uint32_t lower = bits & 0xFFFF;
  if (lower > 0x8000 || (lower == 0x8000 && (upper & 1))) upper += 1;
  return static_cast<uint16_t>(upper);
}

// c10's BFloat16 nextafter (musl-style bit stepping).
uint16_t ref_nextafter(uint16_t from, uint16_t to) {
  const float ff = ref_bf16_to_float(from), ft = ref_bf16_to_float(to);
  if (ff != ff || ft != ft) return ref_float_to_bf16(ff + ft);
  if (from == to) return from;
  const uint16_t abs_from = from & 0x7FFF, abs_to = to & 0x7FFF;
  if (abs_from == 0) {
    if (abs_to == 0) return to;
    return static_cast<uint16_t>((to & 0x8000) | 1);
  }
  if (abs_from > abs_to || ((from ^ to) & 0x8000)) return static_cast<uint16_t>(from - 1);
  return static_cast<uint16_t>(from + 1);
}

uint16_t ref_seed_ulp(uint16_t b) {
  const float v = ref_bf16_to_float(b);
  if (v == 0.0f) return ref_float_to_bf16(std::ldexp(1.0f, -126));
  const uint16_t c = ref_float_to_bf16(std::fabs(v));
  const float cf = ref_bf16_to_float(c);
  const uint16_t target = ref_float_to_bf16(cf + 1.0f);
  const uint16_t n = ref_nextafter(c, target);
  return ref_float_to_bf16(ref_bf16_to_float(n) - cf);
}

float ref_seed_x(uint16_t a, uint16_t b) {
  const float delta = ref_bf16_to_float(ref_float_to_bf16(ref_bf16_to_float(a) - ref_bf16_to_float(b)));
  return delta / ref_bf16_to_float(ref_seed_ulp(b));
}

int ref_seed_class(float x, float eps) {
  if (!std::isfinite(x)) return bf::kNonfinite;
  const float frac = std::fabs(x - std::floor(x));
  if (frac == 0.0f) return bf::kExact;
  if (frac < eps) return bf::kAlmost;
  if (std::fabs(frac - 0.5f) < eps) return bf::kHalf;
  return bf::kNonInteger;
}

bool same_float(float x, float y) {
  if (std::isnan(x) && std::isnan(y)) return true;
  return std::memcmp(&x, &y, sizeof x) == 0;
}

TEST(Bf16Seed, SeedUlpAllPatterns) {
  for (uint32_t p = 0; p < 65536; ++p) {
    const uint16_t b = static_cast<uint16_t>(p);
    const uint16_t expected = ref_seed_ulp(b), got = bf::seed_ulp(b);
    ASSERT_TRUE(same_float(ref_bf16_to_float(expected), ref_bf16_to_float(got)))
        << hex(b) << " expected " << hex(expected) << " got " << hex(got);
  }
}

TEST(Bf16Seed, SeedUlpHandWorked) {
  for (uint32_t p = 0; p < 65536; ++p) {
    const uint16_t b = static_cast<uint16_t>(p);
    const float v = ref_bf16_to_float(b);
    const float u = ref_bf16_to_float(bf::seed_ulp(b));
    const int E = (b >> 7) & 0xFF, M = b & 0x7F;
    if (!std::isfinite(v)) {
      EXPECT_TRUE(std::isnan(u)) << hex(b);
    } else if (v == 0.0f) {
      EXPECT_EQ(u, std::ldexp(1.0f, -126)) << hex(b);
    } else if (std::fabs(v) >= 512.0f) {
      EXPECT_EQ(u, 0.0f) << hex(b);
    } else if (std::fabs(v) >= 256.0f) {
      EXPECT_EQ(u, (M % 2 == 0) ? 0.0f : 2.0f) << hex(b);
    } else if (E >= 1) {
      EXPECT_EQ(u, std::ldexp(1.0f, E - 134)) << hex(b);  // the true ULP
    } else {
      EXPECT_EQ(u, std::ldexp(1.0f, -133)) << hex(b);  // subnormal: its true ULP too
    }
  }
  EXPECT_EQ(ref_bf16_to_float(bf::seed_ulp(0x7F7F)), 0.0f);
  EXPECT_EQ(ref_bf16_to_float(bf::seed_ulp(0xFF7F)), 0.0f);
  EXPECT_EQ(ref_bf16_to_float(bf::seed_ulp(0x4380)), 0.0f);  // 256
  EXPECT_EQ(ref_bf16_to_float(bf::seed_ulp(0x4381)), 2.0f);  // 258
  EXPECT_EQ(ref_bf16_to_float(bf::seed_ulp(0x437F)), 1.0f);  // 255
  EXPECT_EQ(ref_bf16_to_float(bf::seed_ulp(0x3F80)), 0.0078125f);
  EXPECT_EQ(bf::seed_ulp(0x0000), 0x0080);
  EXPECT_EQ(bf::seed_ulp(0x8000), 0x0080);
  // nextafter(1, 2) = 1.0078125.
  EXPECT_EQ(ref_bf16_to_float(bf::next_after(0x3F80, 0x4000)), 1.0078125f);
  EXPECT_EQ(ref_bf16_to_float(ref_nextafter(0x3F80, 0x4000)), 1.0078125f);
  // nextafter toward smaller magnitude / across zero.
  EXPECT_EQ(bf::next_after(0x3F80, 0x0000), 0x3F7F);
  EXPECT_EQ(bf::next_after(0x0000, 0x8001), 0x8001);
  EXPECT_EQ(bf::next_after(0x8000, 0x0000), 0x0000);
  // U = 0: moves give +-Inf, staying gives NaN.
  EXPECT_EQ(bf::seed_displacement(0x4480, 0x4400), std::numeric_limits<float>::infinity());
  EXPECT_EQ(bf::seed_displacement(0x4300, 0x4400), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(bf::seed_displacement(0x4400, 0x4400)));
  EXPECT_EQ(bf::seed_classify(bf::seed_displacement(0x4400, 0x4400), 1e-6f), bf::kNonfinite);
}

void check_seed_pair(uint16_t a, uint16_t b, int* failures) {
  const float expected = ref_seed_x(a, b);
  const float got = bf::seed_displacement(a, b);
  if (!same_float(expected, got)) {
    ++*failures;
    ADD_FAILURE() << "seed_displacement a=" << hex(a) << " b=" << hex(b) << " expected " << expected << " got " << got;
  }
  for (float eps : {1e-6f, 0.25f, 0.3f, 0.5f, 0.75f, 0x1p-60f}) {
    const int ce = ref_seed_class(expected, eps), cg = bf::seed_classify(expected, eps);
    if (ce != cg) {
      ++*failures;
      ADD_FAILURE() << "seed_classify x=" << expected << " (a=" << hex(a) << " b=" << hex(b) << ") eps=" << eps
                    << " expected " << ce << " got " << cg;
    }
  }
}

TEST(Bf16Seed, SeedDisplacementAndClassify) {
  const std::vector<uint16_t> patterns = structured_patterns();
  int failures = 0;
  for (uint16_t a : patterns)
    for (uint16_t b : patterns) {
      check_seed_pair(a, b, &failures);
      ASSERT_LT(failures, kMaxFailures);
    }
  const auto pairs = random_pairs(1000000, 0x5eedu);
  for (const auto& p : pairs) {
    check_seed_pair(p.first, p.second, &failures);
    ASSERT_LT(failures, kMaxFailures);
  }
  // seed_classify on awkward floats directly.
  const float values[] = {0.0f,
                          -0.0f,
                          2.5f,
                          -2.5f,
                          -0.999999f,
                          0.999999f,
                          1e-7f,
                          -1e-7f,
                          8388607.5f,
                          -8388607.5f,
                          8388608.0f,
                          1e30f,
                          -1e30f,
                          0x1p-149f,
                          -0x1p-149f,
                          3.25f,
                          -3.25f,
                          0.5000005f,
                          std::numeric_limits<float>::infinity(),
                          std::nanf("")};
  for (float v : values)
    for (float eps : {1e-6f, 0.25f, 0.3f, 0.5f, 0.75f})
      EXPECT_EQ(bf::seed_classify(v, eps), ref_seed_class(v, eps)) << v << " eps " << eps;
  // Asymmetry: just below an integer is a non-integer, just above is almost.
  EXPECT_EQ(bf::seed_classify(-0.9999999f, 1e-6f), bf::kAlmost);  // floor -1, frac ~1e-7
  EXPECT_EQ(bf::seed_classify(0.9999999f, 1e-6f), bf::kNonInteger);
}

}  // namespace
