// Motion regimes and freezing (docs/definitions.md §15): the hop radius, the per-token motion records kept by each rank
// for its slab during the step-block pass, and the summary of when motion
// stops, derived from the per-step regime counts.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "analysis/analysis_result.hpp"
#include "analysis/view_labels.hpp"
#include "io/checkpoint_archive.hpp"
#include "kokkos_kernels/block_analysis.hpp"

namespace latdisp {

// The hop radius R in cells, derived once per run (by the plan).
struct HopRadius {
  double reported = 0;  // --hop-radius, or sqrt(D) when it is 0 (the double nearest sqrt(D))
  // R as the kernel compares it with the driving arithmetic's magnitudes: the
  // double itself (exact), or the float32 nearest to it (seed, whose
  // magnitudes are float32 values; the default is then the float32 nearest
  // sqrt(D)).
  double compared = 0;
};

// `requested`: --hop-radius (0: sqrt(dims)).
HopRadius derive_hop_radius(double requested, int64_t dims, Arithmetic arithmetic);

// When motion happens and stops, for one population (transition indices t).
struct MotionSummary {
  std::optional<int64_t> first_motion_step, last_motion_step, last_hop_step, last_thermal_step;
  std::optional<int64_t> frozen_from;  // last_motion_step + 1; 0 if never moved; none if the last transition moves
  int64_t global_freeze_steps = 0;     // transitions without a hop or thermal row
};

MotionSummary summarize_motion(const PopulationResult& population);

// The per-token records of a rank's slab, on the device, updated block by
// block (only when a per-token table is wanted).
class TokenMotionTracker {
 public:
  // `enabled` false: nothing is allocated and every call does nothing.
  TokenMotionTracker(bool enabled, int64_t block_transitions, int64_t slab_tokens, double radius);

  bool enabled() const { return m_enabled; }
  // Where the kernel writes the rows' events (empty when disabled).
  RowEventViews events() const { return m_events; }
  // After the kernel ran on a block whose first transition is `first_transition`.
  void update(const RowMagnitudes& block_magnitudes, int64_t first_transition, int64_t block_transitions);
  // The records on the host, one per slab token.
  std::vector<TokenMotion> records() const;
  // The table in a checkpoint (nothing when disabled).
  void save(ArchiveWriter& archive) const;
  void load(ArchiveReader& archive);

  // Device bytes per row and per token, for the memory plan.
  static constexpr uint64_t kRowBytes = sizeof(RowEvents);
  static constexpr uint64_t kTokenBytes = 2 * sizeof(TokenMotion);  // the table and its host copy

 private:
  bool m_enabled;
  double m_radius;
  HostPages m_event_pages;  // before the View on it
  RowEventViews m_events;
  TokenMotionTable m_table;
};

}  // namespace latdisp
