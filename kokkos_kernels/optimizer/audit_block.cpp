#include "kokkos_kernels/optimizer/audit_block.hpp"

#include <algorithm>
#include <type_traits>

#include "kokkos_kernels/optimizer/accounting_avx512.hpp"

namespace latdisp {
namespace optimizer {

// One coordinate's accounting beside its replay flags: account_flat's
// outcome, the replay's kDecayNoop kept only where the decay is eligible.
template <class F>
KOKKOS_FORCEINLINE_FUNCTION void account_one(const typename F::bits_type* w0, const typename F::bits_type* w1,
                                             const typename F::bits_type* m0, const typename F::bits_type* m1,
                                             const typename F::bits_type* v0, const typename F::bits_type* v1,
                                             int64_t d, const StepScalars& s, double* u, double* delta,
                                             double* cells, uint32_t* flags) {
  const CoordinateOutcome o = account_flat<F>(w0[d], w1[d], m0[d], m1[d], v0[d], v1[d], s);
  static_assert(kDecayNoop == kDecayEligible << 1, "a no-op is flagged beside its eligibility");
  u[d] = o.u;
  delta[d] = o.delta;
  cells[d] = o.cells;
  flags[d] = (flags[d] & ~kDecayNoop) | o.flags | ((o.flags & kDecayEligible) << 1 & flags[d]);
}

template <class F>
KOKKOS_FUNCTION void account_coordinates(const typename F::bits_type* w0, const typename F::bits_type* w1,
                         const typename F::bits_type* m0, const typename F::bits_type* m1,
                         const typename F::bits_type* v0, const typename F::bits_type* v1, int64_t count,
                         const StepScalars& s, double* u, double* delta, double* cells, uint32_t* flags) {
  int64_t d = 0;
#if defined(LATDISP_ACCOUNTING_AVX512)
  if constexpr (std::is_same<F, formats::BF16>::value) {
    const EightScalars eight = eight_scalars(s);
    constexpr int64_t kPiece = 64;  // the intended updates of one piece, then its accounting
    alignas(64) double any_u[kPiece];
    while (count - d >= 16) {
      const int64_t piece = std::min(kPiece, (count - d) / 16 * 16);
      intended_updates(w0 + d, m1 + d, v1 + d, piece, eight, any_u);
      for (int64_t k = 0; k < piece; k += 16, d += 16)
        account_sixteen(w0 + d, w1 + d, m0 + d, m1 + d, v0 + d, v1 + d, any_u + k, eight.eligible, u + d, delta + d,
                        cells + d, flags + d);
    }
  }
#endif
  for (; d < count; ++d) account_one<F>(w0, w1, m0, m1, v0, v1, d, s, u, delta, cells, flags);
}

namespace {

template <class F>
struct AuditFunctor {
  using Bits = typename F::bits_type;
  AuditSettings m_settings;
  int64_t m_first_row;
  int64_t m_slab_tokens;
  Kokkos::View<const Bits*> m_w, m_grad, m_exp_avg, m_exp_avg_sq;
  Kokkos::View<const StepScalars*> m_scalars;
  ChunkOutcomes m_outcome;
  int m_lanes;
  int64_t m_torch_chunk;  // torch_chunk_size of the whole tensor

  // One row (step i, token n of the slab), with the rule chosen once per row
  // (and torch-mul-add's vector loop with or without fused multiply-adds: a
  // constant in the flat loop, not a select between both in every lane).
  KOKKOS_INLINE_FUNCTION void operator()(const int64_t row) const {
    if (m_settings.rule == UpdateRule::torch_mul_add) {
      if (m_settings.capability == TorchCapability::default_isa)
        audit_row<UpdateRule::torch_mul_add, TorchCapability::default_isa>(row);
      else
        audit_row<UpdateRule::torch_mul_add, TorchCapability::avx2>(row);
    } else if (m_settings.rule == UpdateRule::torch_lerp) {
      audit_row<UpdateRule::torch_lerp, TorchCapability::avx2>(row);
    } else {
      audit_row<UpdateRule::fused, TorchCapability::avx2>(row);
    }
  }

  // Whether element `flat` runs in torch's vector loop (only torch-mul-add
  // tells the lanes from the tails).
  KOKKOS_INLINE_FUNCTION bool lane(int64_t flat) const {
    return torch_vector_lane(flat, m_settings.tokens * m_settings.dims, m_settings.torch_threads, m_lanes);
  }

  // The pointers of one row: W, exp_avg, exp_avg_sq at t-1 (t at + step),
  // the gradient of step t, and the row's outcomes.
  struct Row {
    const Bits *w, *g, *m, *v;
    int64_t step;
    double *u, *delta, *cells;
    uint32_t* flags;
  };

  KOKKOS_INLINE_FUNCTION Row row_of(int64_t row) const {
    const int64_t i = row / m_slab_tokens, n = row % m_slab_tokens;
    const int64_t dims = m_settings.dims, step = m_slab_tokens * dims, at = i * step + n * dims;
    const int64_t out = (row - m_first_row) * dims;
    return Row{m_w.data() + at,         m_grad.data() + at + step,   m_exp_avg.data() + at,
               m_exp_avg_sq.data() + at, step,                      m_outcome.u.data() + out,
               m_outcome.delta.data() + out, m_outcome.cells.data() + out, m_outcome.flags.data() + out};
  }

  // Fma: the capability as torch_mul_add_step reads it (fused multiply-adds
  // or not; avx2 and avx512 differ in their lanes only, which lane() takes
  // from m_lanes).
  template <UpdateRule Rule, TorchCapability Fma>
  KOKKOS_INLINE_FUNCTION void audit_row(const int64_t row) const {
    const Row r = row_of(row);
    const StepScalars s = m_scalars(row / m_slab_tokens);
    const int64_t dims = m_settings.dims;
    // The common case: every element in torch's vector lanes, two flat loops
    // (the replay in float, the accounting in double: each vectorises).
    if (Rule == UpdateRule::torch_mul_add) replay_lanes_with_ones<Fma>(r, s);
    else replay_lanes<Rule, Fma>(r, s);
    account_coordinates<F>(r.w, r.w + r.step, r.m, r.m + r.step, r.v, r.v + r.step, dims, s, r.u, r.delta, r.cells,
                           r.flags);
    if (Rule != UpdateRule::torch_mul_add) return;
    // A chunk's vector part is its prefix: a row whose last element is in the
    // same chunk's vector part as its first is wholly in it. Else the
    // elements of a scalar tail again, on their rule.
    const int64_t flat = (m_settings.first_token + row % m_slab_tokens) * dims;
    if (wholly_in_lanes(flat, dims)) return;
    for (int64_t d = 0; d < dims; ++d)
      if (!lane(flat + d)) {
        r.flags[d] = replay_flags<Rule, Fma>(r, d, s, false);
        account(r, d, s);
      }
  }

  // A row's replay in torch's vector lanes, one flat loop.
  template <UpdateRule Rule, TorchCapability Fma, bool DecayIsOne = false, bool Beta2IsOne = false>
  KOKKOS_INLINE_FUNCTION void replay_lanes(const Row& r, const StepScalars& s) const {
    for (int64_t d = 0; d < m_settings.dims; ++d)
      r.flags[d] = replay_flags<Rule, Fma, DecayIsOne, Beta2IsOne>(r, d, s, true);
  }

  // torch-mul-add's: without the multiplications by a scalar that the
  // format makes exactly 1 (torch_mul_add_step), chosen once a row.
  template <TorchCapability Fma>
  KOKKOS_INLINE_FUNCTION void replay_lanes_with_ones(const Row& r, const StepScalars& s) const {
    constexpr UpdateRule kRule = UpdateRule::torch_mul_add;
    const bool decay_one = scalar_in_format<F>(s.decay) == 1.0f, beta2_one = scalar_in_format<F>(s.beta2) == 1.0f;
    if (decay_one && beta2_one) replay_lanes<kRule, Fma, true, true>(r, s);
    else if (decay_one) replay_lanes<kRule, Fma, true, false>(r, s);
    else if (beta2_one) replay_lanes<kRule, Fma, false, true>(r, s);
    else replay_lanes<kRule, Fma>(r, s);
  }

  // One coordinate's replay, without a branch: its mismatch flags, and
  // kDecayNoop where the decay left W bit-identical (account() keeps it only
  // where the decay is eligible).
  template <UpdateRule Rule, TorchCapability Fma, bool DecayIsOne = false, bool Beta2IsOne = false>
  KOKKOS_FORCEINLINE_FUNCTION uint32_t replay_flags(const Row& r, int64_t d, const StepScalars& s,
                                                    bool vector_lane) const {
    const Bits w0 = r.w[d], m0 = r.m[d], v0 = r.v[d];
    Replayed<Bits> p;
    if (Rule == UpdateRule::torch_mul_add)
      p = torch_mul_add_step<F, DecayIsOne, Beta2IsOne>(w0, r.g[d], m0, v0, s, Fma, vector_lane);
    else if (Rule == UpdateRule::torch_lerp)
      p = torch_lerp_step<F>(w0, r.g[d], m0, v0, s);
    else
      p = fused_step<F>(w0, r.g[d], m0, v0, s);
    uint32_t flags = p.w != r.w[d + r.step] ? kMismatchW : 0u;
    flags |= p.exp_avg != r.m[d + r.step] ? kMismatchExpAvg : 0u;
    flags |= p.exp_avg_sq != r.v[d + r.step] ? kMismatchExpAvgSq : 0u;
    return flags | (p.decay_noop ? kDecayNoop : 0u);
  }

  // One coordinate's accounting, without a branch, beside its replay flags.
  KOKKOS_FORCEINLINE_FUNCTION void account(const Row& r, int64_t d, const StepScalars& s) const {
    account_one<F>(r.w, r.w + r.step, r.m, r.m + r.step, r.v, r.v + r.step, d, s, r.u, r.delta, r.cells, r.flags);
  }

  // Whether flat elements [flat, flat + count) all run in torch's vector
  // lanes (torch_vector_lane of each): they lie in the vector part, a prefix,
  // of one chunk of torch's thread split. One division a row; the lanes of
  // an iteration are a power of two (two vectors of a power-of-two size).
  KOKKOS_INLINE_FUNCTION bool wholly_in_lanes(int64_t flat, int64_t count) const {
    const int64_t numel = m_settings.tokens * m_settings.dims, chunk = m_torch_chunk;
    const int64_t begin = flat / chunk * chunk;
    const int64_t length = begin + chunk <= numel ? chunk : numel - begin;
    return flat + count <= begin + (length & ~int64_t(m_lanes - 1));
  }
};

// One row's intended cells (block_cells): account_flat in one flat loop,
// of which only u and |c| are kept (the rest is dead code to the compiler);
// for bf16, exp_avg_sq / bc2 by the inverse where the step allows it.
template <class F>
struct CellsFunctor {
  using Bits = typename F::bits_type;
  int64_t m_first_row, m_slab_tokens, m_dims;
  Kokkos::View<const Bits*> m_w, m_exp_avg, m_exp_avg_sq;
  Kokkos::View<const StepScalars*> m_scalars;
  Kokkos::View<double*, Kokkos::MemoryTraits<Kokkos::Unmanaged>> m_cells;

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t row) const {
    const int64_t i = row / m_slab_tokens, n = row % m_slab_tokens;
    const int64_t step = m_slab_tokens * m_dims, at = i * step + n * m_dims;
    const Bits *w = m_w.data() + at, *m = m_exp_avg.data() + at, *v = m_exp_avg_sq.data() + at;
    double* cells = m_cells.data() + (row - m_first_row) * m_dims;
    const StepScalars s = m_scalars(i);
    if (s.by_inverse) this->template row<kByInverse>(w, m, v, step, s, cells);
    else this->template row<false>(w, m, v, step, s, cells);
  }

  static constexpr bool kByInverse = F::mantissa_bits <= 7;  // bf16: prepare_inverse's check holds for it
  template <bool ByInverse>
  KOKKOS_INLINE_FUNCTION void row(const Bits* w, const Bits* m, const Bits* v, int64_t step, const StepScalars& s,
                                  double* cells) const {
    for (int64_t d = 0; d < m_dims; ++d) {
      const CoordinateOutcome o =
          account_flat<F, ByInverse>(w[d], w[d + step], m[d], m[d + step], v[d], v[d + step], s);
      cells[d] = o.u != 0 ? o.cells : -1.0;
    }
  }
};

}  // namespace

template <class F>
void block_cells(const AuditSettings& settings, int64_t first_row, int64_t rows, int64_t slab_tokens,
                 Kokkos::View<const typename F::bits_type*> w, Kokkos::View<const typename F::bits_type*> exp_avg,
                 Kokkos::View<const typename F::bits_type*> exp_avg_sq, Kokkos::View<const StepScalars*> scalars,
                 Kokkos::View<double*, Kokkos::MemoryTraits<Kokkos::Unmanaged>> cells) {
  CellsFunctor<F> functor{first_row, slab_tokens, settings.dims, w, exp_avg, exp_avg_sq, scalars, cells};
  Kokkos::parallel_for("latdisp::optimizer::block_cells",
                       Kokkos::RangePolicy<Kokkos::IndexType<int64_t>>(first_row, first_row + rows), functor);
  Kokkos::fence();
}

template <class F>
void audit_block(const AuditSettings& settings, int64_t first_row, int64_t rows, int64_t slab_tokens,
                 Kokkos::View<const typename F::bits_type*> w, Kokkos::View<const typename F::bits_type*> grad,
                 Kokkos::View<const typename F::bits_type*> exp_avg,
                 Kokkos::View<const typename F::bits_type*> exp_avg_sq, Kokkos::View<const StepScalars*> scalars,
                 const ChunkOutcomes& outcome) {
  AuditFunctor<F> functor{settings, first_row, slab_tokens, w, grad, exp_avg, exp_avg_sq, scalars, outcome,
                          torch_loop_lanes<F>(settings.capability),
                          torch_chunk_size(settings.tokens * settings.dims, settings.torch_threads)};
  Kokkos::parallel_for("latdisp::optimizer::audit_block",
                       Kokkos::RangePolicy<Kokkos::IndexType<int64_t>>(first_row, first_row + rows), functor);
  Kokkos::fence();
}

#define LATDISP_AUDIT_BLOCK(F)                                                                                     \
  template void audit_block<F>(const AuditSettings&, int64_t, int64_t, int64_t, Kokkos::View<const F::bits_type*>, \
                               Kokkos::View<const F::bits_type*>, Kokkos::View<const F::bits_type*>,               \
                               Kokkos::View<const F::bits_type*>, Kokkos::View<const StepScalars*>,                \
                               const ChunkOutcomes&);                                                             \
  template void block_cells<F>(const AuditSettings&, int64_t, int64_t, int64_t, Kokkos::View<const F::bits_type*>, \
                               Kokkos::View<const F::bits_type*>, Kokkos::View<const F::bits_type*>,               \
                               Kokkos::View<const StepScalars*>,                                                   \
                               Kokkos::View<double*, Kokkos::MemoryTraits<Kokkos::Unmanaged>>);                  \
  template void account_coordinates<F>(const F::bits_type*, const F::bits_type*, const F::bits_type*,            \
                                       const F::bits_type*, const F::bits_type*, const F::bits_type*, int64_t,      \
                                       const StepScalars&, double*, double*, double*, uint32_t*);
LATDISP_AUDIT_BLOCK(formats::BF16)
LATDISP_AUDIT_BLOCK(formats::F32)
#undef LATDISP_AUDIT_BLOCK

}  // namespace optimizer
}  // namespace latdisp
