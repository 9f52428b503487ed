// account_coordinate (declared in audit_block.hpp): the intended update and
// the class of one coordinate, from docs/optimizer.md §4, in double.
#pragma once

#include <Kokkos_Core.hpp>

#include <cmath>
#include <cstring>

namespace latdisp {
namespace optimizer {

// 1 increased, 2 decreased, 0 unchanged (in value), 3 either not finite.
// Finite values compare as their lattice positions (+0 and -0 both 0).
template <class F>
KOKKOS_FORCEINLINE_FUNCTION uint32_t state_shift(typename F::bits_type before, typename F::bits_type after) {
  using L = formats::Lattice<F>;
  if (!L::is_finite(before) || !L::is_finite(after)) return 3u;
  const int64_t a = L::lattice_position(before), b = L::lattice_position(after);
  return b > a ? 1u : (b < a ? 2u : 0u);
}

// The exact double of a finite value of a rule's format (bf16 and f32
// values are float values: one conversion).
template <class F>
KOKKOS_FORCEINLINE_FUNCTION double value_of(typename F::bits_type b) {
  return static_cast<double>(Rounding<F>::to_float(b));
}

// The class of a finite coordinate from the double u and the double Delta.
KOKKOS_FORCEINLINE_FUNCTION uint8_t coordinate_class(double u, double delta) {
  if (u == 0) return delta == 0 ? kStill : kSpurious;
  if (delta == 0) return kSwallowed;
  if ((u < 0) != (delta < 0)) return kReversed;
  const double au = std::fabs(u), ad = std::fabs(delta);
  if (ad > au) return kAmplified;
  if (ad < au) return kAttenuated;
  return kExact;
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

}  // namespace optimizer
}  // namespace latdisp
