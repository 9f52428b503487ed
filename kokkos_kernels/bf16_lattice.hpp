// Bit-level rules of the bfloat16 lattice: fields, ULP, exact lattice
// displacement and its classification. Pure integer / exactly-rounded double
// arithmetic, usable on the host, in kernels and in tests alike.
#pragma once

#include <Kokkos_Core.hpp>

#include "kokkos_kernels/kokkos_compat.hpp"

#include <cstdint>
#include <cstring>

namespace latdisp {
namespace bf16 {

// --- fields -----------------------------------------------------------------
KOKKOS_INLINE_FUNCTION int sign_bit(uint16_t b) { return (b >> 15) & 1; }
KOKKOS_INLINE_FUNCTION int exponent_field(uint16_t b) { return (b >> 7) & 0xFF; }
KOKKOS_INLINE_FUNCTION int mantissa_field(uint16_t b) { return b & 0x7F; }
KOKKOS_INLINE_FUNCTION bool is_finite(uint16_t b) { return exponent_field(b) != 255; }
KOKKOS_INLINE_FUNCTION bool is_zero(uint16_t b) { return (b & 0x7FFF) == 0; }
KOKKOS_INLINE_FUNCTION bool is_subnormal(uint16_t b) { return exponent_field(b) == 0 && mantissa_field(b) != 0; }

// Which ULP a zero gets: the notebook's smallest normal (2^-126) or the
// smallest subnormal (2^-133).
enum class ZeroUlp : int { min_normal = 0, min_subnormal = 1 };

// Exact powers of two built from bits: ldexp is not always exact under
// fast-math flags and is slow on some devices. Valid for k in [-1022, 1023].
KOKKOS_INLINE_FUNCTION double pow2(int k) {
  const uint64_t bits = static_cast<uint64_t>(k + 1023) << 52;
  double value;
  memcpy(&value, &bits, sizeof value);
  return value;
}

// A finite value is significand(b) * 2^scale_exponent(b), both exact.
KOKKOS_INLINE_FUNCTION int32_t significand(uint16_t b) {
  const int32_t magnitude = exponent_field(b) > 0 ? 128 + mantissa_field(b) : mantissa_field(b);
  return sign_bit(b) ? -magnitude : magnitude;
}
KOKKOS_INLINE_FUNCTION int scale_exponent(uint16_t b) {
  const int e = exponent_field(b);
  return (e > 0 ? e : 1) - 134;
}

// The signed significand (1.m with 7 fraction bits, as an integer 128..255,
// negated for a negative sign) of a normal value, branch-free so that the
// kernels' fast paths vectorize; for other values it is meaningless.
KOKKOS_FORCEINLINE_FUNCTION int32_t normal_signed_significand(int32_t bits) {
  const int32_t sign = -(bits >> 15);
  return (((bits & 0x7F) | 0x80) ^ sign) - sign;
}

// log2 of the ULP U(b) of a finite value (docs/definitions.md §3).
KOKKOS_INLINE_FUNCTION int ulp_exponent(uint16_t b, ZeroUlp zero_rule) {
  if (is_zero(b)) return zero_rule == ZeroUlp::min_normal ? -126 : -133;
  return scale_exponent(b);
}

// Position on the ordered bfloat16 lattice: consecutive finite values differ
// by one, +0 and -0 share position 0.
KOKKOS_INLINE_FUNCTION int32_t lattice_position(uint16_t b) {
  const int32_t magnitude = b & 0x7FFF;
  return sign_bit(b) ? -magnitude : magnitude;
}

// --- exact displacement -------------------------------------------------------
// x = (a - b) / U(b) = qa * 2^s - qb exactly, with |qa|, |qb| <= 255 and
// s in [-253, 253]: b / U(b) is always an integer, a / U(b) a dyadic.
struct ExactDisplacement {
  int32_t qa;
  int32_t s;
  int32_t qb;
};

KOKKOS_INLINE_FUNCTION ExactDisplacement exact_displacement(uint16_t a, uint16_t b, ZeroUlp zero_rule) {
  ExactDisplacement x;
  x.qa = significand(a);
  x.s = scale_exponent(a) - ulp_exponent(b, zero_rule);
  x.qb = significand(b);
  return x;
}

// The correctly rounded double of x: both operands are exact doubles, so the
// one IEEE subtraction rounds once, to nearest even.
KOKKOS_INLINE_FUNCTION double to_double(const ExactDisplacement& x) {
  return static_cast<double>(x.qa) * pow2(x.s) - static_cast<double>(x.qb);
}

enum DisplacementClass : int { kExact = 0, kAlmost = 1, kHalf = 2, kNonInteger = 3, kNonfinite = 4 };

// The class of x from its distance r = m / 2^t to the nearest integer
// (0 <= m <= 2^(t-1)), decided exactly for any epsilon > 0: every comparison
// is between exactly representable doubles. Shared by every element format.
KOKKOS_INLINE_FUNCTION int classify_remainder(uint64_t m, int t, double epsilon) {
  if (m == 0) return kExact;
  const double scaled_epsilon = epsilon * pow2(t);  // eps * 2^t, exact
  if (static_cast<double>(m) < scaled_epsilon) return kAlmost;
  // |r - 1/2| < eps  <=>  2^(t-1) - m < eps * 2^t
  bool half;
  if (t <= 53) {
    const int64_t gap = (int64_t(1) << (t - 1)) - static_cast<int64_t>(m);
    half = static_cast<double>(gap) < scaled_epsilon;
  } else {
    const double h = pow2(t - 1);
    if (scaled_epsilon >= h)
      half = true;
    else if (scaled_epsilon >= 0.5 * h)
      half = (h - scaled_epsilon) < static_cast<double>(m);  // Sterbenz: exact
    else
      half = false;  // 2^(t-1) - m > 2^(t-2) > eps * 2^t
  }
  return half ? kHalf : kNonInteger;
}

// Classification by r = distance of x to the nearest integer (docs/definitions.md §5),
// decided exactly for any epsilon > 0: r = m / 2^t with small integer m, and
// every comparison below is between exactly representable doubles.
KOKKOS_INLINE_FUNCTION int classify(const ExactDisplacement& x, double epsilon) {
  if (x.s >= 0 || x.qa == 0) return kExact;
  const int t = -x.s;
  const uint32_t magnitude = static_cast<uint32_t>(x.qa < 0 ? -x.qa : x.qa);
  uint32_t m;  // numerator of r, in [0, 2^(t-1)]
  if (t <= 9) {
    const uint32_t remainder = magnitude & ((1u << t) - 1u);
    const uint32_t complement = (1u << t) - remainder;
    m = remainder < complement ? remainder : complement;
  } else {
    m = magnitude;  // |qa| < 2^8 < 2^(t-1): the nearest integer of qa/2^t is 0
  }
  return classify_remainder(m, t, epsilon);
}

// Round half to even of numerator / 2^t for 1 <= t <= 62, exactly.
KOKKOS_INLINE_FUNCTION int64_t round_half_even_shift(int64_t numerator, int t) {
  const int64_t floor_q = numerator >= 0 ? (numerator >> t) : -((-numerator + (int64_t(1) << t) - 1) >> t);
  const int64_t remainder = numerator - floor_q * (int64_t(1) << t);  // in [0, 2^t)
  const int64_t half = int64_t(1) << (t - 1);
  if (remainder > half || (remainder == half && (floor_q & 1))) return floor_q + 1;
  return floor_q;
}

// Signed integer type widths: 0 = int8, 1 = int16, 2 = int32, 3 = int64,
// 4 = none of them.
enum IntegerWidth : int { kInt8 = 0, kInt16 = 1, kInt32 = 2, kInt64 = 3, kNoInteger = 4 };

KOKKOS_INLINE_FUNCTION int width_of(int64_t v) {
  if (v >= -128 && v <= 127) return kInt8;
  if (v >= -32768 && v <= 32767) return kInt16;
  if (v >= -2147483648LL && v <= 2147483647LL) return kInt32;
  return kInt64;
}

// Facts about round_half_even(x) and |x| that need more than a double.
struct IntegerFacts {
  int width;         // IntegerWidth of round_half_even(x)
  bool beyond_2_24;  // |x| > 2^24
  bool beyond_2_53;  // |x| > 2^53
  double rounded;    // round_half_even(x), correctly rounded to double
};

KOKKOS_INLINE_FUNCTION IntegerFacts integer_facts(const ExactDisplacement& x) {
  IntegerFacts f;
  if (x.s < 0) {  // |x| < 2^9
    // Round x = (qa - qb * 2^t) / 2^t as a whole: ties depend on qb's parity.
    const int t = -x.s;
    const int64_t r =
        t >= 10 ? -static_cast<int64_t>(x.qb)  // |qa / 2^t| < 1/4
                : round_half_even_shift(static_cast<int64_t>(x.qa) - static_cast<int64_t>(x.qb) * (int64_t(1) << t), t);
    f.width = width_of(r);
    f.beyond_2_24 = false;
    f.beyond_2_53 = false;
    f.rounded = static_cast<double>(r);
    return f;
  }
  f.rounded = to_double(x);      // x is an integer
  if (x.qa == 0 || x.s <= 54) {  // |qa * 2^s| < 2^62: exact in int64
    const int64_t v = static_cast<int64_t>(x.qa) * (int64_t(1) << x.s) - x.qb;
    const int64_t a = v < 0 ? -v : v;
    f.width = width_of(v);
    f.beyond_2_24 = a > (int64_t(1) << 24);
    f.beyond_2_53 = a > (int64_t(1) << 53);
    return f;
  }
  // s >= 55, qa != 0: |x| >= 2^55 - 255. x = Q * 2^55 - qb with Q = qa * 2^(s-55).
  f.beyond_2_24 = true;
  f.beyond_2_53 = true;
  f.width = kNoInteger;
  if (x.s - 55 <= 9) {
    const int64_t q = static_cast<int64_t>(x.qa) * (int64_t(1) << (x.s - 55));
    // int64 holds [-2^63, 2^63 - 1] = [-256 * 2^55, 256 * 2^55 - 1]
    const bool fits = (q > -256 && q < 256) || (q == 256 && x.qb >= 1) || (q == -256 && x.qb <= 0);
    if (fits) f.width = kInt64;
  }
  return f;
}

// hi - target == expected exactly, for exact doubles: the one rounding of
// hi - target gives `expected` and its TwoSum error is 0.
KOKKOS_INLINE_FUNCTION bool exact_difference_is(double hi, double target, double expected) {
  const double diff = hi - target;
  if (diff != expected) return false;
  const double b_virtual = diff - hi;
  const double error = (hi - (diff - b_virtual)) + (-target - b_virtual);
  return error == 0.0;
}

// Exact when x is a double (the one rounding in to_double loses nothing) and
// that double is a float.
KOKKOS_INLINE_FUNCTION bool exactly_float32(const ExactDisplacement& x) {
  const double hi = static_cast<double>(x.qa) * pow2(x.s);
  const double qb = static_cast<double>(x.qb);
  const double sum = hi - qb;  // x rounded once
  if (!exact_difference_is(hi, sum, qb)) return false;
  const double magnitude = sum < 0 ? -sum : sum;
  if (magnitude > 3.4028234663852886e38) return false;
  return static_cast<double>(static_cast<float>(sum)) == sum;
}

// --- the seed (notebook) arithmetic, docs/definitions.md §13 ----------------------------
KOKKOS_INLINE_FUNCTION float to_float(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float value;
  memcpy(&value, &bits, sizeof value);
  return value;
}

// float32 -> bfloat16, round to nearest even, as PyTorch does.
KOKKOS_INLINE_FUNCTION uint16_t round_to_bf16(float value) {
  if (value != value) return 0x7FC0;
  uint32_t bits;
  memcpy(&bits, &value, sizeof bits);
  const uint32_t rounding_bias = ((bits >> 16) & 1u) + 0x7FFFu;
  return static_cast<uint16_t>((bits + rounding_bias) >> 16);
}

KOKKOS_INLINE_FUNCTION bool is_nan(uint16_t b) { return exponent_field(b) == 255 && mantissa_field(b) != 0; }

// bfloat16 nextafter, bit stepping as c10/util/BFloat16-math.h does.
KOKKOS_INLINE_FUNCTION uint16_t next_after(uint16_t from, uint16_t to) {
  if (is_nan(from) || is_nan(to)) return round_to_bf16(to_float(from) + to_float(to));
  if (from == to) return from;
  const uint16_t sign_mask = 0x8000;
  const uint16_t abs_from = from & 0x7FFF;
  const uint16_t abs_to = to & 0x7FFF;
  if (abs_from == 0) {
    if (abs_to == 0) return to;
    return static_cast<uint16_t>((to & sign_mask) | 1u);
  }
  if (abs_from > abs_to || ((from ^ to) & sign_mask)) return static_cast<uint16_t>(from - 1);
  return static_cast<uint16_t>(from + 1);
}

// The notebook's ULP: zero -> 2^-126; else the bfloat16 step from |b| towards
// bf16(|b| + 1), which is 0 where |b| + 1 rounds back to |b|; NaN for Inf/NaN.
KOKKOS_INLINE_FUNCTION uint16_t seed_ulp(uint16_t b) {
  if (is_zero(b)) return 0x0080;  // 2^-126
  const uint16_t c = b & 0x7FFF;
  const uint16_t target = round_to_bf16(to_float(c) + 1.0f);
  const uint16_t next = next_after(c, target);
  return round_to_bf16(to_float(next) - to_float(c));
}

// x_seed = float32(bf16(a - b)) / float32(U_seed(b)), all in float32.
KOKKOS_INLINE_FUNCTION float seed_displacement(uint16_t a, uint16_t b) {
  const uint16_t delta = round_to_bf16(to_float(a) - to_float(b));
  return to_float(delta) / to_float(seed_ulp(b));
}

KOKKOS_INLINE_FUNCTION bool is_finite_float(float x) { return x - x == 0.0f; }

// The notebook's floor-based classification, in float32.
KOKKOS_INLINE_FUNCTION int seed_classify(float x, float epsilon) {
  if (!is_finite_float(x)) return kNonfinite;
  const float fl = kmath::floor(x);
  const float d = x - fl;
  const float frac = d < 0.0f ? -d : d;
  if (frac == 0.0f) return kExact;
  if (frac < epsilon) return kAlmost;
  const float h = frac - 0.5f;
  if ((h < 0.0f ? -h : h) < epsilon) return kHalf;
  return kNonInteger;
}

}  // namespace bf16
}  // namespace latdisp
