// The element formats latdisp reads (docs/definitions.md §17): the fields,
// ULP, significand, lattice position and value of a pattern, written once
// over the traits of element_type.hpp (which also holds the runtime
// ElementType and its one dispatch point). Adding a format is one traits
// type, one ElementType entry and its line in `dispatch_element_type`
// (docs/architecture.md §5).
#pragma once

#include <Kokkos_Core.hpp>

#include "kokkos_kernels/formats/element_type.hpp"

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace latdisp {
namespace formats {

// --- the lattice rules, once for every format ------------------------------------
// Which ULP a zero gets: the smallest positive normal value 2^(1 - bias) or
// the smallest subnormal 2^(1 - bias - mantissa_bits).
enum class ZeroUlp : int { min_normal = 0, min_subnormal = 1 };

template <class F>
struct Lattice {
  using bits_type = typename F::bits_type;
  static constexpr int sign_shift = F::total_bits - 1;
  static constexpr uint32_t mantissa_mask = (uint32_t(1) << F::mantissa_bits) - 1;
  static constexpr uint32_t exponent_mask = (uint32_t(1) << F::exponent_bits) - 1;
  static constexpr uint32_t magnitude_mask = (uint32_t(1) << sign_shift) - 1u;
  static constexpr int max_exponent_field = int(exponent_mask);
  // log2 of the ULP of every subnormal, and of the binade with field 1.
  static constexpr int min_scale = 1 - F::bias - F::mantissa_bits;

  KOKKOS_INLINE_FUNCTION static uint32_t raw(bits_type b) { return static_cast<uint32_t>(b); }
  KOKKOS_INLINE_FUNCTION static int sign_bit(bits_type b) { return int((raw(b) >> sign_shift) & 1u); }
  KOKKOS_INLINE_FUNCTION static int exponent_field(bits_type b) {
    return int((raw(b) >> F::mantissa_bits) & exponent_mask);
  }
  KOKKOS_INLINE_FUNCTION static uint32_t mantissa_field(bits_type b) { return raw(b) & mantissa_mask; }
  KOKKOS_INLINE_FUNCTION static uint32_t magnitude_bits(bits_type b) {
    return raw(b) & magnitude_mask;
  }
  KOKKOS_INLINE_FUNCTION static bool is_nan(bits_type b) {
    if (F::specials == Specials::nan_only_fn) return magnitude_bits(b) == magnitude_mask;
    return exponent_field(b) == max_exponent_field && mantissa_field(b) != 0;
  }
  KOKKOS_INLINE_FUNCTION static bool is_finite(bits_type b) {
    if (F::specials == Specials::nan_only_fn) return !is_nan(b);
    return exponent_field(b) != max_exponent_field;
  }
  KOKKOS_INLINE_FUNCTION static bool is_zero(bits_type b) { return magnitude_bits(b) == 0; }
  KOKKOS_INLINE_FUNCTION static bool is_subnormal(bits_type b) {
    return exponent_field(b) == 0 && mantissa_field(b) != 0;
  }

  // A finite value is significand(b) * 2^scale_exponent(b), both exact;
  // |significand| < 2^(mantissa_bits + 1).
  KOKKOS_INLINE_FUNCTION static int32_t significand(bits_type b) {
    const int32_t hidden = exponent_field(b) > 0 ? int32_t(1) << F::mantissa_bits : 0;
    const int32_t magnitude = hidden + int32_t(mantissa_field(b));
    return sign_bit(b) ? -magnitude : magnitude;
  }
  KOKKOS_INLINE_FUNCTION static int scale_exponent(bits_type b) {
    const int e = exponent_field(b);
    return (e > 0 ? e : 1) - F::bias - F::mantissa_bits;
  }
  // log2 of the ULP U(b) of a finite value.
  KOKKOS_INLINE_FUNCTION static int ulp_exponent(bits_type b, ZeroUlp zero_rule) {
    if (is_zero(b)) return zero_rule == ZeroUlp::min_normal ? 1 - F::bias : min_scale;
    return scale_exponent(b);
  }
  // Position on the ordered lattice: consecutive finite values differ by one,
  // +0 and -0 share position 0 (valid for finite values).
  KOKKOS_INLINE_FUNCTION static int64_t lattice_position(bits_type b) {
    const int64_t magnitude = int64_t(magnitude_bits(b));
    return sign_bit(b) ? -magnitude : magnitude;
  }
  // The exact double of a finite value (every format here fits a double).
  KOKKOS_INLINE_FUNCTION static double to_double(bits_type b) {
    const int k = scale_exponent(b);
    const uint64_t bits = static_cast<uint64_t>(k + 1023) << 52;
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    return static_cast<double>(significand(b)) * scale;
  }
};

}  // namespace formats
}  // namespace latdisp
