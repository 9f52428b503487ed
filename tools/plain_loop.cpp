// The plain loop of the benchmark (docs/operations.md, performance): the
// common-case work of the displacement analysis written as one straight loop,
// to say how close the kernel comes to it on this CPU. Over a block
// W[steps, tokens, dims] of an element format in memory (the synthetic
// trajectory of `latdisp generate --element-type`), for each transition and
// row: crossings (exponent field changed), moved coordinates, and for
// coordinates that keep sign and binade the lattice displacement x from the
// raw bits, the row's min and max of x and its sum of squares. No special
// values, no dead tokens, no general path: only the common case's arithmetic.
// In the same process and on the same block, interleaved with it, the
// kernel itself (analyze_raw_block: the exact arithmetic, min-normal,
// analyze's tokens per item, row events), so that the ratio holds under a shared
// machine's load too; and the kernel as analyze runs it, with the near-zero
// breakdown folded into its pass ("kernel_near_zero_*"). Both timed by the thread's CPU time, best of N. One core.
// usage: latdisp_plain_loop [steps tokens dims [repeats [FORMAT ...]]]
// prints one JSON line per format (default bf16): {"element_type": ..., "coordinates_per_s": ...,
//   "kernel_coordinates_per_s": ..., "kernel_share": ..., ...}
#include <Kokkos_Core.hpp>

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kokkos_kernels/block_analysis.hpp"
#include "kokkos_kernels/formats/element_type.hpp"
#include "kokkos_kernels/near_zero.hpp"
#include "synthetic/synthetic_trajectory.hpp"

namespace {

using namespace latdisp;

struct Totals {
  int64_t crossings = 0, moved = 0;
  int64_t sum_of_squares = 0;  // over rows, so nothing is optimized away
  int64_t min_x = 0, max_x = 0;
};

// One row of one transition: a = W[t, n, :], b = W[t + 1, n, :]. The field
// masks are the format's (F: a traits type of formats/element_type.hpp).
template <class F>
inline void row(const typename F::bits_type* a, const typename F::bits_type* b, int64_t dims, Totals& totals) {
  constexpr uint32_t sign = uint32_t(1) << (F::total_bits - 1);
  constexpr uint32_t exponent = ((uint32_t(1) << F::exponent_bits) - 1) << F::mantissa_bits;
  int64_t crossings = 0, moved = 0, sum_of_squares = 0;
  int32_t min_x = 0, max_x = 0;
  for (int64_t d = 0; d < dims; ++d) {
    const uint32_t before = a[d], after = b[d];
    crossings += ((before ^ after) & exponent) != 0;
    moved += before != after;
    // Same sign and binade: x counts cells on the ordered lattice (negative values run backwards).
    const bool same_binade = ((before ^ after) & (sign | exponent)) == 0;
    const int32_t steps_up = static_cast<int32_t>((before & sign) ? before - after : after - before);
    const int32_t x = same_binade ? steps_up : 0;
    min_x = std::min(min_x, x);
    max_x = std::max(max_x, x);
    sum_of_squares += static_cast<int64_t>(x) * x;
  }
  totals.crossings += crossings;
  totals.moved += moved;
  totals.sum_of_squares += sum_of_squares;
  totals.min_x = std::min<int64_t>(totals.min_x, min_x);
  totals.max_x = std::max<int64_t>(totals.max_x, max_x);
}

template <class F>
Totals pass(const unsigned char* bytes, int64_t steps, int64_t tokens, int64_t dims) {
  const auto* w = reinterpret_cast<const typename F::bits_type*>(bytes);
  Totals totals;
  const int64_t plane = tokens * dims;
  for (int64_t t = 0; t + 1 < steps; ++t)
    for (int64_t n = 0; n < tokens; ++n) {
      const auto* a = w + t * plane + n * dims;
      row<F>(a, a + plane, dims, totals);
    }
  return totals;
}

double cpu_seconds() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

// The loop and the kernel on one format's block, interleaved, best of `repeats` each.
void measure(formats::ElementType type, int64_t steps, int64_t tokens, int64_t dims, int repeats) {
  std::vector<uint8_t> dead_flags;
  const std::vector<unsigned char> w =
      synthetic_block(type, TrajectoryModel{7, 0.1, false}, steps, tokens, dims, dead_flags);
  Kokkos::View<unsigned char*, DeviceMemory> values("latdisp::plain_loop::values", w.size());
  Kokkos::View<uint8_t*, DeviceMemory> dead("latdisp::plain_loop::dead", static_cast<size_t>(tokens));
  Kokkos::deep_copy(values, Kokkos::View<const unsigned char*, Kokkos::HostSpace, Kokkos::MemoryUnmanaged>(
                                w.data(), w.size()));
  Kokkos::deep_copy(dead, Kokkos::View<const uint8_t*, Kokkos::HostSpace, Kokkos::MemoryUnmanaged>(
                              dead_flags.data(), dead_flags.size()));
  KernelSettings settings;
  settings.hop_radius = std::sqrt(static_cast<double>(dims));
  settings.tokens_per_item = kDefaultTokensPerItem;  // what analyze runs
  ItemTallies tallies("latdisp::plain_loop::tallies", steps - 1,
                      block_items_per_transition(tokens, settings.tokens_per_item));
  RowMagnitudes magnitudes("latdisp::plain_loop::magnitudes", steps - 1, tokens);
  RowEventViews events("latdisp::plain_loop::events", steps - 1, tokens);
  const RawBlockValues block{values.data(), steps, tokens * dims, tokens, dims, type};
  NearZeroBlockOutputs near_zero(steps - 1, block_items_per_transition(tokens, settings.tokens_per_item));
  double loop_best = 1e30, kernel_best = 1e30, near_zero_best = 1e30;
  Totals totals;
  for (int r = 0; r < repeats; ++r) {
    double start = cpu_seconds();
    totals = formats::dispatch_element_type(
        type, [&](auto traits) { return pass<decltype(traits)>(w.data(), steps, tokens, dims); });
    loop_best = std::min(loop_best, cpu_seconds() - start);
    start = cpu_seconds();
    analyze_raw_block(block, dead, true, settings, tallies, magnitudes, events);
    kernel_best = std::min(kernel_best, cpu_seconds() - start);
    start = cpu_seconds();
    analyze_raw_block(block, dead, true, settings, tallies, magnitudes, events, &near_zero);
    near_zero_best = std::min(near_zero_best, cpu_seconds() - start);
  }
  const double coordinates = static_cast<double>((steps - 1) * tokens * dims);
  std::printf(
      "{\"element_type\": \"%s\", \"steps\": %lld, \"tokens\": %lld, \"dims\": %lld, \"coordinates_per_s\": %.6g, "
      "\"kernel_coordinates_per_s\": %.6g, \"kernel_share\": %.4f, \"kernel_near_zero_coordinates_per_s\": %.6g, "
      "\"kernel_near_zero_share\": %.4f, \"timing\": \"thread CPU time, best of %d\", "
      "\"crossings\": %lld, \"moved\": %lld, \"min_x\": %lld, \"max_x\": %lld, \"sum_of_squares\": %lld}\n",
      formats::element_type_name(type).c_str(), static_cast<long long>(steps), static_cast<long long>(tokens),
      static_cast<long long>(dims), coordinates / loop_best, coordinates / kernel_best, loop_best / kernel_best,
      coordinates / near_zero_best, loop_best / near_zero_best,
      repeats, static_cast<long long>(totals.crossings), static_cast<long long>(totals.moved),
      static_cast<long long>(totals.min_x), static_cast<long long>(totals.max_x),
      static_cast<long long>(totals.sum_of_squares));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t steps = argc > 1 ? std::atoll(argv[1]) : 65;
  const int64_t tokens = argc > 2 ? std::atoll(argv[2]) : 4096;
  const int64_t dims = argc > 3 ? std::atoll(argv[3]) : 64;
  const int repeats = argc > 4 ? std::atoi(argv[4]) : 5;
  std::vector<formats::ElementType> types;
  for (int i = 5; i < argc; ++i) {
    formats::ElementType type;
    if (!formats::parse_element_type(argv[i], type)) {
      std::fprintf(stderr, "latdisp_plain_loop: unknown element type %s (%s)\n", argv[i],
                   formats::element_type_names().c_str());
      return 2;
    }
    types.push_back(type);
  }
  if (types.empty()) types.push_back(formats::ElementType::bf16);
  if (steps < 2 || tokens < 1 || dims < 1 || repeats < 1) {
    std::fprintf(stderr, "usage: latdisp_plain_loop [steps>=2 tokens>=1 dims>=1 [repeats>=1 [FORMAT ...]]]\n");
    return 2;
  }
  Kokkos::ScopeGuard guard(argc, argv);
  for (const formats::ElementType type : types) measure(type, steps, tokens, dims, repeats);
  return 0;
}
