// The accounting of bf16 coordinates eight at a time in AVX-512 registers
// (docs/optimizer.md §5, speed): account_flat's operations on the same
// values in the same order (u, Delta, |c| bit for bit; the same class and
// flags), written out in vector instructions: GCC 12's vectorisation of
// account_flat takes about twice the instructions (64 coordinates an
// iteration, selects of 64-bit codes, a third of them stack spills), and the
// kernel's accounting a quarter less time this way. Host code, included by
// audit_block.cpp only; where the compiler targets no AVX-512 (F, VL, DQ),
// LATDISP_ACCOUNTING_AVX512 stays undefined and the kernel keeps account_flat.
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
  __m512d step_size, bias_correction2, eps;
  uint32_t eligible;  // kDecayEligible where lr * wd != 0
};

inline EightScalars eight_scalars(const StepScalars& s) {
  return EightScalars{_mm512_set1_pd(-s.lr * s.weight_decay), _mm512_set1_pd(s.step_size),
                      _mm512_set1_pd(s.bias_correction2), _mm512_set1_pd(s.eps),
                      s.lr * s.weight_decay != 0 ? uint32_t(kDecayEligible) : 0u};
}

// Eight bf16 bits as 32-bit lanes, and their values as doubles (exactly).
inline __m256i bf16_lanes(const uint16_t* bits) {
  return _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bits)));
}
inline __m512d bf16_doubles(__m256i lanes) {
  // (masked forms here and below: GCC 12 warns of the plain ones' undefined source operand)
  return _mm512_maskz_cvtps_pd(0xFF, _mm256_castsi256_ps(_mm256_slli_epi32(lanes, 16)));
}

// state_shift<BF16> in 32-bit lanes, at bit `shift` of the flags.
inline __m256i state_shifts(__m256i before, __m256i after, int shift) {
  const __m256i magnitude = _mm256_set1_epi32(0x7FFF), sign = _mm256_set1_epi32(0x8000);
  const __m256i exponent = _mm256_set1_epi32(0x7F80), zero = _mm256_setzero_si256();
  __m256i a = _mm256_and_si256(before, magnitude), b = _mm256_and_si256(after, magnitude);
  a = _mm256_mask_sub_epi32(a, _mm256_test_epi32_mask(before, sign), zero, a);
  b = _mm256_mask_sub_epi32(b, _mm256_test_epi32_mask(after, sign), zero, b);
  const __mmask8 nonfinite = _mm256_cmpeq_epi32_mask(_mm256_and_si256(before, exponent), exponent) |
                             _mm256_cmpeq_epi32_mask(_mm256_and_si256(after, exponent), exponent);
  __m256i out = _mm256_maskz_mov_epi32(_mm256_cmpgt_epi32_mask(b, a), _mm256_set1_epi32(1 << shift));
  out = _mm256_mask_mov_epi32(out, _mm256_cmplt_epi32_mask(b, a), _mm256_set1_epi32(2 << shift));
  return _mm256_mask_mov_epi32(out, nonfinite, _mm256_set1_epi32(3 << shift));
}

// The class of eight coordinates as class_flag (coordinate_class's first
// match, then kNonfinite where not counted).
inline __m256i class_flags(__m512d u, __m512d delta, __mmask8 counted) {
  const __m512d au = _mm512_abs_pd(u), ad = _mm512_abs_pd(delta), zero = _mm512_setzero_pd();
  const __mmask8 larger = _mm512_cmp_pd_mask(ad, au, _CMP_GT_OQ), smaller = _mm512_cmp_pd_mask(ad, au, _CMP_LT_OQ);
  const __mmask8 opposite = _mm512_movepi64_mask(_mm512_xor_si512(_mm512_castpd_si512(u), _mm512_castpd_si512(delta)));
  const __mmask8 still = _mm512_cmp_pd_mask(delta, zero, _CMP_EQ_OQ), none = _mm512_cmp_pd_mask(u, zero, _CMP_EQ_OQ);
  __m256i cls = _mm256_set1_epi32(int(class_flag(kExact)));
  cls = _mm256_mask_mov_epi32(cls, smaller, _mm256_set1_epi32(int(class_flag(kAttenuated))));
  cls = _mm256_mask_mov_epi32(cls, larger, _mm256_set1_epi32(int(class_flag(kAmplified))));
  cls = _mm256_mask_mov_epi32(cls, opposite, _mm256_set1_epi32(int(class_flag(kReversed))));
  cls = _mm256_mask_mov_epi32(cls, still, _mm256_set1_epi32(int(class_flag(kSwallowed))));
  cls = _mm256_mask_mov_epi32(cls, none & ~still, _mm256_set1_epi32(int(class_flag(kSpurious))));
  cls = _mm256_mask_mov_epi32(cls, none & still, _mm256_set1_epi32(int(class_flag(kStill))));
  return _mm256_mask_mov_epi32(cls, __mmask8(~counted), _mm256_set1_epi32(int(class_flag(kNonfinite))));
}

// Eight coordinates' u, Delta and |c| (as account_flat: u and Delta 0 where
// not counted, |c| 0 where u == 0), and their flags; `u_nonzero` where u != 0.
struct EightOutcomes {
  __m512d u, delta, cells;
  __m256i flags;
  __mmask8 u_nonzero;
};

inline EightOutcomes account_eight(const uint16_t* w0, const uint16_t* w1, const uint16_t* m0, const uint16_t* m1,
                                   const uint16_t* v0, const uint16_t* v1, const EightScalars& s) {
  const __m256i w0_lanes = bf16_lanes(w0), w1_lanes = bf16_lanes(w1), m1_lanes = bf16_lanes(m1);
  const __m256i v1_lanes = bf16_lanes(v1);
  const __m512d w = bf16_doubles(w0_lanes), w_after = bf16_doubles(w1_lanes);
  const __m512d m = bf16_doubles(m1_lanes), v = bf16_doubles(v1_lanes);
  // u = -lr*wd*W[t-1] - (lr/bc1) * exp_avg[t] / (sqrt(exp_avg_sq[t] / bc2) + eps), left to right.
  const __m512d decay_term = _mm512_mul_pd(s.decay_factor, w);
  const __m512d root = _mm512_add_pd(_mm512_maskz_sqrt_pd(0xFF, _mm512_div_pd(v, s.bias_correction2)), s.eps);
  const __m512d any_u = _mm512_sub_pd(decay_term, _mm512_div_pd(_mm512_mul_pd(s.step_size, m), root));
  // Counted: W[t-1], W[t], exp_avg[t], exp_avg_sq[t] and u all finite (a sum of zeros, else NaN).
  const __m512d zero = _mm512_setzero_pd();
  const __m512d zeros = _mm512_add_pd(
      _mm512_add_pd(_mm512_add_pd(_mm512_mul_pd(w, zero), _mm512_mul_pd(w_after, zero)),
                    _mm512_add_pd(_mm512_mul_pd(m, zero), _mm512_mul_pd(v, zero))),
      _mm512_sub_pd(any_u, any_u));
  const __mmask8 counted = _mm512_cmp_pd_mask(zeros, zero, _CMP_EQ_OQ);
  EightOutcomes o;
  o.u = _mm512_maskz_mov_pd(counted, any_u);
  o.delta = _mm512_maskz_mov_pd(counted, _mm512_sub_pd(w_after, w));
  o.u_nonzero = _mm512_cmp_pd_mask(o.u, zero, _CMP_NEQ_UQ);
  // U(W[t-1]) = 2^e (ulp_exponent, a zero W[t-1] taking the smallest normal's); |c| = |u| * 2^-e.
  const __m256i field = _mm256_and_si256(_mm256_srli_epi32(w0_lanes, 7), _mm256_set1_epi32(0xFF));
  const __m256i scale = _mm256_sub_epi32(_mm256_max_epi32(field, _mm256_set1_epi32(1)), _mm256_set1_epi32(127 + 7));
  const __mmask8 w_zero = _mm256_testn_epi32_mask(w0_lanes, _mm256_set1_epi32(0x7FFF));
  const __m256i ulp = _mm256_mask_mov_epi32(scale, w_zero, _mm256_set1_epi32(1 - 127));
  const __m512i power =
      _mm512_maskz_slli_epi64(0xFF, _mm512_maskz_cvtepi32_epi64(0xFF, _mm256_sub_epi32(_mm256_set1_epi32(1023), ulp)), 52);
  o.cells = _mm512_maskz_mul_pd(o.u_nonzero, _mm512_abs_pd(o.u), _mm512_castsi512_pd(power));
  __m256i flags = _mm256_or_si256(state_shifts(bf16_lanes(m0), m1_lanes, kExpAvgShift),
                                  state_shifts(bf16_lanes(v0), v1_lanes, kExpAvgSqShift));
  const __m256i exponent = _mm256_set1_epi32(0x7F80);
  const __mmask8 w_finite = _mm256_cmpneq_epi32_mask(_mm256_and_si256(w0_lanes, exponent), exponent);
  flags = _mm256_mask_or_epi32(flags, w_finite & ~w_zero, flags, _mm256_set1_epi32(int(s.eligible)));
  flags = _mm256_mask_or_epi32(flags, _mm512_cmp_pd_mask(o.delta, zero, _CMP_NEQ_UQ), flags,
                               _mm256_set1_epi32(int(kMoved)));
  const __mmask8 sub_half = _mm512_cmp_pd_mask(o.cells, _mm512_set1_pd(0.5), _CMP_LT_OQ);
  flags = _mm256_mask_or_epi32(flags, sub_half & o.u_nonzero, flags, _mm256_set1_epi32(int(kSubHalfCell)));
  flags = _mm256_mask_or_epi32(flags, __mmask8(~sub_half), flags, _mm256_set1_epi32(int(kHalfCellOrMore)));
  o.flags = _mm256_or_si256(flags, class_flags(o.u, o.delta, counted));
  return o;
}

}  // namespace optimizer
}  // namespace latdisp

#endif
