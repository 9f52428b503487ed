// The AdamW update rules the optimizer audit replays (docs/optimizer.md §3),
// one element at a time, bit for bit: every tensor operation rounds its result
// to the parameter's format as PyTorch's CPU kernels do. Templated on the
// format traits of formats/element_format.hpp (bf16 and f32 parameters; the
// states in the parameter's format). Host and device alike.
#pragma once

#include <Kokkos_Core.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "kokkos_kernels/formats/element_format.hpp"

namespace latdisp {
namespace optimizer {

enum class UpdateRule : int { torch_mul_add = 0, torch_lerp = 1, fused = 2 };
// torch's ATEN_CPU_CAPABILITY: which compiled copy of its CPU kernels ran.
enum class TorchCapability : int { default_isa = 0, avx2 = 1, avx512 = 2 };

// The operations of a rule, in order; a replay that mismatches names the
// first whose result (or whose tensor) differs (docs/optimizer.md §3).
enum class Operation : int {
  none = 0,
  weight_decay = 1,     // p.mul_(1 - lr*wd)
  exp_avg_update = 2,   // exp_avg.mul_(b1).add_(g, 1 - b1) / lerp_(g, 1 - b1)
  exp_avg_sq_update = 3,  // exp_avg_sq.mul_(b2).addcmul_(g, g, 1 - b2)
  parameter_update = 4  // p.addcdiv_(exp_avg, denom, -lr/bc1)
};

// The scalars of one step as the optimizer computes them in Python (double).
struct StepScalars {
  double lr = 0, weight_decay = 0, beta1 = 0, beta2 = 0, eps = 0;
  double decay = 1;          // 1 - lr*wd
  double step_size = 0;      // lr / (1 - b1^k)
  double bc2_sqrt = 1;       // sqrt(1 - b2^k)
  double bias_correction2 = 1;
  // The accounting's exp_avg_sq / bc2 of a bf16 value by the inverse
  // (prepare_inverse in coordinate_accounting.hpp): 1 / bc2, and whether that
  // gives every bf16 value's correctly rounded quotient.
  double inverse_bc2 = 0;
  bool by_inverse = false;
};

// The result of one element's replay.
template <class Bits>
struct Replayed {
  Bits w, exp_avg, exp_avg_sq;
  bool decay_noop;  // the decay operation left p bit-identical
};

template <class F>
struct Rounding;

// bfloat16: float -> bf16 round to nearest even. torch's vectorised loops
// write NaN as 0xFFFF, its scalar code (c10::BFloat16) as 0x7FC0.
template <>
struct Rounding<formats::BF16> {
  KOKKOS_FORCEINLINE_FUNCTION static uint16_t round(float f, bool vector_lane) {
    if (f != f) return vector_lane ? uint16_t(0xFFFF) : uint16_t(0x7FC0);
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    const uint32_t bias = ((u >> 16) & 1u) + 0x7FFFu;
    return uint16_t((u + bias) >> 16);
  }
  KOKKOS_FORCEINLINE_FUNCTION static float to_float(uint16_t b) {
    const uint32_t u = uint32_t(b) << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
  }
  // round(f) where f is already a value of the format (an in_format result,
  // NaN included: its bits are round's NaN of the same lane kind): its bits.
  KOKKOS_FORCEINLINE_FUNCTION static uint16_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return uint16_t(u >> 16);
  }
  static constexpr bool reduced = true;
};

template <>
struct Rounding<formats::F32> {
  KOKKOS_FORCEINLINE_FUNCTION static uint32_t round(float f, bool) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
  }
  KOKKOS_FORCEINLINE_FUNCTION static float to_float(uint32_t b) {
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
  }
  KOKKOS_FORCEINLINE_FUNCTION static uint32_t bits_of(float f) { return round(f, true); }
  static constexpr bool reduced = false;
};

// A value rounded to the format and back to float.
template <class F>
KOKKOS_FORCEINLINE_FUNCTION float in_format(float f, bool vector_lane) {
  return Rounding<F>::to_float(Rounding<F>::round(f, vector_lane));
}

// A Python float scalar as torch 1.13 hands it to a kernel of the tensor's
// dtype: double -> float -> format (two roundings for bf16).
template <class F>
KOKKOS_FORCEINLINE_FUNCTION float scalar_in_format(double s) {
  return in_format<F>(static_cast<float>(s), false);
}

// The length of each chunk of at::parallel_for's split of [0, numel) over
// `threads` threads (torch_vector_lane; the last chunk may be shorter).
KOKKOS_INLINE_FUNCTION int64_t torch_chunk_size(int64_t numel, int threads) {
  constexpr int64_t grain = 32768;
  int64_t chunk = numel;
  if (threads > 1 && numel >= grain) {
    int64_t used = (numel + grain - 1) / grain;
    if (used > threads) used = threads;
    chunk = (numel + used - 1) / used;
  }
  return chunk;
}

// Whether flat element `index` of a tensor of `numel` elements runs in
// torch's vectorised loop (true) or in the scalar tail of its thread's chunk
// (docs/optimizer.md §3): at::parallel_for splits [0, numel) into
// ceil(numel / T) chunks for T = min(threads, ceil(numel / 32768)) threads
// (one chunk below 32768 elements); each chunk runs whole iterations of
// `lanes` elements (two vectors), then the rest one by one.
KOKKOS_INLINE_FUNCTION bool torch_vector_lane(int64_t index, int64_t numel, int threads, int lanes) {
  const int64_t chunk = torch_chunk_size(numel, threads);
  const int64_t begin = (index / chunk) * chunk;
  const int64_t length = (begin + chunk <= numel ? chunk : numel - begin);
  return index - begin < length - length % lanes;
}

// Elements per iteration of torch's vectorised loop (two vectors).
template <class F>
KOKKOS_INLINE_FUNCTION int torch_loop_lanes(TorchCapability capability) {
  const int vector_bytes = capability == TorchCapability::avx512 ? 64 : 32;
  return 2 * vector_bytes / (F::total_bits / 8);
}

// torch.optim.AdamW's single-tensor step up to torch 1.13 on the CPU
// (docs/optimizer.md §3.1): each operation in float32, its result rounded to
// the format; the scalars of mul_, of a division by a scalar, of add_(scalar)
// and add_'s alpha in the format; addcmul_/addcdiv_'s value in float32; FMA
// where the capability's vectorised loops use it.
// Forced inline: in the kernel's loop over a row the step's scalars in the
// format are computed once, not per element.
// DecayIsOne, Beta2IsOne: for a step whose 1 - lr*wd, resp. beta2, is exactly
// 1 in the format (scalar_in_format; bf16 makes 0.99999 and 0.999 so), where
// x * 1 is x: that multiplication and its rounding are left out, with the
// same results (a NaN W or exp_avg_sq gives a NaN either way, which every
// later rounding writes as its lane's NaN), but decay_noop for a NaN W: false
// (the audit counts the decay only where W is finite).
template <class F, bool DecayIsOne = false, bool Beta2IsOne = false>
KOKKOS_FORCEINLINE_FUNCTION Replayed<typename F::bits_type> torch_mul_add_step(
    typename F::bits_type w_bits, typename F::bits_type g_bits, typename F::bits_type m_bits,
    typename F::bits_type v_bits, const StepScalars& s, TorchCapability capability, bool vector_lane) {
  using R = Rounding<F>;
  const bool fma_loop = capability != TorchCapability::default_isa;
  const float w = R::to_float(w_bits), g = R::to_float(g_bits);
  // p.mul_(1 - lr*wd)
  const float p1 = DecayIsOne ? w : in_format<F>(w * scalar_in_format<F>(s.decay), vector_lane);
  // exp_avg.mul_(b1).add_(g, alpha=1 - b1)
  const float m1 = in_format<F>(R::to_float(m_bits) * scalar_in_format<F>(s.beta1), vector_lane);
  const float alpha = scalar_in_format<F>(1.0 - s.beta1);
  float m2;
  if (fma_loop && (vector_lane || !R::reduced))
    m2 = in_format<F>(std::fma(g, alpha, m1), vector_lane);
  else
    m2 = in_format<F>(in_format<F>(alpha * g, vector_lane) + m1, vector_lane);
  // exp_avg_sq.mul_(b2).addcmul_(g, g, value=1 - b2)
  const float v = R::to_float(v_bits);
  const float v1 = Beta2IsOne ? v : in_format<F>(v * scalar_in_format<F>(s.beta2), vector_lane);
  const float value = static_cast<float>(1.0 - s.beta2);
  const float cg = value * g;
  const float v2 = in_format<F>(fma_loop ? std::fma(cg, g, v1) : cg * g + v1, vector_lane);
  // denom = (exp_avg_sq.sqrt() / sqrt(bc2)).add_(eps)
  const float root = in_format<F>(std::sqrt(v2), vector_lane);
  const float scaled = in_format<F>(root / scalar_in_format<F>(s.bc2_sqrt), vector_lane);
  const float denom = in_format<F>(scaled + scalar_in_format<F>(s.eps), vector_lane);
  // p.addcdiv_(exp_avg, denom, value=-lr/bc1)
  const float step = static_cast<float>(-s.step_size);
  const float quotient = (step * m2) / denom;
  const float p2 = p1 + quotient;
  // m2, v2 and p1 are values of the format already: their bits, no rounding.
  Replayed<typename F::bits_type> r;
  r.w = R::round(p2, vector_lane);
  r.exp_avg = R::bits_of(m2);
  r.exp_avg_sq = R::bits_of(v2);
  r.decay_noop = DecayIsOne ? w == w : R::bits_of(p1) == w_bits;
  return r;
}

// torch 2's lerp (aten/src/ATen/native/cpu/LerpKernel.cpp, lerp_vec):
// fma(weight, end - start, start) for |weight| < 1/2, else
// fma(weight - 1, end - start, end), in float32.
KOKKOS_FORCEINLINE_FUNCTION float torch_lerp(float start, float end, float weight) {
  const float difference = end - start;
  if (std::fabs(weight) < 0.5f) return std::fma(weight, difference, start);
  return std::fma(weight - 1.0f, difference, end);
}

// torch 2.x's single-tensor AdamW on the CPU (docs/optimizer.md §3.2): the
// same operations with exp_avg.lerp_(g, 1 - b1), and every Python scalar
// taken in float32 (opmath) by the reduced-precision kernels.
template <class F>
KOKKOS_FORCEINLINE_FUNCTION Replayed<typename F::bits_type> torch_lerp_step(
    typename F::bits_type w_bits, typename F::bits_type g_bits, typename F::bits_type m_bits,
    typename F::bits_type v_bits, const StepScalars& s) {
  using R = Rounding<F>;
  const float w = R::to_float(w_bits), g = R::to_float(g_bits);
  const float p1 = in_format<F>(w * static_cast<float>(s.decay), true);
  const float m2 = in_format<F>(torch_lerp(R::to_float(m_bits), g, static_cast<float>(1.0 - s.beta1)), true);
  const float v1 = in_format<F>(R::to_float(v_bits) * static_cast<float>(s.beta2), true);
  const float cg = static_cast<float>(1.0 - s.beta2) * g;
  const float v2 = in_format<F>(std::fma(cg, g, v1), true);
  const float root = in_format<F>(std::sqrt(v2), true);
  const float scaled = in_format<F>(root / static_cast<float>(s.bc2_sqrt), true);
  const float denom = in_format<F>(scaled + static_cast<float>(s.eps), true);
  const float quotient = (static_cast<float>(-s.step_size) * m2) / denom;
  Replayed<typename F::bits_type> r;
  r.w = R::round(p1 + quotient, true);
  r.exp_avg = R::bits_of(m2);
  r.exp_avg_sq = R::bits_of(v2);
  r.decay_noop = R::bits_of(p1) == w_bits;
  return r;
}

// torch's fused AdamW on the CPU (aten/src/ATen/native/cpu/FusedAdamKernel.cpp,
// torch 2.4+, its vectorised loop; docs/optimizer.md §3.3): everything in
// float32 on the upcast values, the scalars in float32, one rounding of p,
// exp_avg and exp_avg_sq at the end (the parameter uses the unrounded
// exp_avg and exp_avg_sq).
template <class F>
KOKKOS_FORCEINLINE_FUNCTION Replayed<typename F::bits_type> fused_step(typename F::bits_type w_bits,
                                                                  typename F::bits_type g_bits,
                                                                  typename F::bits_type m_bits,
                                                                  typename F::bits_type v_bits, const StepScalars& s) {
  using R = Rounding<F>;
  const float w = R::to_float(w_bits), g = R::to_float(g_bits);
  const float p1 = s.weight_decay != 0 ? w * static_cast<float>(s.decay) : w;
  const float m = torch_lerp(R::to_float(m_bits), g, static_cast<float>(1.0 - s.beta1));
  const float v = R::to_float(v_bits) * static_cast<float>(s.beta2) + (static_cast<float>(1.0 - s.beta2) * g) * g;
  const float denom = std::sqrt(v) / static_cast<float>(s.bc2_sqrt) + static_cast<float>(s.eps);
  const float p2 = p1 - (static_cast<float>(s.step_size) * m) / denom;
  Replayed<typename F::bits_type> r;
  r.w = R::round(p2, true);
  r.exp_avg = R::round(m, true);
  r.exp_avg_sq = R::round(v, true);
  r.decay_noop = R::round(p1, true) == w_bits;
  return r;
}

template <class F>
KOKKOS_INLINE_FUNCTION Replayed<typename F::bits_type> replay_step(
    UpdateRule rule, typename F::bits_type w, typename F::bits_type g, typename F::bits_type m,
    typename F::bits_type v, const StepScalars& s, TorchCapability capability, bool vector_lane) {
  if (rule == UpdateRule::torch_mul_add) return torch_mul_add_step<F>(w, g, m, v, s, capability, vector_lane);
  if (rule == UpdateRule::torch_lerp) return torch_lerp_step<F>(w, g, m, v, s);
  return fused_step<F>(w, g, m, v, s);
}

}  // namespace optimizer
}  // namespace latdisp
