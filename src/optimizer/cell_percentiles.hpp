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
#include "parallel/huge_pages.hpp"

namespace latdisp {

constexpr double kCellPercentiles[4] = {50, 90, 99, 99.9};

// This rank's keys counted by population (live, dead) and the top 16 bits of
// their value, as they are made: the select's first pass, made while the
// audit streams (so that the keys need not be kept).
class TopDigitCounts {
 public:
  static constexpr int kBits = 16;
  // Consecutive keys go to kLanes copies of the histograms in turn: most keys
  // share a few bins, and one copy would make each count wait for the last.
  static constexpr int kLanes = 4;
  static constexpr size_t kBins = size_t(2) << kBits;
  TopDigitCounts() : m_lanes(kStride * kLanes, 0) {}
  // A key's bin: dead * 2^kBits + the top kBits bits of its value.
  static uint32_t bin_of(uint64_t key) {
    return (key_is_dead(key) ? uint32_t(1) << kBits : 0u) + uint32_t(key_value_bits(key) >> (64 - kBits));
  }
  void count(uint64_t key, int lane = 0) { ++m_lanes[size_t(lane) * kStride + bin_of(key)]; }
  // Counts bins[0 .. n), each a bin_of or kBins (no key: not counted).
  void count_bins(const uint32_t* bins, int64_t n);
  // The counts by bin: dead * 2^kBits + the key's top kBits bits.
  std::vector<int64_t> counts() const;
  int64_t count_of(size_t bin) const;  // one bin's count (no copy of the histograms)
  // Checkpoint: the counted bins as (bin, count) pairs, and back (false, the
  // counts unchanged, where the pairs are not such a list).
  std::vector<int64_t> counted_bins() const;
  bool restore(const std::vector<int64_t>& pairs);

 private:
  static constexpr size_t kStride = kBins + 8;  // a lane's bins and the bin kBins of no key
  HugePageVector<int64_t> m_lanes;  // 4 MiB: in huge pages
};

// One pass over this rank's keys: calls visit(keys, count) over consecutive
// chunks of at least every key whose top digit (the top kBits bits of its
// value) is marked in `top_digits` (2^kBits flags); the select needs no
// other. Collective: every rank makes its pass together.
using KeyVisit = std::function<void(const uint64_t*, int64_t)>;
using KeyPass = std::function<void(const std::vector<uint8_t>& top_digits, const KeyVisit&)>;

// Collective; keys are magnitude_key(|c|, dead), `top` their counts (the
// pass's keys counted). Every rank gets the result. Where every rank's keys
// that share a statistic's top digit number at most `memory_keys`, one pass
// copies them to memory and the further digits are selected there; else each
// further digit is one more pass.
std::array<std::array<std::optional<double>, 4>, 3> cell_percentiles(const KeyPass& pass,
                                                                     const TopDigitCounts& top, int64_t memory_keys,
                                                                     MPI_Comm comm);

}  // namespace latdisp
