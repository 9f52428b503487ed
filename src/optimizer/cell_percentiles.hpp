// The exact percentiles 50, 90, 99, 99.9 of the intended cells |c| over the
// coordinates with u != 0 (numpy's linear method), for all, live and dead
// tokens: a distributed radix select over keys that a pass makes anew each
// time (docs/optimizer.md §5).
#pragma once

#include <mpi.h>

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "analysis/magnitude_keys.hpp"

namespace latdisp {

constexpr double kCellPercentiles[4] = {50, 90, 99, 99.9};

// This rank's keys counted by population (live, dead) and the top 16 bits of
// their value, as they are made: the select's first pass, made while the
// audit streams (so that the keys need not be kept).
class TopDigitCounts {
 public:
  static constexpr int kBits = 16;
  TopDigitCounts() : m_counts(size_t(2) << kBits, 0) {}
  void count(uint64_t key) {
    ++m_counts[(key_is_dead(key) ? size_t(1) << kBits : 0) + size_t(key_value_bits(key) >> (64 - kBits))];
  }
  const std::vector<int64_t>& counts() const { return m_counts; }
  // Checkpoint: the counted bins as (bin, count) pairs, and back (false, the
  // counts unchanged, where the pairs are not such a list).
  std::vector<int64_t> counted_bins() const;
  bool restore(const std::vector<int64_t>& pairs);

 private:
  std::vector<int64_t> m_counts;
};

// One pass over every key of this rank: calls visit(keys, count) over
// consecutive chunks. Collective: every rank makes its pass together.
using KeyVisit = std::function<void(const uint64_t*, int64_t)>;
using KeyPass = std::function<void(const KeyVisit&)>;

// Collective; keys are magnitude_key(|c|, dead), `top` their counts (the
// pass's keys counted). Every rank gets the result. Where every rank's keys
// that share a statistic's top digit number at most `memory_keys`, one pass
// copies them to memory and the further digits are selected there; else each
// further digit is one more pass.
std::array<std::array<std::optional<double>, 4>, 3> cell_percentiles(const KeyPass& pass,
                                                                     const TopDigitCounts& top, int64_t memory_keys,
                                                                     MPI_Comm comm);

}  // namespace latdisp
