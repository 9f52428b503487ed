// Device check of the displacement kernel without MPI or HDF5: runs the same
// kernel on the default (device) and the host execution space over a
// synthetic block and requires identical per-step tallies and magnitudes
// (tests/kernels/kernel_harness.hpp: bit for bit, up to the sign of a zero
// extreme and the payload of a NaN marker), row events and per-token motion
// records, then times the device kernel with and without the per-token table.
// For GPU machines that lack the MPI/HDF5 stack; under CTest the same
// comparison against a scalar reference is tests/kernels (kernels_<backend>).
// usage: latdisp_kernel_check [steps tokens dims [repeats [time | formats [FORMAT ...]]]]
//   "time": skip the host comparison (a big block's host run is slow) and only time the device.
//   "formats": only time the kernel on each element format's synthetic block (default: all five).
#include <Kokkos_Core.hpp>

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "kernel_harness.hpp"

using namespace latdisp;
using kernel_harness::HostBlock;

namespace {

// Per-step tallies and row magnitudes of the host and the device run agree.
void count_differences(const HostBlock& block, const KernelSettings& settings, int64_t& bad_steps, int64_t& bad_rows) {
  KernelSettings host_settings = settings;
  host_settings.tokens_per_item = 64;
  const kernel_harness::AnalysisOutput host = kernel_harness::run_analyze_block_on_host(block, true, host_settings);
  const kernel_harness::AnalysisOutput device = kernel_harness::run_analyze_block(block, true, settings);
  const std::vector<ItemTally> a = kernel_harness::per_step(host.tallies), b = kernel_harness::per_step(device.tallies);
  for (size_t t = 0; t < a.size(); ++t) bad_steps += !kernel_harness::tally_difference(a[t], b[t]).empty();
  for (int64_t t = 0; t < block.steps() - 1; ++t)
    for (int64_t n = 0; n < block.tokens(); ++n)
      bad_rows += !kernel_harness::same_magnitude(host.magnitudes(t, n), device.magnitudes(t, n));
}

// Row events and per-token motion records of the host and the device run agree.
int64_t count_token_differences(const HostBlock& block, const KernelSettings& settings, int64_t& bad_rows) {
  const kernel_harness::MotionOutput host = kernel_harness::run_motion(block, settings, true);
  const kernel_harness::MotionOutput device = kernel_harness::run_motion(block, settings, false);
  for (int64_t t = 0; t < block.steps() - 1; ++t)
    for (int64_t n = 0; n < block.tokens(); ++n)
      bad_rows += std::memcmp(&host.events(t, n), &device.events(t, n), sizeof(RowEvents)) != 0;
  int64_t bad_tokens = 0;
  for (int64_t n = 0; n < block.tokens(); ++n)
    bad_tokens += std::memcmp(&host.table(n), &device.table(n), sizeof(TokenMotion)) != 0;
  return bad_tokens;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Best times of the device kernel over `repeats` runs, the block already
// there: alone, and with the per-token table (row events and its update).
std::pair<double, double> best_kernel_seconds(const HostBlock& block, const KernelSettings& settings, int repeats) {
  auto values = Kokkos::create_mirror_view_and_copy(DeviceMemory(), block.values);
  auto dead = Kokkos::create_mirror_view_and_copy(DeviceMemory(), block.dead);
  ItemTallies tallies("latdisp::kernel_check::tallies", block.steps() - 1,
                      block_items_per_transition(block.tokens(), settings.tokens_per_item));
  RowMagnitudes magnitudes("latdisp::kernel_check::magnitudes", block.steps() - 1, block.tokens());
  RowEventViews events("latdisp::kernel_check::events", block.steps() - 1, block.tokens());
  TokenMotionTable table("latdisp::kernel_check::table", block.tokens());
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
  return {best, best_with_table};
}

int check(const HostBlock& block, bool special, const KernelSettings& settings, int repeats, bool compare) {
  int64_t bad_steps = 0, bad_rows = 0, bad_tokens = 0;
  if (compare) {
    count_differences(block, settings, bad_steps, bad_rows);
    bad_tokens = count_token_differences(block, settings, bad_rows);
  }
  const auto [best, best_with_table] = best_kernel_seconds(block, settings, repeats);
  const double coordinates = static_cast<double>((block.steps() - 1) * block.tokens() * block.dims());
  const bool identical = bad_steps == 0 && bad_rows == 0 && bad_tokens == 0;
  std::printf(
      "%-5s %-13s %-7s tokens/item %3lld: %s (%lld steps, %lld rows, %lld tokens differ); kernel %.3g "
      "coordinates/s (%.1f GB/s of W); per-token table +%.1f%%\n",
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

// The kernel's rate on each format's block (the exact arithmetic,
// min-normal, analyze's tokens per item, with row events: what analyze runs),
// one line per format, as tools/benchmark.py reads them.
int time_formats(int64_t steps, int64_t tokens, int64_t dims, int repeats, const std::vector<formats::ElementType>& types) {
  KernelSettings settings;
  settings.tokens_per_item = kDefaultTokensPerItem;
  settings.hop_radius = std::sqrt(static_cast<double>(dims));
  ItemTallies tallies("latdisp::kernel_check::tallies", steps - 1,
                      block_items_per_transition(tokens, settings.tokens_per_item));
  RowMagnitudes magnitudes("latdisp::kernel_check::magnitudes", steps - 1, tokens);
  RowEventViews events("latdisp::kernel_check::events", steps - 1, tokens);
  for (const formats::ElementType type : types) {
    std::vector<uint8_t> dead_flags;
    const std::vector<unsigned char> w =
        synthetic_block(type, TrajectoryModel{7, 0.1, false}, steps, tokens, dims, dead_flags);
    Kokkos::View<uint8_t*, DeviceMemory> dead("latdisp::kernel_check::dead", tokens);
    Kokkos::View<unsigned char*, DeviceMemory> values("latdisp::kernel_check::values", w.size());
    Kokkos::deep_copy(values, Kokkos::View<const unsigned char*, Kokkos::HostSpace, Kokkos::MemoryUnmanaged>(w.data(), w.size()));
    Kokkos::deep_copy(dead, Kokkos::View<const uint8_t*, Kokkos::HostSpace, Kokkos::MemoryUnmanaged>(dead_flags.data(), dead_flags.size()));
    RawBlockValues block;
    block.data = values.data();
    block.steps = steps;
    block.step_stride = tokens * dims;
    block.tokens = tokens;
    block.dims = dims;
    block.type = type;
    double best = 1e30;  // thread CPU time: the machine may be shared
    for (int r = 0; r < repeats; ++r) {
      timespec start, end;
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
      analyze_raw_block(block, dead, true, settings, tallies, magnitudes, events);
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &end);
      best = std::min(best, static_cast<double>(end.tv_sec - start.tv_sec) + 1e-9 * static_cast<double>(end.tv_nsec - start.tv_nsec));
    }
    const double coordinates = static_cast<double>((steps - 1) * tokens * dims);
    std::printf("format %-6s exact min-normal tokens/item 64 events: kernel %.4g coordinates/s (%.2f GB/s of W; CPU time)\n",
                formats::element_type_name(type).c_str(), coordinates / best,
                coordinates * formats::element_bytes(type) / best / 1e9);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Kokkos::ScopeGuard guard(argc, argv);
  const int64_t steps = argc > 1 ? std::atoll(argv[1]) : 65;
  const int64_t tokens = argc > 2 ? std::atoll(argv[2]) : 4096;
  const int64_t dims = argc > 3 ? std::atoll(argv[3]) : 64;
  const int repeats = argc > 4 ? std::atoi(argv[4]) : 5;
  const bool compare = !(argc > 5 && std::strcmp(argv[5], "time") == 0);
  if (argc > 5 && std::strcmp(argv[5], "formats") == 0) {
    std::vector<formats::ElementType> types;
    for (int i = 6; i < argc; ++i) {
      formats::ElementType type;
      if (!formats::parse_element_type(argv[i], type)) {
        std::fprintf(stderr, "latdisp_kernel_check: unknown element type %s (%s)\n", argv[i],
                     formats::element_type_names().c_str());
        return 2;
      }
      types.push_back(type);
    }
    if (types.empty())
      for (int i = 0; i < formats::kElementTypeCount; ++i) types.push_back(static_cast<formats::ElementType>(i));
    return time_formats(steps, tokens, dims, repeats, types);
  }
  std::printf("latdisp kernel check: %s (device) vs %s (host), block %lld x %lld x %lld\n", ExecutionSpace::name(),
              HostSpace::name(), static_cast<long long>(steps), static_cast<long long>(tokens),
              static_cast<long long>(dims));
  int failures = 0, runs = 0;
  for (bool special : {false, true}) {
    const HostBlock block = kernel_harness::make_block(
        special ? kernel_harness::BlockKind::synthetic_special : kernel_harness::BlockKind::synthetic, steps, tokens,
        dims);
    for (Arithmetic arithmetic : {Arithmetic::exact, Arithmetic::seed})
      for (bf16::ZeroUlp zero : {bf16::ZeroUlp::min_normal, bf16::ZeroUlp::min_subnormal})
        for (int64_t per_item : {1, 8, 64}) {
          ++runs;
          KernelSettings settings;
          settings.arithmetic = arithmetic;
          settings.zero_ulp = zero;
          settings.tokens_per_item = per_item;
          settings.hop_radius = std::sqrt(static_cast<double>(dims));
          failures += check(block, special, settings, repeats, compare);
        }
  }
  std::printf("%d passed, %d failed\n", runs - failures, failures);
  return failures == 0 ? 0 : 1;
}
