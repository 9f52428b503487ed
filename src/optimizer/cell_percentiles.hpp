// The exact percentiles 50, 90, 99, 99.9 of the intended cells |c| over the
// coordinates with u != 0 (numpy's linear method), for all, live and dead
// tokens: a distributed radix select over the kept keys (docs/optimizer.md §4).
#pragma once

#include <mpi.h>

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "analysis/magnitude_keys.hpp"
#include "analysis/spillable_keys.hpp"

namespace latdisp {

constexpr double kCellPercentiles[4] = {50, 90, 99, 99.9};

// This rank's keys counted by population (live, dead) and the top 16 bits of
// their value, as they are pushed: the select's first pass, made while the
// keys are produced (so that spilled keys are read back one time less).
class TopDigitCounts {
 public:
  static constexpr int kBits = 16;
  TopDigitCounts() : m_counts(size_t(2) << kBits, 0) {}
  void count(uint64_t key) {
    ++m_counts[(key_is_dead(key) ? size_t(1) << kBits : 0) + size_t(key_value_bits(key) >> (64 - kBits))];
  }
  // Recounts every key (after a checkpoint's keys were loaded).
  void recount(const SpillableKeys& keys);
  const std::vector<int64_t>& counts() const { return m_counts; }

 private:
  std::vector<int64_t> m_counts;
};

// Collective; keys are magnitude_key(|c|, dead), `top` their counts. Every
// rank gets the result. Where every rank's keys that share a statistic's top
// digit number at most `memory_keys`, they are copied to memory in one pass
// and the further digits are selected there; else each digit is one more
// pass over all the keys.
std::array<std::array<std::optional<double>, 4>, 3> cell_percentiles(const SpillableKeys& keys,
                                                                     const TopDigitCounts& top, int64_t memory_keys,
                                                                     MPI_Comm comm);

}  // namespace latdisp
