#include "kokkos_kernels/motion.hpp"

namespace latdisp {

namespace {

template <class Space>
using Policy = Kokkos::RangePolicy<Space, Kokkos::IndexType<int64_t>>;

// Each work item is a run of tokens whose rows it takes transition by
// transition, so every record sees its token's rows in step order. On a GPU
// a run is one token (one thread per token; neighbouring threads read
// neighbouring rows); on the host a run of tokens keeps its records in cache
// while the magnitudes and events stream by in memory order, instead of a
// stride of a whole step per row.
template <class Space>
struct TokenMotionFunctor {
  typename MotionViews<Space>::ConstMagnitudes m_magnitudes;
  typename MotionViews<Space>::ConstEvents m_events;
  typename MotionViews<Space>::Table m_table;
  int64_t m_first_transition;
  int64_t m_transitions;
  int64_t m_tokens;
  int64_t m_tokens_per_item;
  double m_radius;

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t item) const {
    const int64_t begin = item * m_tokens_per_item;
    const int64_t end = begin + m_tokens_per_item < m_tokens ? begin + m_tokens_per_item : m_tokens;
    for (int64_t t = 0; t < m_transitions; ++t)
      for (int64_t n = begin; n < end; ++n)
        m_table(n).add_row(m_magnitudes(t, n), m_events(t, n), m_radius, m_first_transition + t);
  }
};

template <class Space>
constexpr int64_t tokens_per_motion_item() {
  return Kokkos::SpaceAccessibility<Kokkos::HostSpace, typename Space::memory_space>::accessible ? 256 : 1;
}

template <class Space>
struct ResetFunctor {
  typename MotionViews<Space>::Table m_table;
  KOKKOS_INLINE_FUNCTION void operator()(const int64_t n) const { m_table(n).reset(); }
};

template <class Space>
void run_reset(const typename MotionViews<Space>::Table& table) {
  Kokkos::parallel_for("latdisp::motion::reset_token_motion", Policy<Space>(0, static_cast<int64_t>(table.extent(0))),
                       ResetFunctor<Space>{table});
  Kokkos::fence();
}

template <class Space>
void run_update(const typename MotionViews<Space>::ConstMagnitudes& magnitudes,
                const typename MotionViews<Space>::ConstEvents& events, int64_t first_transition, double radius,
                const typename MotionViews<Space>::Table& table) {
  const int64_t tokens = static_cast<int64_t>(table.extent(0));
  const int64_t per_item = tokens_per_motion_item<Space>();
  const TokenMotionFunctor<Space> functor{
      magnitudes, events,   table, first_transition, static_cast<int64_t>(magnitudes.extent(0)),
      tokens,     per_item, radius};
  Kokkos::parallel_for("latdisp::motion::update_token_motion", Policy<Space>(0, (tokens + per_item - 1) / per_item),
                       functor);
  Kokkos::fence();
}

}  // namespace

void reset_token_motion(const TokenMotionTable& table) { run_reset<Kokkos::DefaultExecutionSpace>(table); }

void update_token_motion(const MotionViews<Kokkos::DefaultExecutionSpace>::ConstMagnitudes& magnitudes,
                         const MotionViews<Kokkos::DefaultExecutionSpace>::ConstEvents& events,
                         int64_t first_transition, double radius, const TokenMotionTable& table) {
  run_update<Kokkos::DefaultExecutionSpace>(magnitudes, events, first_transition, radius, table);
}

void reset_token_motion_on_host(const MotionHostViews::Table& table) {
  run_reset<Kokkos::DefaultHostExecutionSpace>(table);
}

void update_token_motion_on_host(const MotionHostViews::ConstMagnitudes& magnitudes,
                                 const MotionHostViews::ConstEvents& events, int64_t first_transition, double radius,
                                 const MotionHostViews::Table& table) {
  run_update<Kokkos::DefaultHostExecutionSpace>(magnitudes, events, first_transition, radius, table);
}

}  // namespace latdisp
