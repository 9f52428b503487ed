// account_coordinate (declared in audit_block.hpp): the intended update and
// the class of one coordinate, from docs/optimizer.md §4, in double.
#pragma once

#include <Kokkos_Core.hpp>

#include <cmath>
#include <cstring>

namespace latdisp {
namespace optimizer {

// 1 increased, 2 decreased, 0 unchanged (in value), 3 either not finite.
// Finite values compare as their lattice positions (+0 and -0 both 0);
// without a branch (the kernel's flat loop), in 32 bits (every format here
// has at most 31 magnitude bits).
template <class F>
KOKKOS_FORCEINLINE_FUNCTION uint32_t state_shift(typename F::bits_type before, typename F::bits_type after) {
  using L = formats::Lattice<F>;
  const int32_t a = int32_t(L::lattice_position(before)), b = int32_t(L::lattice_position(after));
  const uint32_t shift = b > a ? 1u : (b < a ? 2u : 0u);
  return L::is_finite(before) && L::is_finite(after) ? shift : 3u;
}

// The exact double of a finite value of a rule's format (bf16 and f32
// values are float values: one conversion).
template <class F>
KOKKOS_FORCEINLINE_FUNCTION double value_of(typename F::bits_type b) {
  return static_cast<double>(Rounding<F>::to_float(b));
}

// v / bc2 correctly rounded, from the inverse y = 1 / bc2: q = v * y, then
// one correction q + (v - q * bc2) * y in fused multiply-adds (Markstein's
// step; the remainder is exact), where prepare_inverse found that this gives
// the quotient (no division: the accounting's loops wait on the divider).
KOKKOS_FORCEINLINE_FUNCTION double quotient_by_inverse(double v, const StepScalars& s) {
  const double q = v * s.inverse_bc2;
  return std::fma(std::fma(-q, s.bias_correction2, v), s.inverse_bc2, q);
}

// Sets s.inverse_bc2; whether quotient_by_inverse(v) is then v / bc2 for
// every bf16 value v (a finite v; a v that is not finite leaves its
// coordinate uncounted either way). A bf16 value is A * 2^k for one of 128
// significands A in [1, 2) (subnormals too, as doubles), k in [-133, 127];
// for |bc2| in [2^-400, 2^400] no operation of either way overflows or
// underflows, so scaling by 2^k commutes with both and the 128 significands
// decide. A zero v may give +0 for -0: the square root's sum with eps is the
// same, and with eps = 0 the quotient by it is infinite either way.
inline bool inverse_is_exact(StepScalars& s) {
  const double b = s.bias_correction2;
  if (!(std::fabs(b) >= 0x1p-400 && std::fabs(b) <= 0x1p400)) return false;
  s.inverse_bc2 = 1.0 / b;
  for (int j = 0; j < 128; ++j) {
    const double a = 1.0 + j / 128.0;
    if (quotient_by_inverse(a, s) != a / b) return false;
  }
  return true;
}

// Whether the kernels' fused multiply-adds are instructions: compiled for a
// host without them, std::fma is a library call, dearer than the division.
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA) || defined(__CUDACC__) || defined(__HIPCC__)
constexpr bool kFusedMultiplyAdds = true;
#else
constexpr bool kFusedMultiplyAdds = false;
#endif

// Sets s.by_inverse (and s.inverse_bc2): the inverse where it is exact and
// the fused multiply-adds are instructions.
inline void prepare_inverse(StepScalars& s) { s.by_inverse = kFusedMultiplyAdds && inverse_is_exact(s); }

// The class of a finite coordinate from the double u and the double Delta,
// first match: still, spurious (u = 0), swallowed (Delta = 0), reversed,
// amplified, attenuated, exact. Every test is evaluated and the first match
// selected (no branch: the kernel's flat loop vectorises).
KOKKOS_FORCEINLINE_FUNCTION uint8_t coordinate_class(double u, double delta) {
  // 64-bit codes: selected by masks of doubles, lane for lane.
  const double au = std::fabs(u), ad = std::fabs(delta);
  const int64_t by_size = ad > au ? int64_t(kAmplified) : (ad < au ? int64_t(kAttenuated) : int64_t(kExact));
  // Opposite signs (u, Delta != 0 where this counts): the sign bits differ.
  int64_t u_bits, delta_bits;
  memcpy(&u_bits, &u, sizeof u_bits);
  memcpy(&delta_bits, &delta, sizeof delta_bits);
  const int64_t by_sign = (u_bits ^ delta_bits) < 0 ? int64_t(kReversed) : by_size;
  const int64_t moving = delta == 0 ? int64_t(kSwallowed) : by_sign;
  const int64_t intended_none = delta == 0 ? int64_t(kStill) : int64_t(kSpurious);
  return uint8_t(u == 0 ? intended_none : moving);
}

// 2^e for the exponents of a cell (|e| < 1023): exactly, without a libm call.
KOKKOS_FORCEINLINE_FUNCTION double power_of_two(int e) {
  const uint64_t bits = uint64_t(e + 1023) << 52;
  double value;
  memcpy(&value, &bits, sizeof value);
  return value;
}

template <class F>
KOKKOS_FORCEINLINE_FUNCTION CoordinateOutcome account_coordinate(typename F::bits_type w0, typename F::bits_type w1,
                                                            typename F::bits_type m0, typename F::bits_type m1,
                                                            typename F::bits_type v0, typename F::bits_type v1,
                                                            const StepScalars& s) {
  using L = formats::Lattice<F>;
  CoordinateOutcome o{0.0, 0.0, 0.0, 0u, kNonfinite};
  o.flags |= state_shift<F>(m0, m1) << kExpAvgShift;
  o.flags |= state_shift<F>(v0, v1) << kExpAvgSqShift;
  if (L::is_finite(w0) && !L::is_zero(w0) && s.lr * s.weight_decay != 0) o.flags |= kDecayEligible;
  if (!L::is_finite(w0) || !L::is_finite(w1) || !L::is_finite(m1) || !L::is_finite(v1)) return o;
  const double w = value_of<F>(w0);
  // u = -lr*wd*W[t-1] - (lr/bc1) * exp_avg[t] / (sqrt(exp_avg_sq[t] / bc2) + eps), left to right.
  const double decay_term = -s.lr * s.weight_decay * w;
  const double adam_term = s.step_size * value_of<F>(m1) / (std::sqrt(value_of<F>(v1) / s.bias_correction2) + s.eps);
  const double u = decay_term - adam_term;
  if (!(u - u == 0)) return o;
  o.u = u;
  o.delta = value_of<F>(w1) - w;
  o.cls = coordinate_class(u, o.delta);
  if (o.delta != 0) o.flags |= kMoved;
  if (u != 0) {
    // |u| * 2^-e is one correctly rounded multiplication, as ldexp is.
    o.cells = std::fabs(u) * power_of_two(-L::ulp_exponent(w0, formats::ZeroUlp::min_normal));
    if (o.cells < 0.5) o.flags |= kSubHalfCell;
  }
  if (o.cells >= 0.5) o.flags |= kHalfCellOrMore;
  return o;
}

// account_coordinate without a branch, for the kernel's flat loop over a
// row: every value is computed and the non-finite case selected, so the
// compiler vectorises it. The same u, Delta, |c|, class and flags for every
// input (the class also as class_flag in flags); tests compare the two.
// ByInverse (bf16 only, where s.by_inverse): exp_avg_sq / bc2 by
// quotient_by_inverse, the same double.
template <class F, bool ByInverse = false>
KOKKOS_FORCEINLINE_FUNCTION CoordinateOutcome account_flat(typename F::bits_type w0, typename F::bits_type w1,
                                                           typename F::bits_type m0, typename F::bits_type m1,
                                                           typename F::bits_type v0, typename F::bits_type v1,
                                                           const StepScalars& s) {
  using L = formats::Lattice<F>;
  static_assert(!ByInverse || F::mantissa_bits <= 7, "prepare_inverse checks the quotients of bf16 values");
  const double w = value_of<F>(w0), w_after = value_of<F>(w1), m = value_of<F>(m1), v = value_of<F>(v1);
  // u as account_coordinate computes it, the same operations in the same order.
  const double decay_term = -s.lr * s.weight_decay * w;
  const double scaled = ByInverse ? quotient_by_inverse(v, s) : v / s.bias_correction2;
  const double adam_term = s.step_size * m / (std::sqrt(scaled) + s.eps);
  const double any_u = decay_term - adam_term;
  // Every one of W[t-1], W[t], exp_avg[t], exp_avg_sq[t] and u finite: then
  // this is a sum of zeros, else NaN (one comparison of doubles).
  const bool counted = (w * 0 + w_after * 0) + (m * 0 + v * 0) + (any_u - any_u) == 0;
  CoordinateOutcome o;
  o.u = counted ? any_u : 0.0;
  const double any_delta = w_after - w;
  o.delta = counted ? any_delta : 0.0;
  const uint32_t cls = coordinate_class(o.u, o.delta);
  o.cls = uint8_t(counted ? cls : uint32_t(kNonfinite));
  // U(W[t-1]) as L::ulp_exponent(w0, ZeroUlp::min_normal), as a select.
  const int ulp_exponent = L::is_zero(w0) ? 1 - F::bias : L::scale_exponent(w0);
  const double any_cells = std::fabs(o.u) * power_of_two(-ulp_exponent);
  o.cells = o.u != 0 ? any_cells : 0.0;
  uint32_t flags = state_shift<F>(m0, m1) << kExpAvgShift | state_shift<F>(v0, v1) << kExpAvgSqShift;
  const uint32_t eligible = s.lr * s.weight_decay != 0 ? kDecayEligible : 0u;
  flags |= L::is_finite(w0) && !L::is_zero(w0) ? eligible : 0u;
  flags |= o.delta != 0 ? kMoved : 0u;
  // Sub-half-cell (u != 0) or half a cell or more; selects of 64-bit values
  // by masks of doubles (the vectoriser does not combine masks of different widths).
  const int64_t intended_flag = o.u != 0 ? int64_t(kSubHalfCell) : 0;
  flags |= uint32_t(o.cells < 0.5 ? intended_flag : int64_t(kHalfCellOrMore));
  o.flags = flags | class_flag(o.cls);
  return o;
}

}  // namespace optimizer
}  // namespace latdisp
