#include "kokkos_kernels/motion.hpp"

namespace latdisp {

namespace {

using Space = Kokkos::DefaultExecutionSpace;
using Policy = Kokkos::RangePolicy<Space, Kokkos::IndexType<int64_t>>;

// One thread per token walks the block's transitions in order, so the
// first/last/trailing-run fields see every row of the token in step order.
struct TokenMotionFunctor {
  MotionViews<Space>::ConstMagnitudes m_magnitudes;
  MotionViews<Space>::ConstEvents m_events;
  MotionViews<Space>::Table m_table;
  int64_t m_first_transition;
  int64_t m_transitions;
  double m_radius;

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t n) const {
    TokenMotion record = m_table(n);
    for (int64_t t = 0; t < m_transitions; ++t) {
      const double m = m_magnitudes(t, n);
      const RowEvents& events = m_events(t, n);
      record.crossings += events.crossed;
      record.non_integer += events.non_integer;
      record.half += events.half;
      const int regime = row_regime(m, m_radius);
      record.final_frozen_run = regime == kRegimeFrozen ? record.final_frozen_run + 1 : 0;
      if (regime == kRegimeFrozen) record.frozen += 1;
      if (regime == kRegimeNonfinite) {
        record.nonfinite_rows += 1;
        continue;
      }
      if (m > record.max_magnitude) record.max_magnitude = m;
      if (regime == kRegimeFrozen) continue;
      if (regime == kRegimeHop)
        record.hops += 1;
      else
        record.thermal += 1;
      const int64_t transition = m_first_transition + t;
      if (record.first_moved < 0) record.first_moved = transition;
      record.last_moved = transition;
    }
    m_table(n) = record;
  }
};

struct ResetFunctor {
  MotionViews<Space>::Table m_table;
  KOKKOS_INLINE_FUNCTION void operator()(const int64_t n) const { m_table(n).reset(); }
};

}  // namespace

void reset_token_motion(const TokenMotionTable& table) {
  Kokkos::parallel_for("latdisp::motion::reset_token_motion", Policy(0, static_cast<int64_t>(table.extent(0))),
                       ResetFunctor{table});
  Kokkos::fence();
}

void update_token_motion(const MotionViews<Space>::ConstMagnitudes& magnitudes,
                         const MotionViews<Space>::ConstEvents& events, int64_t first_transition, double radius,
                         const TokenMotionTable& table) {
  TokenMotionFunctor functor{magnitudes, events, table, first_transition, static_cast<int64_t>(magnitudes.extent(0)),
                             radius};
  Kokkos::parallel_for("latdisp::motion::update_token_motion", Policy(0, static_cast<int64_t>(table.extent(0))),
                       functor);
  Kokkos::fence();
}

}  // namespace latdisp
