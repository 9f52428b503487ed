#include "kokkos_kernels/optimizer/audit_block.hpp"

namespace latdisp {
namespace optimizer {

namespace {

template <class F>
struct AuditFunctor {
  using Bits = typename F::bits_type;
  AuditSettings m_settings;
  int64_t m_first_row;
  int64_t m_slab_tokens;
  Kokkos::View<const Bits*> m_w, m_grad, m_exp_avg, m_exp_avg_sq;
  Kokkos::View<const StepScalars*> m_scalars;
  Kokkos::View<CoordinateOutcome*> m_outcome;
  int m_lanes;

  // One row (step i, token n of the slab), with the rule chosen once per row.
  KOKKOS_INLINE_FUNCTION void operator()(const int64_t row) const {
    if (m_settings.rule == UpdateRule::torch_mul_add) audit_row<UpdateRule::torch_mul_add>(row);
    else if (m_settings.rule == UpdateRule::torch_lerp) audit_row<UpdateRule::torch_lerp>(row);
    else audit_row<UpdateRule::fused>(row);
  }

  // Whether element `flat` runs in torch's vector loop (only torch-mul-add
  // tells the lanes from the tails).
  KOKKOS_INLINE_FUNCTION bool lane(int64_t flat) const {
    return torch_vector_lane(flat, m_settings.tokens * m_settings.dims, m_settings.torch_threads, m_lanes);
  }

  template <UpdateRule Rule>
  KOKKOS_INLINE_FUNCTION void audit_row(const int64_t row) const {
    const int64_t i = row / m_slab_tokens, n = row % m_slab_tokens;
    const int64_t dims = m_settings.dims, step = m_slab_tokens * dims;
    const StepScalars s = m_scalars(i);
    const int64_t flat = (m_settings.first_token + n) * dims;
    // A chunk's vector part is its prefix: a row whose last element is in the
    // same chunk's vector part as its first is wholly in it.
    const bool whole_row_in_lanes = Rule != UpdateRule::torch_mul_add || (lane(flat) && lane(flat + dims - 1) &&
                                                                          same_torch_chunk(flat, flat + dims - 1));
    const Bits* w = m_w.data() + i * step + n * dims;
    const Bits* g = m_grad.data() + i * step + n * dims + step;
    const Bits* m = m_exp_avg.data() + i * step + n * dims;
    const Bits* v = m_exp_avg_sq.data() + i * step + n * dims;
    CoordinateOutcome* out = m_outcome.data() + (row - m_first_row) * dims;
    for (int64_t d = 0; d < dims; ++d) {
      CoordinateOutcome o = account_coordinate<F>(w[d], w[d + step], m[d], m[d + step], v[d], v[d + step], s);
      const bool vector_lane = whole_row_in_lanes || lane(flat + d);
      Replayed<Bits> r;
      if (Rule == UpdateRule::torch_mul_add)
        r = torch_mul_add_step<F>(w[d], g[d], m[d], v[d], s, m_settings.capability, vector_lane);
      else if (Rule == UpdateRule::torch_lerp)
        r = torch_lerp_step<F>(w[d], g[d], m[d], v[d], s);
      else
        r = fused_step<F>(w[d], g[d], m[d], v[d], s);
      if (r.w != w[d + step]) o.flags |= kMismatchW;
      if (r.exp_avg != m[d + step]) o.flags |= kMismatchExpAvg;
      if (r.exp_avg_sq != v[d + step]) o.flags |= kMismatchExpAvgSq;
      if ((o.flags & kDecayEligible) && r.decay_noop) o.flags |= kDecayNoop;
      out[d] = o;
    }
  }

  // Whether flat elements a <= b fall in the same chunk of torch's thread split.
  KOKKOS_INLINE_FUNCTION bool same_torch_chunk(int64_t a, int64_t b) const {
    const int64_t numel = m_settings.tokens * m_settings.dims;
    int64_t chunk = numel;
    if (m_settings.torch_threads > 1 && numel >= 32768) {
      int64_t used = (numel + 32767) / 32768;
      if (used > m_settings.torch_threads) used = m_settings.torch_threads;
      chunk = (numel + used - 1) / used;
    }
    return a / chunk == b / chunk;
  }
};

}  // namespace

template <class F>
void audit_block(const AuditSettings& settings, int64_t first_row, int64_t rows, int64_t slab_tokens,
                 Kokkos::View<const typename F::bits_type*> w, Kokkos::View<const typename F::bits_type*> grad,
                 Kokkos::View<const typename F::bits_type*> exp_avg,
                 Kokkos::View<const typename F::bits_type*> exp_avg_sq, Kokkos::View<const StepScalars*> scalars,
                 Kokkos::View<CoordinateOutcome*> outcome) {
  AuditFunctor<F> functor{settings, first_row, slab_tokens, w, grad, exp_avg, exp_avg_sq, scalars, outcome,
                          torch_loop_lanes<F>(settings.capability)};
  Kokkos::parallel_for("latdisp::optimizer::audit_block",
                       Kokkos::RangePolicy<Kokkos::IndexType<int64_t>>(first_row, first_row + rows), functor);
  Kokkos::fence();
}

#define LATDISP_AUDIT_BLOCK(F)                                                                                     \
  template void audit_block<F>(const AuditSettings&, int64_t, int64_t, int64_t, Kokkos::View<const F::bits_type*>, \
                               Kokkos::View<const F::bits_type*>, Kokkos::View<const F::bits_type*>,               \
                               Kokkos::View<const F::bits_type*>, Kokkos::View<const StepScalars*>,                \
                               Kokkos::View<CoordinateOutcome*>);
LATDISP_AUDIT_BLOCK(formats::BF16)
LATDISP_AUDIT_BLOCK(formats::F32)
#undef LATDISP_AUDIT_BLOCK

}  // namespace optimizer
}  // namespace latdisp
