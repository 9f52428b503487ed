// Motion regimes of rows and the per-token motion table (docs/definitions.md
// §15). The displacement kernel classifies every row
// (transition t, token n) by its magnitude m and, when asked, records the
// row's crossings and fractional coordinates; update_token_motion folds a
// block of rows into one record per token, in step order.
#pragma once

#include <Kokkos_Core.hpp>

#include <cstdint>

#include "kokkos_kernels/displacement_tally.hpp"

namespace latdisp {

// In the order of the row counts kCountFrozenRows .. kCountNonfiniteRows.
enum RowRegime : int { kRegimeFrozen = 0, kRegimeHop = 1, kRegimeThermal = 2, kRegimeNonfinite = 3 };
constexpr int kNumRowRegimes = 4;
static_assert(kCountHopRows == kCountFrozenRows + kRegimeHop && kCountNonfiniteRows == kCountFrozenRows + 3,
              "row counts follow RowRegime");

// `radius` is the hop radius in the driving arithmetic's own precision, so
// this one comparison of doubles is the whole rule.
KOKKOS_INLINE_FUNCTION int row_regime(double magnitude, double radius) {
  if (!(magnitude - magnitude == 0.0)) return kRegimeNonfinite;  // NaN or Inf
  if (magnitude == 0.0) return kRegimeFrozen;
  return magnitude <= radius ? kRegimeHop : kRegimeThermal;
}

// What the per-token table needs of one row besides its magnitude.
struct RowEvents {
  int32_t crossed;      // coordinates whose exponent field changed
  int32_t non_integer;  // coordinates in the non_integer class
  int32_t half;         // coordinates in the half class
};

// One token's motion over the transitions seen so far.
struct TokenMotion {
  int64_t hops, thermal, frozen, nonfinite_rows;
  int64_t first_moved, last_moved;  // transition index, -1 if never
  int64_t crossings, non_integer, half;
  int64_t final_frozen_run;  // trailing transitions with a frozen row
  double max_magnitude;      // largest finite m, -1 if none yet

  KOKKOS_INLINE_FUNCTION void reset() {
    hops = thermal = frozen = nonfinite_rows = 0;
    first_moved = last_moved = -1;
    crossings = non_integer = half = 0;
    final_frozen_run = 0;
    max_magnitude = -1.0;
  }
  // Transitions with a hop or thermal row.
  KOKKOS_INLINE_FUNCTION int64_t moved() const { return hops + thermal; }

  // The next row of this token, transition `transition` (rows in step order).
  KOKKOS_INLINE_FUNCTION void add_row(double magnitude, const RowEvents& events, double radius, int64_t transition) {
    crossings += events.crossed;
    non_integer += events.non_integer;
    half += events.half;
    const int regime = row_regime(magnitude, radius);
    final_frozen_run = regime == kRegimeFrozen ? final_frozen_run + 1 : 0;
    if (regime == kRegimeFrozen) frozen += 1;
    if (regime == kRegimeNonfinite) {
      nonfinite_rows += 1;
      return;
    }
    if (magnitude > max_magnitude) max_magnitude = magnitude;
    if (regime == kRegimeFrozen) return;
    if (regime == kRegimeHop)
      hops += 1;
    else
      thermal += 1;
    if (first_moved < 0) first_moved = transition;
    last_moved = transition;
  }
};

template <class Space>
struct MotionViews {
  using Memory = typename Space::memory_space;
  using Events = Kokkos::View<RowEvents**, Kokkos::LayoutRight, Memory>;
  using ConstEvents = Kokkos::View<const RowEvents**, Kokkos::LayoutRight, Memory>;
  using ConstMagnitudes = Kokkos::View<const double**, Kokkos::LayoutRight, Memory>;
  using Table = Kokkos::View<TokenMotion*, Memory>;
};
using RowEventViews = MotionViews<Kokkos::DefaultExecutionSpace>::Events;
using TokenMotionTable = MotionViews<Kokkos::DefaultExecutionSpace>::Table;

// Sets every record of `table` to "nothing seen".
void reset_token_motion(const TokenMotionTable& table);

// Folds rows (t, n) of one step block, t = 0 .. magnitudes.extent(0) - 1
// standing for transition first_transition + t, into table(n). Blocks must
// come in step order, each transition once.
void update_token_motion(const MotionViews<Kokkos::DefaultExecutionSpace>::ConstMagnitudes& magnitudes,
                         const MotionViews<Kokkos::DefaultExecutionSpace>::ConstEvents& events,
                         int64_t first_transition, double radius, const TokenMotionTable& table);

// The same two on the host execution space (for device/host comparisons).
using MotionHostViews = MotionViews<Kokkos::DefaultHostExecutionSpace>;
void reset_token_motion_on_host(const MotionHostViews::Table& table);
void update_token_motion_on_host(const MotionHostViews::ConstMagnitudes& magnitudes,
                                 const MotionHostViews::ConstEvents& events, int64_t first_transition, double radius,
                                 const MotionHostViews::Table& table);

}  // namespace latdisp
