// The accounting of bf16 coordinates sixteen at a time in AVX-512 registers
// (docs/optimizer.md §5, speed): account_flat's operations on the same
// values in the same order (u, Delta, |c| bit for bit; the same class and
// flags), written out in vector instructions, in two passes over up to 64
// coordinates: the intended updates (two divisions and a square root in a
// chain), then everything else from them. One loop doing both ran at the
// pace of the few iterations that fit the core's window while each waited
// for its chain; the flags that need no double are made in 16-bit lanes, and
// the others with vector masks. Host code, included by audit_block.cpp only;
// where the compiler targets no AVX-512 (F, VL, DQ), LATDISP_ACCOUNTING_AVX512
// stays undefined and the kernel keeps account_flat.
#pragma once

#if defined(__AVX512F__) && defined(__AVX512VL__) && defined(__AVX512DQ__) && !defined(__CUDA_ARCH__) && \
    !defined(__HIP_DEVICE_COMPILE__)
#define LATDISP_ACCOUNTING_AVX512 1
#include <immintrin.h>

#include <cstdint>

#include "kokkos_kernels/optimizer/audit_block.hpp"

namespace latdisp {
namespace optimizer {

// A step's scalars as account_flat uses them, broadcast once per row.
struct EightScalars {
  __m512d decay_factor;  // -lr * wd, as account_flat's -s.lr * s.weight_decay
  __m512d step_size, bias_correction2, eps, inverse_bc2;
  uint32_t eligible;  // kDecayEligible where lr * wd != 0
  bool by_inverse;    // exp_avg_sq / bc2 as quotient_by_inverse (StepScalars::by_inverse)
};

inline EightScalars eight_scalars(const StepScalars& s) {
  return EightScalars{_mm512_set1_pd(-s.lr * s.weight_decay),
                      _mm512_set1_pd(s.step_size),
                      _mm512_set1_pd(s.bias_correction2),
                      _mm512_set1_pd(s.eps),
                      _mm512_set1_pd(s.inverse_bc2),
                      s.lr * s.weight_decay != 0 ? uint32_t(kDecayEligible) : 0u,
                      s.by_inverse};
}

// Eight bf16 bits as 32-bit lanes, and their values as doubles (exactly).
inline __m256i bf16_lanes(const uint16_t* bits) {
  return _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bits)));
}
inline __m512d bf16_doubles(__m256i lanes) {
  // (masked forms here and below, of all eight lanes: GCC 12 warns of the
  // plain ones' undefined source operand)
  return _mm512_maskz_cvtps_pd(0xFF, _mm256_castsi256_ps(_mm256_slli_epi32(lanes, 16)));
}

// The intended updates of `count` coordinates (a multiple of 8) before the
// finiteness test (account_flat's any_u), eight at a time: the divisions and
// the square root alone, so that many of these short iterations are in
// flight while each waits for its chain (about 50 cycles) to finish.
// ByInverse: exp_avg_sq / bc2 as quotient_by_inverse, eight at a time (the
// same double; one division fewer).
template <bool ByInverse>
inline void intended_updates(const uint16_t* w0, const uint16_t* m1, const uint16_t* v1, int64_t count,
                             const EightScalars& s, double* any_u) {
  for (int64_t d = 0; d < count; d += 8) {
    const __m512d w = bf16_doubles(bf16_lanes(w0 + d));
    const __m512d m = bf16_doubles(bf16_lanes(m1 + d)), v = bf16_doubles(bf16_lanes(v1 + d));
    // u = -lr*wd*W[t-1] - (lr/bc1) * exp_avg[t] / (sqrt(exp_avg_sq[t] / bc2) + eps), left to right.
    const __m512d decay_term = _mm512_mul_pd(s.decay_factor, w);
    __m512d scaled;
    if (ByInverse) {
      const __m512d q = _mm512_mul_pd(v, s.inverse_bc2);
      scaled = _mm512_fmadd_pd(_mm512_fnmadd_pd(q, s.bias_correction2, v), s.inverse_bc2, q);
    } else {
      scaled = _mm512_div_pd(v, s.bias_correction2);
    }
    const __m512d root = _mm512_add_pd(_mm512_maskz_sqrt_pd(0xFF, scaled), s.eps);
    _mm512_storeu_pd(any_u + d, _mm512_sub_pd(decay_term, _mm512_div_pd(_mm512_mul_pd(s.step_size, m), root)));
  }
}
inline void intended_updates(const uint16_t* w0, const uint16_t* m1, const uint16_t* v1, int64_t count,
                             const EightScalars& s, double* any_u) {
  if (s.by_inverse) intended_updates<true>(w0, m1, v1, count, s, any_u);
  else intended_updates<false>(w0, m1, v1, count, s, any_u);
}

// Sixteen bf16 values in 16-bit lanes: their lattice positions (+0 and -0
// both 0), and -1 where they are not finite.
inline __m256i positions16(__m256i x) {
  return _mm256_sign_epi16(_mm256_and_si256(x, _mm256_set1_epi16(0x7FFF)), x);
}
inline __m256i nonfinite16(__m256i x) {
  const __m256i exponent = _mm256_set1_epi16(0x7F80);
  return _mm256_cmpeq_epi16(_mm256_and_si256(x, exponent), exponent);
}

// state_shift<BF16> of sixteen coordinates in 16-bit lanes, at bit `shift`.
inline __m256i state_shifts16(__m256i before, __m256i after, int shift) {
  const __m256i a = positions16(before), b = positions16(after);
  const __m256i nonfinite = _mm256_or_si256(nonfinite16(before), nonfinite16(after));
  const __m256i increased = _mm256_or_si256(_mm256_cmpgt_epi16(b, a), nonfinite);
  const __m256i decreased = _mm256_or_si256(_mm256_cmpgt_epi16(a, b), nonfinite);
  return _mm256_or_si256(_mm256_and_si256(increased, _mm256_set1_epi16(short(1 << shift))),
                         _mm256_and_si256(decreased, _mm256_set1_epi16(short(2 << shift))));
}

// 64-bit lanes: -1 where a < b (signed, no overflow in the callers' ranges),
// else 0; and m ? a : b bit by bit. Vector masks, not mask registers: a
// coordinate's flags take some thirty such tests and selects, and the mask
// registers' few ports would queue them.
inline __m512i less64(__m512i a, __m512i b) { return _mm512_maskz_srai_epi64(0xFF, _mm512_sub_epi64(a, b), 63); }
inline __m512i select64(__m512i m, __m512i a, __m512i b) { return _mm512_ternarylogic_epi64(m, a, b, 0xCA); }
inline __m512i broadcast64(uint32_t flag) { return _mm512_set1_epi64(int64_t(flag)); }

// The flags that need no double, of sixteen coordinates in 16-bit lanes:
// the states' shifts and the decay's eligibility; and -1 where W[t-1],
// W[t], exp_avg[t] or exp_avg_sq[t] is not finite.
inline __m256i integer_flags16(const uint16_t* w0, const uint16_t* w1, const uint16_t* m0, const uint16_t* m1,
                               const uint16_t* v0, const uint16_t* v1, uint32_t eligible, __m256i& inputs_nonfinite) {
  const auto load = [](const uint16_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); };
  const __m256i before = load(w0), after = load(w1), m = load(m1), v = load(v1);
  const __m256i zero = _mm256_cmpeq_epi16(_mm256_and_si256(before, _mm256_set1_epi16(0x7FFF)), _mm256_setzero_si256());
  const __m256i w_nonfinite = nonfinite16(before);
  inputs_nonfinite = _mm256_or_si256(_mm256_or_si256(w_nonfinite, nonfinite16(after)),
                                     _mm256_or_si256(nonfinite16(m), nonfinite16(v)));
  const __m256i flags = _mm256_or_si256(state_shifts16(load(m0), m, kExpAvgShift), state_shifts16(load(v0), v, kExpAvgSqShift));
  return _mm256_or_si256(flags, _mm256_andnot_si256(_mm256_or_si256(zero, w_nonfinite), _mm256_set1_epi16(short(eligible))));
}

// Eight coordinates' u, Delta, |c| (as account_flat: u and Delta 0 where not
// counted, |c| 0 where u == 0) and their flags but the integer ones, from
// their intended updates before the finiteness test (`any_u`) and the 64-bit
// lanes' -1 where an input is not finite.
inline __m256i account_eight(const uint16_t* w0, const uint16_t* w1, const double* any_u, __m512i inputs_nonfinite,
                             double* u, double* delta, double* cells) {
  const __m512i abs_mask = _mm512_set1_epi64(0x7FFFFFFFFFFFFFFFll), zero = _mm512_setzero_si512();
  const __m256i w0_lanes = bf16_lanes(w0);
  const __m512d w = bf16_doubles(w0_lanes), w_after = bf16_doubles(bf16_lanes(w1));
  const __m512i u_bits = _mm512_castpd_si512(_mm512_loadu_pd(any_u));
  // Counted: W[t-1], W[t], exp_avg[t], exp_avg_sq[t] and u finite (NaN's bits are above Inf's).
  const __m512i counted = _mm512_maskz_andnot_epi64(
      0xFF, inputs_nonfinite, less64(_mm512_and_si512(u_bits, abs_mask), _mm512_set1_epi64(0x7FF0000000000000ll)));
  const __m512i u_counted = _mm512_and_si512(u_bits, counted);
  const __m512i delta_counted = _mm512_and_si512(_mm512_castpd_si512(_mm512_sub_pd(w_after, w)), counted);
  const __m512i au = _mm512_and_si512(u_counted, abs_mask), ad = _mm512_and_si512(delta_counted, abs_mask);
  // U(W[t-1]) = 2^e: ulp_exponent, a zero W[t-1] taking the smallest normal's; |c| = |u| * 2^-e (0 where u is).
  const __m256i field = _mm256_and_si256(_mm256_srli_epi32(w0_lanes, 7), _mm256_set1_epi32(0xFF));
  const __m256i scale = _mm256_sub_epi32(_mm256_max_epi32(field, _mm256_set1_epi32(1)), _mm256_set1_epi32(127 + 7));
  const __m256i w_zero = _mm256_cmpeq_epi32(_mm256_and_si256(w0_lanes, _mm256_set1_epi32(0x7FFF)), _mm256_setzero_si256());
  const __m256i ulp = _mm256_blendv_epi8(scale, _mm256_set1_epi32(1 - 127), w_zero);
  const __m512i power = _mm512_maskz_slli_epi64(
      0xFF, _mm512_maskz_cvtepi32_epi64(0xFF, _mm256_sub_epi32(_mm256_set1_epi32(1023), ulp)), 52);
  const __m512d c = _mm512_mul_pd(_mm512_castsi512_pd(au), _mm512_castsi512_pd(power));
  _mm512_storeu_si512(u, u_counted);
  _mm512_storeu_si512(delta, delta_counted);
  _mm512_storeu_pd(cells, c);
  // The class (coordinate_class's first match; kNonfinite where not counted).
  const __m512i intended = less64(zero, au), moved = less64(zero, ad);
  const __m512i opposite = _mm512_maskz_srai_epi64(0xFF, _mm512_xor_si512(u_counted, delta_counted), 63);
  const __m512i by_size = select64(less64(au, ad), broadcast64(class_flag(kAmplified)),
                                   select64(less64(ad, au), broadcast64(class_flag(kAttenuated)),
                                            broadcast64(class_flag(kExact))));
  const __m512i moving = select64(opposite, broadcast64(class_flag(kReversed)), by_size);
  const __m512i with_u = select64(moved, moving, broadcast64(class_flag(kSwallowed)));
  const __m512i without_u = select64(moved, broadcast64(class_flag(kSpurious)), broadcast64(class_flag(kStill)));
  __m512i flags = select64(counted, select64(intended, with_u, without_u), broadcast64(class_flag(kNonfinite)));
  // kMoved; kSubHalfCell where u != 0 and |c| < 1/2; kHalfCellOrMore where |c| >= 1/2.
  const __m512i sub_half = less64(_mm512_castpd_si512(c), _mm512_castpd_si512(_mm512_set1_pd(0.5)));
  flags = _mm512_ternarylogic_epi64(flags, moved, broadcast64(kMoved), 0xF8);  // flags | (moved & flag)
  flags = _mm512_ternarylogic_epi64(flags, _mm512_and_si512(intended, sub_half), broadcast64(kSubHalfCell), 0xF8);
  flags = _mm512_ternarylogic_epi64(flags, sub_half, broadcast64(kHalfCellOrMore), 0xF2);  // flags | (~sub_half & flag)
  return _mm512_maskz_cvtepi64_epi32(0xFF, flags);
}

// Sixteen coordinates' accounting beside their replay flags (flags[0 .. 16)
// on entry): account_one's outcome for each.
inline void account_sixteen(const uint16_t* w0, const uint16_t* w1, const uint16_t* m0, const uint16_t* m1,
                            const uint16_t* v0, const uint16_t* v1, const double* any_u, uint32_t eligible, double* u,
                            double* delta, double* cells, uint32_t* flags) {
  __m256i inputs_nonfinite;
  const __m256i integer = integer_flags16(w0, w1, m0, m1, v0, v1, eligible, inputs_nonfinite);
  const __m256i noop = _mm256_set1_epi32(int(kDecayNoop));
  for (int half = 0; half < 2; ++half) {
    const int at = 8 * half;
    const __m128i integer8 = half == 0 ? _mm256_castsi256_si128(integer) : _mm256_extracti128_si256(integer, 1);
    const __m128i nonfinite8 =
        half == 0 ? _mm256_castsi256_si128(inputs_nonfinite) : _mm256_extracti128_si256(inputs_nonfinite, 1);
    const __m256i own = _mm256_or_si256(_mm256_cvtepu16_epi32(integer8),
                                        account_eight(w0 + at, w1 + at, any_u + at, _mm512_maskz_cvtepi16_epi64(0xFF, nonfinite8),
                                                      u + at, delta + at, cells + at));
    __m256i* out = reinterpret_cast<__m256i*>(flags + at);
    const __m256i replay = _mm256_loadu_si256(out);
    // account_one's merge: (replay & ~kDecayNoop) | own | (own << 1 & replay & kDecayNoop)
    const __m256i kept = _mm256_and_si256(_mm256_and_si256(_mm256_slli_epi32(own, 1), replay), noop);
    _mm256_storeu_si256(out, _mm256_or_si256(_mm256_or_si256(_mm256_andnot_si256(noop, replay), own), kept));
  }
}

}  // namespace optimizer
}  // namespace latdisp

#endif
