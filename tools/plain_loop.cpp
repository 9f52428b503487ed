// The plain loop of the benchmark (docs/operations.md, performance): the
// common-case work of the displacement analysis written as one straight loop,
// to say how close the kernel comes to it on this CPU. Over a bf16 block
// W[steps, tokens, dims] in memory (the synthetic trajectory of `latdisp
// generate`, the block tools/kernel_check times), for each transition and row:
// crossings (exponent field changed), moved coordinates, and for coordinates
// that keep sign and binade the lattice displacement x from the raw bits, the
// row's min and max of x and its sum of squares. No special values, no dead
// tokens, no general path: only the fast path's arithmetic. One core.
// usage: latdisp_plain_loop [steps tokens dims [repeats]]
// prints one JSON line: {"coordinates_per_s": ..., ...}
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "synthetic/synthetic_trajectory.hpp"

namespace {

struct Totals {
  int64_t crossings = 0, moved = 0;
  int64_t sum_of_squares = 0;  // over rows, so nothing is optimized away
  int32_t min_x = 0, max_x = 0;
};

std::vector<uint16_t> make_block(int64_t steps, int64_t tokens, int64_t dims) {
  const latdisp::TrajectoryModel model{7, 0.1, false};
  std::vector<uint16_t> w(static_cast<size_t>(steps * tokens * dims));
  for (int64_t n = 0; n < tokens; ++n) {
    const bool dead = latdisp::token_is_dead(model, n);
    for (int64_t d = 0; d < dims; ++d) {
      uint16_t value = latdisp::initial_value(model, n, d);
      for (int64_t t = 0; t < steps; ++t) {
        if (t > 0) value = latdisp::next_value(model, value, t - 1, n, d, dead);
        w[static_cast<size_t>((t * tokens + n) * dims + d)] = value;
      }
    }
  }
  return w;
}

// One row of one transition: a = W[t, n, :], b = W[t + 1, n, :].
inline void row(const uint16_t* a, const uint16_t* b, int64_t dims, Totals& totals) {
  int64_t crossings = 0, moved = 0, sum_of_squares = 0;
  int32_t min_x = 0, max_x = 0;
  for (int64_t d = 0; d < dims; ++d) {
    const int32_t before = a[d], after = b[d];
    crossings += ((before ^ after) & 0x7F80) != 0;
    moved += before != after;
    // Same sign and binade: x counts cells on the ordered lattice (negative values run backwards).
    const bool same_binade = ((before ^ after) & 0xFF80) == 0;
    const int32_t steps_up = (before & 0x8000) ? before - after : after - before;
    const int32_t x = same_binade ? steps_up : 0;
    min_x = std::min(min_x, x);
    max_x = std::max(max_x, x);
    sum_of_squares += static_cast<int64_t>(x) * x;
  }
  totals.crossings += crossings;
  totals.moved += moved;
  totals.sum_of_squares += sum_of_squares;
  totals.min_x = std::min(totals.min_x, min_x);
  totals.max_x = std::max(totals.max_x, max_x);
}

Totals pass(const std::vector<uint16_t>& w, int64_t steps, int64_t tokens, int64_t dims) {
  Totals totals;
  const int64_t plane = tokens * dims;
  for (int64_t t = 0; t + 1 < steps; ++t)
    for (int64_t n = 0; n < tokens; ++n) {
      const uint16_t* a = w.data() + t * plane + n * dims;
      row(a, a + plane, dims, totals);
    }
  return totals;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t steps = argc > 1 ? std::atoll(argv[1]) : 65;
  const int64_t tokens = argc > 2 ? std::atoll(argv[2]) : 4096;
  const int64_t dims = argc > 3 ? std::atoll(argv[3]) : 64;
  const int repeats = argc > 4 ? std::atoi(argv[4]) : 5;
  if (steps < 2 || tokens < 1 || dims < 1 || repeats < 1) {
    std::fprintf(stderr, "usage: latdisp_plain_loop [steps>=2 tokens>=1 dims>=1 [repeats>=1]]\n");
    return 2;
  }
  const std::vector<uint16_t> w = make_block(steps, tokens, dims);
  double best = 1e30;
  Totals totals;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    totals = pass(w, steps, tokens, dims);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  const double coordinates = static_cast<double>((steps - 1) * tokens * dims);
  std::printf(
      "{\"steps\": %lld, \"tokens\": %lld, \"dims\": %lld, \"coordinates_per_s\": %.6g, \"crossings\": %lld, "
      "\"moved\": %lld, \"min_x\": %d, \"max_x\": %d, \"sum_of_squares\": %lld}\n",
      static_cast<long long>(steps), static_cast<long long>(tokens), static_cast<long long>(dims), coordinates / best,
      static_cast<long long>(totals.crossings), static_cast<long long>(totals.moved), totals.min_x, totals.max_x,
      static_cast<long long>(totals.sum_of_squares));
  return 0;
}
