// The exact lattice rules (docs/definitions.md §2-§5) written once over the
// element-format traits: the exact displacement x = (a - b) / U(b), its class,
// its correctly rounded double and the facts about round_half_even(x) that
// need more than a double. Valid for significands of up to 24 bits (f32) and
// exponent spans up to f32's; pure integer / exactly-rounded double
// arithmetic, usable on the host, in kernels and in tests alike. bf16's
// 16-bit fast lanes (bf16_lattice.hpp, block_analysis.cpp) are the same rules
// specialised; tests check the two agree.
#pragma once

#include <Kokkos_Core.hpp>

#include <cstdint>

#include "kokkos_kernels/bf16_lattice.hpp"
#include "kokkos_kernels/formats/element_format.hpp"

namespace latdisp {
namespace formats {

// x = qa * 2^s - qb exactly: b / U(b) is always an integer, a / U(b) a dyadic;
// |qa|, |qb| < 2^(mantissa_bits + 1) and |s| <= the format's exponent span.
struct ExactX {
  int64_t qa;
  int32_t s;
  int64_t qb;
};

template <class F>
KOKKOS_INLINE_FUNCTION ExactX exact_x(typename F::bits_type a, typename F::bits_type b, ZeroUlp zero_rule) {
  using L = Lattice<F>;
  ExactX x;
  x.qa = L::significand(a);
  x.s = L::scale_exponent(a) - L::ulp_exponent(b, zero_rule);
  x.qb = L::significand(b);
  return x;
}

// The correctly rounded double of x: qa * 2^s is exact, one subtraction rounds.
KOKKOS_INLINE_FUNCTION double to_double(const ExactX& x) {
  return static_cast<double>(x.qa) * bf16::pow2(x.s) - static_cast<double>(x.qb);
}

// Classification by r = distance of x to the nearest integer, decided exactly
// for any epsilon > 0 (r = m / 2^t with m < 2^25).
template <class F>
KOKKOS_INLINE_FUNCTION int classify(const ExactX& x, double epsilon) {
  if (x.s >= 0 || x.qa == 0) return bf16::kExact;
  const int t = -x.s;
  const uint64_t magnitude = static_cast<uint64_t>(x.qa < 0 ? -x.qa : x.qa);
  uint64_t m;  // numerator of r, in [0, 2^(t-1)]
  if (t <= F::mantissa_bits + 2) {
    const uint64_t remainder = magnitude & ((uint64_t(1) << t) - 1u);
    const uint64_t complement = (uint64_t(1) << t) - remainder;
    m = remainder < complement ? remainder : complement;
  } else {
    m = magnitude;  // |qa| < 2^(mantissa_bits + 1) <= 2^(t-2): the nearest integer of qa/2^t is 0
  }
  return bf16::classify_remainder(m, t, epsilon);
}

// x with s < 0: |x| < 2^(mantissa_bits + 2); ties of the rounding depend on qb's parity.
template <class F>
KOKKOS_INLINE_FUNCTION bf16::IntegerFacts fractional_facts(const ExactX& x) {
  bf16::IntegerFacts f;
  const int t = -x.s;
  f.beyond_2_53 = false;
  if (t >= F::mantissa_bits + 3) {  // |qa / 2^t| < 1/4 and |qb| < 2^24
    f.rounded = static_cast<double>(-x.qb);
    f.width = bf16::width_of(-x.qb);
    f.beyond_2_24 = false;
    return f;
  }
  const int64_t numerator = x.qa - x.qb * (int64_t(1) << t);  // |.| < 2^52
  const int64_t r = bf16::round_half_even_shift(numerator, t);
  const int64_t a = numerator < 0 ? -numerator : numerator;
  f.rounded = static_cast<double>(r);
  f.width = bf16::width_of(r);
  f.beyond_2_24 = a > (int64_t(1) << (24 + t));  // |x| > 2^24
  return f;
}

// Facts about round_half_even(x) and |x| that need more than a double.
template <class F>
KOKKOS_INLINE_FUNCTION bf16::IntegerFacts integer_facts(const ExactX& x) {
  if (x.s < 0) return fractional_facts<F>(x);
  bf16::IntegerFacts f;
  f.rounded = to_double(x);  // x is an integer
  if (x.qa == 0 || x.s <= 61 - F::mantissa_bits) {  // |qa * 2^s| < 2^62: exact in int64
    const int64_t v = x.qa * (int64_t(1) << x.s) - x.qb;
    const int64_t a = v < 0 ? -v : v;
    f.width = bf16::width_of(v);
    f.beyond_2_24 = a > (int64_t(1) << 24);
    f.beyond_2_53 = a > (int64_t(1) << 53);
    return f;
  }
  // P = qa * 2^s, a multiple of 2^s > 2^25 > |qb|, exact as a double: x = P - qb
  // lies strictly between the multiples of 2^s next to P, so comparisons
  // with powers of two of at least 2^s are decided by P, and qb's sign at a tie.
  const double p = static_cast<double>(x.qa) * bf16::pow2(x.s);
  const double two53 = 9007199254740992.0, two63 = 9223372036854775808.0;
  const double abs_p = p < 0 ? -p : p;
  f.beyond_2_24 = true;  // |x| >= 2^s - 2^25 > 2^24
  f.beyond_2_53 = abs_p > two53 || (abs_p == two53 && (p > 0 ? x.qb < 0 : x.qb > 0));
  const bool fits = (p < two63 || (p == two63 && x.qb >= 1)) && (p > -two63 || (p == -two63 && x.qb <= 0));
  f.width = fits ? bf16::kInt64 : bf16::kNoInteger;
  return f;
}

// Exact when x is a double (the one rounding in to_double loses nothing) and
// that double is a float.
KOKKOS_INLINE_FUNCTION bool exactly_float32(const ExactX& x) {
  const double hi = static_cast<double>(x.qa) * bf16::pow2(x.s);
  const double qb = static_cast<double>(x.qb);
  const double sum = hi - qb;
  if (!bf16::exact_difference_is(hi, sum, qb)) return false;
  const double magnitude = sum < 0 ? -sum : sum;
  if (magnitude > 3.4028234663852886e38) return false;
  return static_cast<double>(static_cast<float>(sum)) == sum;
}

}  // namespace formats
}  // namespace latdisp
