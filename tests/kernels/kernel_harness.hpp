// What the kernel tests (tests/kernels) and the device check
// (tools/kernel_check) share: test blocks of bfloat16 bits built on the host,
// the kernels run on their execution spaces with the results copied back, and
// the comparison of kernel tallies and magnitudes.
#pragma once

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kokkos_kernels/bf16_lattice.hpp"
#include "kokkos_kernels/block_analysis.hpp"
#include "kokkos_kernels/displacement_tally.hpp"
#include "kokkos_kernels/encode_block.hpp"
#include "kokkos_kernels/motion.hpp"
#include "synthetic/synthetic_trajectory.hpp"

namespace latdisp {
namespace kernel_harness {

using HostValues = Kokkos::View<uint16_t***, Kokkos::LayoutRight, Kokkos::HostSpace>;
using HostFlags = Kokkos::View<uint8_t*, Kokkos::HostSpace>;
using HostTallies = Kokkos::View<ItemTally**, Kokkos::LayoutRight, Kokkos::HostSpace>;
using HostMagnitudes = Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace>;

// A block of steps of a token slab: values(step, token, dim) and dead flags.
struct HostBlock {
  HostValues values;
  HostFlags dead;
  int64_t steps() const { return static_cast<int64_t>(values.extent(0)); }
  int64_t tokens() const { return static_cast<int64_t>(values.extent(1)); }
  int64_t dims() const { return static_cast<int64_t>(values.extent(2)); }
};

enum class BlockKind {
  synthetic,          // `latdisp generate`'s trajectory: small moves, some crossings, zeros
  synthetic_special,  // the same with planted subnormals, Inf, NaN, moving zeros, values >= 256
  random_bits,        // every value an independent uniform 16-bit pattern
  edge_values,        // every value drawn from the lattice's edge cases (kEdgeValues)
  mixed_rows,         // synthetic rows with one coordinate in 16 an edge value
  integer_bounds,     // rows whose x at even transitions is one value at the int8 / fast-path limits
};

inline const char* kind_name(BlockKind kind) {
  switch (kind) {
    case BlockKind::synthetic:
      return "synthetic";
    case BlockKind::synthetic_special:
      return "synthetic_special";
    case BlockKind::random_bits:
      return "random_bits";
    case BlockKind::edge_values:
      return "edge_values";
    case BlockKind::mixed_rows:
      return "mixed_rows";
    default:
      return "integer_bounds";
  }
}

// Zeros of both signs, subnormals, the ends of binades, the fast path's
// limits (|b| < 256, |x| < 256), the values whose notebook ULP is 0 or 2,
// the largest finite values, Inf and NaN.
constexpr uint16_t kEdgeValues[] = {
    0x0000, 0x8000, 0x0001, 0x8001, 0x0002, 0x007F, 0x80FF, 0x0080, 0x0100, 0x0180, 0x3F80, 0xBF80, 0x3F81,
    0x3FFF, 0x4000, 0x42FF, 0x4300, 0x437F, 0xC37F, 0x4380, 0x4381, 0x43FF, 0x4400, 0x4401, 0x4B00, 0x5F00,
    0x7F00, 0x7F7F, 0xFF7F, 0x7F80, 0xFF80, 0x7FC0, 0x7F81, 0x3C00, 0xBC00, 0x0300, 0x3400, 0x2000,
};

// The x at the limits of int8 and of the kernel's fast path (|x| < 256), and
// for each a few pairs (b, a) of finite values whose x = (a - b) / U(b) is
// exactly that.
constexpr double kBoundaryX[] = {-256, -255, -129, -128, -127, 127, 128, 255, 256};
constexpr int kBoundaryCount = sizeof kBoundaryX / sizeof kBoundaryX[0];

inline const std::vector<std::pair<uint16_t, uint16_t>>& pairs_with_x(int target) {
  static std::vector<std::pair<uint16_t, uint16_t>> pairs[kBoundaryCount];
  std::vector<std::pair<uint16_t, uint16_t>>& found = pairs[target];
  if (!found.empty()) return found;
  for (uint16_t b : {0x3F80, 0xBF80, 0x3F81, 0xBFFF, 0x4300, 0x437F, 0xC37F, 0x0080}) {
    int for_this_b = 0;
    for (uint32_t a = 0; a < 0x10000 && for_this_b < 2; ++a) {
      const uint16_t to = static_cast<uint16_t>(a);
      if (!bf16::is_finite(to)) continue;
      const bf16::ExactDisplacement x = bf16::exact_displacement(to, b, bf16::ZeroUlp::min_normal);
      if (bf16::to_double(x) != kBoundaryX[target]) continue;
      found.emplace_back(b, to);
      ++for_this_b;
    }
  }
  return found;
}

// One value of the block: a pure function of (kind, seed, step, token, dim)
// and, for the synthetic kinds, the previous step's value.
inline uint16_t block_value(BlockKind kind, const TrajectoryModel& model, uint16_t previous, int64_t t, int64_t n,
                            int64_t d, bool dead) {
  const uint64_t h =
      hash_key(model.seed, 99, static_cast<uint64_t>(t), static_cast<uint64_t>(n), static_cast<uint64_t>(d));
  const uint16_t edge = kEdgeValues[h % (sizeof kEdgeValues / sizeof kEdgeValues[0])];
  switch (kind) {
    case BlockKind::random_bits:
      return static_cast<uint16_t>(h >> 40);
    case BlockKind::edge_values:
      return edge;
    case BlockKind::mixed_rows:
      if ((h >> 32) % 16 == 0) return edge;
      break;
    case BlockKind::integer_bounds: {
      const auto& pairs = pairs_with_x(static_cast<int>(n % kBoundaryCount));
      const auto& pair = pairs[static_cast<size_t>(n / kBoundaryCount + t / 2) % pairs.size()];
      return t % 2 == 0 ? pair.first : pair.second;
    }
    default:
      break;
  }
  return t == 0 ? initial_value(model, n, d) : next_value(model, previous, t - 1, n, d, dead);
}

inline HostBlock make_block(BlockKind kind, int64_t steps, int64_t tokens, int64_t dims, uint64_t seed = 7) {
  const TrajectoryModel model{seed, 0.1, kind == BlockKind::synthetic_special};
  HostBlock block{HostValues("latdisp::kernel_harness::values", steps, tokens, dims),
                  HostFlags("latdisp::kernel_harness::dead", tokens)};
  for (int64_t n = 0; n < tokens; ++n) block.dead(n) = token_is_dead(model, n) ? 1 : 0;
  for (int64_t n = 0; n < tokens; ++n)
    for (int64_t d = 0; d < dims; ++d) {
      uint16_t value = 0;
      for (int64_t t = 0; t < steps; ++t) {
        value = block_value(kind, model, value, t, n, d, block.dead(n) != 0);
        block.values(t, n, d) = value;
      }
    }
  return block;
}

// --- the kernels, run on their execution spaces -------------------------------

struct AnalysisOutput {
  HostTallies tallies;        // (transitions, items)
  HostMagnitudes magnitudes;  // (transitions, tokens)
};

// analyze_block on the default execution space.
inline AnalysisOutput run_analyze_block(const HostBlock& block, bool includes_final_step,
                                        const KernelSettings& settings) {
  const int64_t transitions = block.steps() - 1;
  auto values = Kokkos::create_mirror_view_and_copy(DeviceMemory(), block.values);
  auto dead = Kokkos::create_mirror_view_and_copy(DeviceMemory(), block.dead);
  ItemTallies tallies("latdisp::kernel_harness::tallies", transitions,
                      block_items_per_transition(block.tokens(), settings.tokens_per_item));
  RowMagnitudes magnitudes("latdisp::kernel_harness::magnitudes", transitions, block.tokens());
  analyze_block(values, dead, includes_final_step, settings, tallies, magnitudes);
  return {Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), tallies),
          Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), magnitudes)};
}

// analyze_block_on_host: the same kernel on the default host execution space.
inline AnalysisOutput run_analyze_block_on_host(const HostBlock& block, bool includes_final_step,
                                                const KernelSettings& settings) {
  const int64_t transitions = block.steps() - 1;
  auto values = Kokkos::create_mirror_view_and_copy(HostSpace::memory_space(), block.values);
  auto dead = Kokkos::create_mirror_view_and_copy(HostSpace::memory_space(), block.dead);
  BlockViews<HostSpace>::Tallies tallies("latdisp::kernel_harness::host_tallies", transitions,
                                         block_items_per_transition(block.tokens(), settings.tokens_per_item));
  BlockViews<HostSpace>::Magnitudes magnitudes("latdisp::kernel_harness::host_magnitudes", transitions, block.tokens());
  analyze_block_on_host(values, dead, includes_final_step, settings, tallies, magnitudes);
  return {Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), tallies),
          Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), magnitudes)};
}

// analyze_block with the row events, then the per-token motion table of the
// block (one step block from transition 0), on the default execution space
// (`on_host` false) or the default host execution space.
struct MotionOutput {
  Kokkos::View<RowEvents**, Kokkos::LayoutRight, Kokkos::HostSpace> events;  // (transitions, tokens)
  Kokkos::View<TokenMotion*, Kokkos::HostSpace> table;                       // (tokens)
};

inline MotionOutput run_motion(const HostBlock& block, const KernelSettings& settings, bool on_host) {
  const int64_t transitions = block.steps() - 1;
  if (on_host) {
    auto values = Kokkos::create_mirror_view_and_copy(HostSpace::memory_space(), block.values);
    auto dead = Kokkos::create_mirror_view_and_copy(HostSpace::memory_space(), block.dead);
    BlockViews<HostSpace>::Tallies tallies("latdisp::kernel_harness::host_tallies", transitions,
                                           block_items_per_transition(block.tokens(), settings.tokens_per_item));
    BlockViews<HostSpace>::Magnitudes magnitudes("latdisp::kernel_harness::host_magnitudes", transitions,
                                                 block.tokens());
    MotionHostViews::Events events("latdisp::kernel_harness::host_events", transitions, block.tokens());
    MotionHostViews::Table table("latdisp::kernel_harness::host_table", block.tokens());
    analyze_block_on_host(values, dead, true, settings, tallies, magnitudes, events);
    reset_token_motion_on_host(table);
    update_token_motion_on_host(magnitudes, events, 0, settings.hop_radius, table);
    return {Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), events),
            Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), table)};
  }
  auto values = Kokkos::create_mirror_view_and_copy(DeviceMemory(), block.values);
  auto dead = Kokkos::create_mirror_view_and_copy(DeviceMemory(), block.dead);
  ItemTallies tallies("latdisp::kernel_harness::tallies", transitions,
                      block_items_per_transition(block.tokens(), settings.tokens_per_item));
  RowMagnitudes magnitudes("latdisp::kernel_harness::magnitudes", transitions, block.tokens());
  RowEventViews events("latdisp::kernel_harness::events", transitions, block.tokens());
  TokenMotionTable table("latdisp::kernel_harness::table", block.tokens());
  analyze_block(values, dead, true, settings, tallies, magnitudes, events);
  reset_token_motion(table);
  update_token_motion(magnitudes, events, 0, settings.hop_radius, table);
  return {Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), events),
          Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), table)};
}

// encode_block's outputs, dense: the kinds and values of its exception
// table spread over the coordinates (kind 0, value 0 elsewhere).
struct EncodeOutput {
  Kokkos::View<int64_t***, Kokkos::LayoutRight, Kokkos::HostSpace> integers;
  Kokkos::View<uint8_t***, Kokkos::LayoutRight, Kokkos::HostSpace> kinds;
  Kokkos::View<uint8_t***, Kokkos::LayoutRight, Kokkos::HostSpace> crossed;
  Kokkos::View<uint16_t***, Kokkos::LayoutRight, Kokkos::HostSpace> ulps;
  Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace> values;
  int64_t exceptions = 0;       // rows of the table
  bool table_in_order = false;  // by step, then token, then dim, no row twice
};

// The integers of bf16::IntegerWidth `width` packed in `storage`, as int64.
template <class Integers>
void widen_integers(const Integers& storage, int width,
                    const Kokkos::View<int64_t***, Kokkos::LayoutRight, Kokkos::HostSpace>& to) {
  const size_t count = to.size();
  for (size_t i = 0; i < count; ++i) {
    const void* packed = storage.data();
    to.data()[i] = width == bf16::kInt8    ? static_cast<const int8_t*>(packed)[i]
                   : width == bf16::kInt16 ? static_cast<const int16_t*>(packed)[i]
                   : width == bf16::kInt32 ? static_cast<const int32_t*>(packed)[i]
                                           : static_cast<const int64_t*>(packed)[i];
  }
}

// Spreads the table's rows over the dense kinds and values.
inline void spread_exceptions(const ExceptionTable& table, EncodeOutput& out) {
  const auto index = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), table.index);
  const auto kind = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), table.kind);
  const auto value = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), table.value);
  out.exceptions = table.count;
  out.table_in_order = true;
  for (int64_t r = 0; r < table.count; ++r) {
    const int64_t t = index(r, 0), n = index(r, 1), d = index(r, 2);
    if (r > 0) {
      const int64_t before[3] = {index(r - 1, 0), index(r - 1, 1), index(r - 1, 2)}, now[3] = {t, n, d};
      if (!std::lexicographical_compare(before, before + 3, now, now + 3)) out.table_in_order = false;
    }
    out.kinds(t, n, d) = static_cast<uint8_t>(kind(r));
    out.values(t, n, d) = value(r);
  }
}

// encode_block on the default execution space.
inline EncodeOutput run_encode_block(const HostBlock& block, const KernelSettings& settings, int integer_width) {
  const int64_t steps = block.steps(), tokens = block.tokens(), dims = block.dims();
  auto values = Kokkos::create_mirror_view_and_copy(DeviceMemory(), block.values);
  // Built in place: a default-constructed View assigned later crashes with
  // some Kokkos 4 development snapshots built by GCC 12.
  const EncodedBlock out{
      decltype(EncodedBlock::integers)("latdisp::kernel_harness::integers", (steps - 1) * tokens * dims),
      decltype(EncodedBlock::crossed)("latdisp::kernel_harness::crossed", steps - 1, tokens, dims),
      decltype(EncodedBlock::ulps)("latdisp::kernel_harness::ulps", (steps * tokens * dims + 1) / 2)};
  ExceptionTable table(1);  // grown by encode_block
  encode_block(values, settings, static_cast<bf16::IntegerWidth>(integer_width), 0, 0, out, table);
  EncodeOutput result{Kokkos::View<int64_t***, Kokkos::LayoutRight, Kokkos::HostSpace>(
                          "latdisp::kernel_harness::host_integers", steps - 1, tokens, dims),
                      Kokkos::View<uint8_t***, Kokkos::LayoutRight, Kokkos::HostSpace>(
                          "latdisp::kernel_harness::host_kinds", steps - 1, tokens, dims),
                      Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out.crossed),
                      Kokkos::View<uint16_t***, Kokkos::LayoutRight, Kokkos::HostSpace>(
                          "latdisp::kernel_harness::host_ulps", steps, tokens, dims),
                      Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace>(
                          "latdisp::kernel_harness::host_values", steps - 1, tokens, dims)};
  widen_integers(Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out.integers), integer_width,
                 result.integers);
  // The ULPs are bf16 bits packed from the start of their 32-bit words.
  const auto ulp_words = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out.ulps);
  std::memcpy(result.ulps.data(), ulp_words.data(), result.ulps.size() * sizeof(uint16_t));
  spread_exceptions(table, result);
  return result;
}

// --- comparisons ---------------------------------------------------------------

// The same double: equal bits, or both NaN (the payload of a NaN marker is
// not meaningful), or both zero (the sign of a zero minimum depends on the
// order in which -0 and +0 were visited).
inline bool same_double(double a, double b) {
  if (a != a || b != b) return a != a && b != b;
  if (a == 0.0 && b == 0.0) return true;
  uint64_t x, y;
  std::memcpy(&x, &a, sizeof x);
  std::memcpy(&y, &b, sizeof y);
  return x == y;
}

// A row magnitude: a finite value bit for bit, or non-finite on both sides
// (a non-finite magnitude marks a row excluded from the statistics).
inline bool same_magnitude(double a, double b) {
  const bool finite_a = a - a == 0.0, finite_b = b - b == 0.0;
  if (!finite_a || !finite_b) return finite_a == finite_b;
  return same_double(a, b);
}

// The counts a kernel tally holds: the classes, moved and crossed, float32
// fidelity and the disagreements with their causes.
constexpr int kComparedCounts[] = {kCountExact,         kCountAlmost,         kCountHalf,          kCountNonInteger,
                                   kCountNonfinite,     kCountMoved,          kCountCrossed,       kCountBeyondFloat32,
                                   kCountBeyondFloat64, kCountFloat32Inexact, kCountDisagreements, kCountCauseUlpRule,
                                   kCountCauseRounding, kCountCauseFloor};
constexpr int kDisagreementCounts[] = {kCountDisagreements, kCountCauseUlpRule, kCountCauseRounding, kCountCauseFloor};

// The row counts by motion regime (docs/definitions.md, "Motion regimes").
constexpr int kRegimeCounts[] = {kCountFrozenRows, kCountHopRows, kCountThermalRows, kCountNonfiniteRows};

inline const char* count_name(int count) {
  switch (count) {
    case kCountExact:
      return "exact";
    case kCountAlmost:
      return "almost";
    case kCountHalf:
      return "half";
    case kCountNonInteger:
      return "non_integer";
    case kCountNonfinite:
      return "nonfinite";
    case kCountMoved:
      return "moved";
    case kCountCrossed:
      return "crossed";
    case kCountFrozenRows:
      return "frozen_rows";
    case kCountHopRows:
      return "hop_rows";
    case kCountThermalRows:
      return "thermal_rows";
    case kCountNonfiniteRows:
      return "nonfinite_rows";
    case kCountBeyondFloat32:
      return "beyond_float32";
    case kCountBeyondFloat64:
      return "beyond_float64";
    case kCountFloat32Inexact:
      return "float32_inexact";
    case kCountDisagreements:
      return "disagreements";
    case kCountCauseUlpRule:
      return "cause_ulp_rule";
    case kCountCauseRounding:
      return "cause_rounding";
    case kCountCauseFloor:
      return "cause_floor";
    default:
      return "?";
  }
}

// The first difference between two tallies ("" if none). With
// `compare_disagreements` false the four disagreement counts are skipped.
inline std::string tally_difference(const ItemTally& a, const ItemTally& b, bool compare_disagreements = true) {
  for (int p = 0; p < 2; ++p) {
    const PopulationTally &x = a.population[p], &y = b.population[p];
    const std::string population = p == kLive ? "live " : "dead ";
    for (int c : kComparedCounts) {
      bool disagreement_count = false;
      for (int skipped : kDisagreementCounts) disagreement_count |= c == skipped;
      if (disagreement_count && !compare_disagreements) continue;
      if (x.counts[c] != y.counts[c])
        return population + count_name(c) + " " + std::to_string(x.counts[c]) + " vs " + std::to_string(y.counts[c]);
    }
    for (int c : kRegimeCounts)
      if (x.counts[c] != y.counts[c])
        return population + count_name(c) + " " + std::to_string(x.counts[c]) + " vs " + std::to_string(y.counts[c]);
    const std::pair<const char*, std::pair<double, double>> extremes[] = {{"min", {x.min, y.min}},
                                                                          {"max", {x.max, y.max}},
                                                                          {"max_abs", {x.max_abs, y.max_abs}},
                                                                          {"int_min", {x.int_min, y.int_min}},
                                                                          {"int_max", {x.int_max, y.int_max}}};
    for (const auto& [name, values] : extremes)
      if (!same_double(values.first, values.second))
        return population + name + " " + std::to_string(values.first) + " vs " + std::to_string(values.second);
    if (x.width != y.width) return population + "width " + std::to_string(x.width) + " vs " + std::to_string(y.width);
  }
  const UlpTally &u = a.ulp, &v = b.ulp;
  if (u.zeros != v.zeros || u.subnormals != v.subnormals || u.nonfinite != v.nonfinite)
    return "ulp counts (zeros, subnormals, nonfinite) differ";
  if (u.min_exponent != v.min_exponent)
    return "ulp min exponent " + std::to_string(u.min_exponent) + " vs " + std::to_string(v.min_exponent);
  if (u.max_exponent != v.max_exponent)
    return "ulp max exponent " + std::to_string(u.max_exponent) + " vs " + std::to_string(v.max_exponent);
  return "";
}

// Per-step merge of item tallies (the tiling into items may differ).
inline std::vector<ItemTally> per_step(const HostTallies& tallies) {
  std::vector<ItemTally> steps(tallies.extent(0));
  for (size_t t = 0; t < tallies.extent(0); ++t) {
    steps[t].reset();
    for (size_t i = 0; i < tallies.extent(1); ++i) steps[t].merge(tallies(t, i));
  }
  return steps;
}

}  // namespace kernel_harness
}  // namespace latdisp
