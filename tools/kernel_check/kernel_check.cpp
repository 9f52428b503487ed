// Device check of the displacement kernel without MPI or HDF5: runs the same
// kernel on the default (device) and the host execution space over a
// synthetic block and requires bit-identical per-step tallies, magnitudes,
// row events and per-token motion records, then times the device kernel with
// and without the per-token table. For GPU machines that lack the MPI/HDF5 stack.
// usage: latdisp_kernel_check [steps tokens dims [repeats [time]]]
//   "time": skip the host comparison (a big block's host run is slow) and only time the device.
#include <Kokkos_Core.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kokkos_kernels/block_analysis.hpp"
#include "synthetic/synthetic_trajectory.hpp"

using namespace latdisp;

namespace {

// Per-step merge of item tallies: the tiling differs between spaces.
std::vector<ItemTally> per_step(const BlockViews<HostSpace>::Tallies& tallies) {
  std::vector<ItemTally> steps(tallies.extent(0));
  for (size_t t = 0; t < tallies.extent(0); ++t) {
    steps[t].reset();
    for (size_t i = 0; i < tallies.extent(1); ++i) steps[t].merge(tallies(t, i));
  }
  return steps;
}

bool same_tally(const ItemTally& a, const ItemTally& b) {
  for (int p = 0; p < 2; ++p) {
    const PopulationTally &x = a.population[p], &y = b.population[p];
    for (int c = 0; c < kNumTallyCounts; ++c)
      if (x.counts[c] != y.counts[c]) return false;
    if (std::memcmp(&x.min, &y.min, 5 * sizeof(double)) != 0 || x.width != y.width) return false;
  }
  return a.ulp.zeros == b.ulp.zeros && a.ulp.subnormals == b.ulp.subnormals && a.ulp.nonfinite == b.ulp.nonfinite &&
         a.ulp.min_exponent == b.ulp.min_exponent && a.ulp.max_exponent == b.ulp.max_exponent;
}

bool same_record(const TokenMotion& a, const TokenMotion& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

template <class Clock = std::chrono::steady_clock>
double seconds_since(typename Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int check(int64_t steps, int64_t tokens, int64_t dims, bool special, KernelSettings settings, int repeats,
          bool compare) {
  // A decaying move size: thermal rows, hops and frozen rows in one block.
  const TrajectoryModel model{7, 0.1, special, std::max<int64_t>(1, steps / 8), 0.01};
  settings.hop_radius = std::sqrt(static_cast<double>(dims));
  Kokkos::View<uint16_t***, Kokkos::LayoutRight, Kokkos::HostSpace> host_values("host_values", steps, tokens, dims);
  Kokkos::View<uint8_t*, Kokkos::HostSpace> host_dead("host_dead", tokens);
  for (int64_t n = 0; n < tokens; ++n) host_dead(n) = token_is_dead(model, n);
  for (int64_t n = 0; n < tokens; ++n)
    for (int64_t d = 0; d < dims; ++d) {
      uint16_t v = initial_value(model, n, d);
      for (int64_t t = 0; t < steps; ++t) {
        host_values(t, n, d) = v;
        v = next_value(model, v, t, n, d, host_dead(n) != 0);
      }
    }
  const int64_t transitions = steps - 1;

  KernelSettings host_settings = settings;
  host_settings.tokens_per_item = 64;
  const int64_t host_rows = compare ? transitions : 0;
  BlockViews<HostSpace>::Tallies host_tallies("host_tallies", host_rows,
                                              block_items_per_transition(tokens, host_settings.tokens_per_item));
  BlockViews<HostSpace>::Magnitudes host_magnitudes("host_magnitudes", host_rows, tokens);
  MotionHostViews::Events host_events("host_events", host_rows, tokens);
  MotionHostViews::Table host_table("host_table", compare ? tokens : 0);
  if (compare) {
    analyze_block_on_host(host_values, host_dead, true, host_settings, host_tallies, host_magnitudes, host_events);
    reset_token_motion_on_host(host_table);
    update_token_motion_on_host(host_magnitudes, host_events, 0, settings.hop_radius, host_table);
  }

  auto values = Kokkos::create_mirror_view_and_copy(DeviceMemory(), host_values);
  auto dead = Kokkos::create_mirror_view_and_copy(DeviceMemory(), host_dead);
  ItemTallies tallies("tallies", transitions, block_items_per_transition(tokens, settings.tokens_per_item));
  RowMagnitudes magnitudes("magnitudes", transitions, tokens);
  RowEventViews events("events", transitions, tokens);
  TokenMotionTable table("table", tokens);
  analyze_block(values, dead, true, settings, tallies, magnitudes, events);
  reset_token_motion(table);
  update_token_motion(magnitudes, events, 0, settings.hop_radius, table);
  auto device_tallies = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), tallies);
  auto device_magnitudes = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), magnitudes);
  auto device_events = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), events);
  auto device_table = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), table);

  int64_t bad_steps = 0, bad_rows = 0, bad_tokens = 0;
  if (compare) {
    const std::vector<ItemTally> a = per_step(host_tallies), b = per_step(device_tallies);
    for (int64_t t = 0; t < transitions; ++t) bad_steps += !same_tally(a[t], b[t]);
    for (int64_t t = 0; t < transitions; ++t)
      for (int64_t n = 0; n < tokens; ++n)
        bad_rows += std::memcmp(&host_magnitudes(t, n), &device_magnitudes(t, n), sizeof(double)) != 0 ||
                    std::memcmp(&host_events(t, n), &device_events(t, n), sizeof(RowEvents)) != 0;
    for (int64_t n = 0; n < tokens; ++n) bad_tokens += !same_record(host_table(n), device_table(n));
  }

  // Best of `repeats`: the kernel alone, and with the per-token table (events + update).
  double best = 1e30, best_with_table = 1e30;
  for (int r = 0; r < repeats; ++r) {
    auto start = std::chrono::steady_clock::now();
    analyze_block(values, dead, true, settings, tallies, magnitudes);
    best = std::min(best, seconds_since(start));
    start = std::chrono::steady_clock::now();
    analyze_block(values, dead, true, settings, tallies, magnitudes, events);
    update_token_motion(magnitudes, events, 0, settings.hop_radius, table);
    best_with_table = std::min(best_with_table, seconds_since(start));
  }
  const double coordinates = static_cast<double>(transitions * tokens * dims);
  const bool identical = bad_steps == 0 && bad_rows == 0 && bad_tokens == 0;
  std::printf(
      "%-5s %-13s %-7s tokens/item %3lld: %s (%lld steps, %lld rows, %lld tokens differ); kernel %.3g coordinates/s "
      "(%.1f GB/s of W); per-token table +%.1f%%\n",
      settings.arithmetic == Arithmetic::exact ? "exact" : "seed",
      settings.zero_ulp == bf16::ZeroUlp::min_normal ? "min-normal" : "min-subnormal", special ? "special" : "plain",
      static_cast<long long>(settings.tokens_per_item),
      !compare    ? "timing only"
      : identical ? "IDENTICAL to host"
                  : "MISMATCH",
      static_cast<long long>(bad_steps), static_cast<long long>(bad_rows), static_cast<long long>(bad_tokens),
      coordinates / best, coordinates * 2 / best / 1e9, 100.0 * (best_with_table / best - 1.0));
  return identical ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Kokkos::ScopeGuard guard(argc, argv);
  const int64_t steps = argc > 1 ? std::atoll(argv[1]) : 65;
  const int64_t tokens = argc > 2 ? std::atoll(argv[2]) : 4096;
  const int64_t dims = argc > 3 ? std::atoll(argv[3]) : 64;
  const int repeats = argc > 4 ? std::atoi(argv[4]) : 5;
  const bool compare = !(argc > 5 && std::strcmp(argv[5], "time") == 0);
  std::printf("latdisp kernel check: %s (device) vs %s (host), block %lld x %lld x %lld\n", ExecutionSpace::name(),
              HostSpace::name(), static_cast<long long>(steps), static_cast<long long>(tokens),
              static_cast<long long>(dims));
  int failures = 0, runs = 0;
  for (bool special : {false, true})
    for (Arithmetic arithmetic : {Arithmetic::exact, Arithmetic::seed})
      for (bf16::ZeroUlp zero : {bf16::ZeroUlp::min_normal, bf16::ZeroUlp::min_subnormal})
        for (int64_t per_item : {1, 8, 64}) {
          ++runs;
          KernelSettings settings;
          settings.arithmetic = arithmetic;
          settings.zero_ulp = zero;
          settings.tokens_per_item = per_item;
          failures += check(steps, tokens, dims, special, settings, repeats, compare);
        }
  std::printf("%d passed, %d failed\n", runs - failures, failures);
  return failures == 0 ? 0 : 1;
}
