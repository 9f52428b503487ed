#include "analysis/motion.hpp"

#include "analysis/view_labels.hpp"

#include <cmath>

namespace latdisp {

HopRadius derive_hop_radius(double requested, int64_t dims, Arithmetic arithmetic) {
  HopRadius radius;
  radius.reported = requested > 0 ? requested : std::sqrt(static_cast<double>(dims));
  radius.compared = radius.reported;
  if (arithmetic != Arithmetic::seed) return radius;
  // Correctly rounded float32 square root of D (exact in float32 below
  // 2^24): not the float32 of the double square root, which rounds twice.
  radius.compared = requested > 0 ? static_cast<double>(static_cast<float>(requested))
                                  : static_cast<double>(std::sqrt(static_cast<float>(dims)));
  return radius;
}

MotionSummary summarize_motion(const PopulationResult& population) {
  const std::vector<int64_t>& hops = population.series[kCountHopRows];
  const std::vector<int64_t>& thermal = population.series[kCountThermalRows];
  const int64_t transitions = static_cast<int64_t>(hops.size());
  MotionSummary summary;
  for (int64_t t = 0; t < transitions; ++t) {
    const size_t i = static_cast<size_t>(t);
    if (hops[i] > 0) summary.last_hop_step = t;
    if (thermal[i] > 0) summary.last_thermal_step = t;
    if (hops[i] + thermal[i] == 0) {
      summary.global_freeze_steps += 1;
      continue;
    }
    if (!summary.first_motion_step) summary.first_motion_step = t;
    summary.last_motion_step = t;
  }
  if (!summary.last_motion_step)
    summary.frozen_from = 0;
  else if (*summary.last_motion_step + 1 < transitions)
    summary.frozen_from = *summary.last_motion_step + 1;
  return summary;
}

// Disabled, the tracker holds empty Views: built in place all the same, never assigned later.
TokenMotionTracker::TokenMotionTracker(bool enabled, int64_t block_transitions, int64_t slab_tokens, double radius)
    : m_enabled(enabled),
      m_radius(radius),
      m_events(host_pages_view<RowEventViews>("latdisp::motion::row_events", m_event_pages,
                                              enabled ? block_transitions : 0, enabled ? slab_tokens : 0)),
      m_table(uninitialized("latdisp::motion::token_table"), enabled ? slab_tokens : 0) {
  if (enabled) reset_token_motion(m_table);
}

void TokenMotionTracker::update(const RowMagnitudes& block_magnitudes, int64_t first_transition,
                                int64_t block_transitions) {
  if (!m_enabled) return;
  const std::pair<int64_t, int64_t> rows(0, block_transitions);
  update_token_motion(Kokkos::subview(block_magnitudes, rows, Kokkos::ALL),
                      Kokkos::subview(m_events, rows, Kokkos::ALL), first_transition, m_radius, m_table);
}

std::vector<TokenMotion> TokenMotionTracker::records() const {
  if (!m_enabled) return {};
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), m_table);
  return std::vector<TokenMotion>(host.data(), host.data() + host.extent(0));
}

namespace {
constexpr int kIntFields = 10;  // TokenMotion's int64 fields, in declaration order
}

void TokenMotionTracker::save(ArchiveWriter& archive) const {
  if (!m_enabled) return;
  const std::vector<TokenMotion> table = records();
  std::vector<int64_t> ints;
  std::vector<double> maxima;
  ints.reserve(table.size() * kIntFields);
  for (const TokenMotion& m : table) {
    ints.insert(ints.end(), {m.hops, m.thermal, m.frozen, m.nonfinite_rows, m.first_moved, m.last_moved, m.crossings,
                             m.non_integer, m.half, m.final_frozen_run});
    maxima.push_back(m.max_magnitude);
  }
  archive.put_ints("motion.per_token.counts", ints);
  archive.put_doubles("motion.per_token.max_magnitude", maxima);
}

void TokenMotionTracker::load(ArchiveReader& archive) {
  if (!m_enabled) return;
  const int64_t tokens = static_cast<int64_t>(m_table.extent(0));
  const std::vector<int64_t> ints = archive.get_ints("motion.per_token.counts", tokens * kIntFields);
  const std::vector<double> maxima = archive.get_doubles("motion.per_token.max_magnitude", tokens);
  auto host = Kokkos::create_mirror_view(m_table);
  for (int64_t n = 0; n < tokens; ++n) {
    const int64_t* v = &ints[static_cast<size_t>(n * kIntFields)];
    TokenMotion& m = host(n);
    m.hops = v[0], m.thermal = v[1], m.frozen = v[2], m.nonfinite_rows = v[3], m.first_moved = v[4];
    m.last_moved = v[5], m.crossings = v[6], m.non_integer = v[7], m.half = v[8], m.final_frozen_run = v[9];
    m.max_magnitude = maxima[static_cast<size_t>(n)];
  }
  Kokkos::deep_copy(m_table, host);
}

}  // namespace latdisp
