#include "kokkos_kernels/optimizer/audit_block.hpp"

namespace latdisp {
namespace optimizer {

namespace {

template <class F>
struct AuditFunctor {
  using Bits = typename F::bits_type;
  AuditSettings m_settings;
  int64_t m_slab_tokens;
  Kokkos::View<const Bits*> m_w, m_grad, m_exp_avg, m_exp_avg_sq;
  Kokkos::View<const StepScalars*> m_scalars;
  Kokkos::View<CoordinateOutcome*> m_outcome;
  int m_lanes;

  // One row (step i, token n of the slab).
  KOKKOS_INLINE_FUNCTION void operator()(const int64_t row) const {
    const int64_t i = row / m_slab_tokens, n = row % m_slab_tokens;
    const int64_t dims = m_settings.dims, step = m_slab_tokens * dims;
    const StepScalars s = m_scalars(i);
    const int64_t numel = m_settings.tokens * dims;
    for (int64_t d = 0; d < dims; ++d) {
      const int64_t before = i * step + n * dims + d, after = before + step;
      CoordinateOutcome o = account_coordinate<F>(m_w(before), m_w(after), m_exp_avg(before), m_exp_avg(after),
                                                  m_exp_avg_sq(before), m_exp_avg_sq(after), s);
      const int64_t flat = (m_settings.first_token + n) * dims + d;
      const bool lane = torch_vector_lane(flat, numel, m_settings.torch_threads, m_lanes);
      const Replayed<Bits> r = replay_step<F>(m_settings.rule, m_w(before), m_grad(after), m_exp_avg(before),
                                              m_exp_avg_sq(before), s, m_settings.capability, lane);
      if (r.w != m_w(after)) o.flags |= kMismatchW;
      if (r.exp_avg != m_exp_avg(after)) o.flags |= kMismatchExpAvg;
      if (r.exp_avg_sq != m_exp_avg_sq(after)) o.flags |= kMismatchExpAvgSq;
      if ((o.flags & kDecayEligible) && r.decay_noop) o.flags |= kDecayNoop;
      m_outcome(row * dims + d) = o;
    }
  }
};

}  // namespace

template <class F>
void audit_block(const AuditSettings& settings, int64_t steps, int64_t slab_tokens,
                 Kokkos::View<const typename F::bits_type*> w, Kokkos::View<const typename F::bits_type*> grad,
                 Kokkos::View<const typename F::bits_type*> exp_avg,
                 Kokkos::View<const typename F::bits_type*> exp_avg_sq, Kokkos::View<const StepScalars*> scalars,
                 Kokkos::View<CoordinateOutcome*> outcome) {
  AuditFunctor<F> functor{settings, slab_tokens, w, grad, exp_avg, exp_avg_sq, scalars, outcome,
                          torch_loop_lanes<F>(settings.capability)};
  Kokkos::parallel_for("latdisp::optimizer::audit_block",
                       Kokkos::RangePolicy<Kokkos::IndexType<int64_t>>(0, steps * slab_tokens), functor);
  Kokkos::fence();
}

#define LATDISP_AUDIT_BLOCK(F)                                                                                     \
  template void audit_block<F>(const AuditSettings&, int64_t, int64_t, Kokkos::View<const F::bits_type*>,          \
                               Kokkos::View<const F::bits_type*>, Kokkos::View<const F::bits_type*>,               \
                               Kokkos::View<const F::bits_type*>, Kokkos::View<const StepScalars*>,                \
                               Kokkos::View<CoordinateOutcome*>);
LATDISP_AUDIT_BLOCK(formats::BF16)
LATDISP_AUDIT_BLOCK(formats::F32)
#undef LATDISP_AUDIT_BLOCK

}  // namespace optimizer
}  // namespace latdisp
