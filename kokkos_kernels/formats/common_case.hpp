// The common case of the lattice rules (docs/definitions.md §2-§5, §17),
// written once over the element-format traits: a and b finite, of one sign,
// in the same binade or adjacent ones, so that x = (a - b) / U(b) is a small
// integer or half-integer read from the bits alone. Then x is exactly a
// float32, its class is exact (an integer) or that of a half-integer, and
// round_half_even(x) needs no more than an int32. Branch-free, in integer
// lanes as narrow as the format allows (16 bits up to f16, 32 for f32, and
// for the 8-bit formats' flat pass bytes: `lane<uint8_t>`), so
// that the kernel's row loop vectorizes; every other pair is left to the
// general rules of lattice_rules.hpp, which tests check this agrees with.
#pragma once

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <type_traits>

#include "kokkos_kernels/formats/element_format.hpp"

namespace latdisp {
namespace formats {

template <class F>
struct CommonCase {
  // x2 = 2x in lanes of U/S: 16 bits while 4x the significand fits, else 32.
  static constexpr bool kWide = F::mantissa_bits > 11;
  using U = std::conditional_t<kWide, uint32_t, uint16_t>;
  using S = std::conditional_t<kWide, int32_t, int16_t>;
  static constexpr int kMantissa = F::mantissa_bits;
  static constexpr U kMagnitudeMask = static_cast<U>(Lattice<F>::magnitude_mask);
  static constexpr U kSignMask = static_cast<U>(U(1) << Lattice<F>::sign_shift);
  static constexpr U kMantissaMask = static_cast<U>(Lattice<F>::mantissa_mask);
  static constexpr U kHidden = static_cast<U>(U(1) << F::mantissa_bits);
  static constexpr U kMaxField = static_cast<U>(Lattice<F>::max_exponent_field);
  static constexpr U kInfinityBits = static_cast<U>(kMaxField << kMantissa);
  // |x2| bound: x is exactly a float32 (|2x| <= 2^24) and x2^2 stays small
  // enough for the row sums (bf16 never reaches it: |2x| < 2^10).
  static constexpr int kX2Bits = kWide ? 24 : (kMantissa + 3 < 12 ? kMantissa + 3 : 12);
  static constexpr int32_t kX2Limit = (int32_t(1) << kX2Bits) - 1;
  // The notebook's (seed) arithmetic is bf16's: where the report counts the
  // two arithmetics' disagreements, the common case is only where they
  // agree (b normal below 256 or a zero pair, a - b exact in bf16, |x| <= 255;
  // else the general rules decide).
  static constexpr bool kSeedAgreement = std::is_same<F, BF16>::value;
  // Squares of x2 summed in 32 bits over this many lanes, then in 64.
  static constexpr int64_t kSquareChunk = kWide ? (int64_t(1) << 14) : (int64_t(1) << (31 - 2 * kX2Bits));
  using SquareSum = std::conditional_t<kWide, int64_t, int32_t>;
  // A lane's marks packed in one lane: crossed at bit 0, half-integer at
  // kHalfShift, not common at kUncommonShift; their sums over at most
  // kRowChunk lanes (each count <= kRowChunk) never carry into each other.
  static constexpr int kHalfShift = kWide ? 10 : 8;
  static constexpr int kUncommonShift = kWide ? 20 : 15;
  static constexpr int64_t kRowChunk = kWide ? 1023 : 127;
  static_assert(kRowChunk <= kSquareChunk, "a row chunk's squares fit a SquareSum");

  // Settings of a pass.
  struct Rules {
    U zero_field;      // the exponent field whose ULP a zero b gets (1 + mantissa bits, or 1)
    U zero_is_subnormal;  // a zero b has a subnormal's ULP: x = qa * 2^shift exactly
    U allow_halves;    // half-integers are common (epsilon < 1/4: their class is half)
  };

  static Rules rules(ZeroUlp zero_rule, double epsilon) {
    Rules r;
    r.zero_is_subnormal = zero_rule == ZeroUlp::min_subnormal ? 1 : 0;
    r.zero_field = static_cast<U>(r.zero_is_subnormal ? 1 : 1 + kMantissa);
    r.allow_halves = epsilon < 0.25 ? 1 : 0;
    return r;
  }

  // The lane word of `lane`: U, or bytes for the 8-bit formats (their
  // patterns, exponent fields and common |2x| fit a byte), where the flat
  // pass computes in lanes twice as many per vector as U's and widens what
  // it stores (common_group). Exact: for a finite pair of one sign whose
  // shift is -1, 0 or 1, |2x| < 2^(mantissa bits + 3) <= 2^kX2Bits, so
  // wherever the other conditions hold, 2x and its range check are the
  // same in bytes as in U; elsewhere `common` is 0 whatever a byte wrapped to.
  static constexpr bool kByteLanes = sizeof(typename F::bits_type) == 1;
  static_assert(!kByteLanes || kX2Bits < 8, "2x of a common byte lane fits an int8_t");
  using ByteU = std::conditional_t<kByteLanes, uint8_t, U>;

  // One coordinate (a = W[t+1], b = W[t]), in lane words V (unsigned) and SV (signed).
  template <class V>
  struct LaneOf {
    using SV = std::make_signed_t<V>;
    SV x2;        // 2x where common, else 0
    V common;     // 1: the common case
    V crossed;    // 1: the exponent fields differ
    V ulp_field;  // b's ULP as an exponent field: U(b) = 2^(field - bias - mantissa bits)
    V b_zero;
    V b_subnormal;
  };
  using Lane = LaneOf<U>;

  template <class V = U>
  KOKKOS_FORCEINLINE_FUNCTION static LaneOf<V> lane(V a, V b, const Rules& r) {
    using SV = std::make_signed_t<V>;
    const V ma = static_cast<V>(a & kMagnitudeMask), mb = static_cast<V>(b & kMagnitudeMask);
    const V ea = static_cast<V>(ma >> kMantissa), eb = static_cast<V>(mb >> kMantissa);
    V finite;
    if (F::specials == Specials::nan_only_fn)
      finite = static_cast<V>((ma != kMagnitudeMask) & (mb != kMagnitudeMask));
    else
      finite = static_cast<V>((ea != kMaxField) & (eb != kMaxField));
    const V same_sign = static_cast<V>(((a ^ b) & kSignMask) == 0);
    // A finite value is q * 2^(s - bias - mantissa bits), s = max(e, 1), q its
    // mantissa field f plus 2^mantissa_bits when e > 0; x = qa * 2^(sa - sb) - qb.
    // For shift = sa - sb in {-1, 0, 1} that is, with D = ma - mb (the
    // patterns' difference): shift 0: x = D; 1: x = D + fa; -1: 2x = D - fb.
    // |2x| without b's sign; unsigned arithmetic: other lanes may wrap.
    const V sa = static_cast<V>(ea | V(ea == 0)), sb = static_cast<V>(eb | V(eb == 0));
    const SV shift = static_cast<SV>(sa - sb);
    const V up = shift == 1 ? static_cast<V>(ma & kMantissaMask) : V(0);
    const V down = shift == -1 ? static_cast<V>(mb & kMantissaMask) : V(0);
    const V sum = static_cast<V>(ma - mb + up - down);
    const SV magnitude2 = static_cast<SV>(shift == -1 ? sum : static_cast<V>(sum + sum));
    const SV x2 = (b & kSignMask) ? static_cast<SV>(V(0) - static_cast<V>(magnitude2)) : magnitude2;
    // A zero b under the min-normal rule scales a by 2^-mantissa_bits: common only when a is zero too.
    const V zero_ok = static_cast<V>((mb != 0) | (ma == 0) | r.zero_is_subnormal);
    const V adjacent = static_cast<V>(static_cast<V>(shift + 1) <= 2);
    const V in_range = static_cast<V>(static_cast<V>(static_cast<V>(magnitude2) + V(kX2Limit)) <= V(2 * kX2Limit));
    const V halves_ok = static_cast<V>(r.allow_halves | (~x2 & 1));
    V common;
    if (kSeedAgreement) {
      // b normal below 256 or a zero pair, a within a binade of b (so both
      // finite, and a zero b only beside a zero a), |x| <= 255 (in range),
      // and a half-integer's a - b within bf16's 8 significant bits.
      const V small_normal = static_cast<V>(static_cast<V>(eb - 1) <= 133);
      const V both_zero = static_cast<V>((ma | mb) == 0);
      const SV bound = static_cast<SV>(510 - 255 * (magnitude2 & 1));  // |2x| <= 510, or 255 when odd
      const V small_x = static_cast<V>(static_cast<V>(magnitude2 + bound) <= static_cast<V>(2 * bound));
      common = static_cast<V>(same_sign & adjacent & halves_ok & (small_normal | both_zero) & small_x);
    } else {
      common = static_cast<V>(finite & same_sign & adjacent & zero_ok & in_range & halves_ok);
    }
    LaneOf<V> l;
    l.common = common;
    l.x2 = static_cast<SV>(x2 & static_cast<SV>(-static_cast<SV>(common)));
    l.crossed = static_cast<V>(ea != eb);
    l.ulp_field = mb == 0 ? static_cast<V>(r.zero_field) : sb;
    l.b_zero = static_cast<V>(mb == 0);
    l.b_subnormal = static_cast<V>((eb == 0) & (mb != 0));
    return l;
  }

  // The most frequent pairs, in fewer instructions: a and b of one sign and
  // in one binade, either both normal (finite) or both zero. Then x = ma - mb
  // exactly, an integer, and U(b) = 2^(eb - bias - mantissa bits) or the
  // zero rule's: `lane` gives the same x2, ULP field and marks (not crossed,
  // not half), so a lane that is simple needs no more; every other lane is
  // left to `lane` (IEEE formats: a normal field is never a NaN's; not bf16,
  // whose common case is narrower).
  struct SimpleLane {
    S x2;       // 2x where simple, else 0
    U simple;   // 1: simple
    U field;    // b's ULP as an exponent field where simple
    U b_zero;   // 1: simple and b (so a) zero
  };

  KOKKOS_FORCEINLINE_FUNCTION static SimpleLane simple_lane(U a, U b, const Rules& r) {
    static_assert(F::specials == Specials::ieee && !kSeedAgreement, "simple lanes of IEEE formats but bf16 only");
    const U eb = static_cast<U>(static_cast<U>(b & kMagnitudeMask) >> kMantissa);
    const bool one_binade = ((a ^ b) & static_cast<U>(kSignMask | kInfinityBits)) == 0;
    const bool normal = static_cast<U>(eb - U(1)) < static_cast<U>(kMaxField - U(1));
    const bool zeros = (static_cast<U>(a | b) & kMagnitudeMask) == 0;
    const bool simple = one_binade & (normal | zeros);
    const U difference = static_cast<U>(a - b);  // ma - mb: the sign and exponent bits cancel
    const U twice = static_cast<U>(difference + difference);
    const S x2 = (b & kSignMask) ? static_cast<S>(U(0) - twice) : static_cast<S>(twice);
    SimpleLane l;
    l.simple = simple;
    l.x2 = simple ? x2 : S(0);
    l.field = zeros ? r.zero_field : eb;
    l.b_zero = simple & zeros;
    return l;
  }

  // log2 U(b) of an exponent field of `ulp_field`.
  KOKKOS_INLINE_FUNCTION static int ulp_exponent_of_field(int field) { return field - F::bias - F::mantissa_bits; }
};

}  // namespace formats
}  // namespace latdisp
