// The |c| keys of chosen top digits, kept as the audit's first pass makes
// them (docs/optimizer.md §5): the percentiles' pass then remakes a wanted
// digit's keys only for the steps before its capture began, and reads
// nothing again where every wanted digit was captured from the first steps.
#pragma once

#include <cstdint>
#include <vector>

#include "optimizer/cell_percentiles.hpp"
#include "optimizer/uninitialized_buffer.hpp"

namespace latdisp {

class CapturedKeys {
 public:
  // At most `limit` keys held; the audit's transitions are 1 .. transitions.
  CapturedKeys(int64_t limit, int64_t transitions);
  CapturedKeys() : CapturedKeys(0, 0) {}
  // From transition `t` on, also hold the digits near the order statistics
  // that `top` (this rank's counts so far) places: kMargin digits either
  // side. A digit once held stays held.
  void widen(const TopDigitCounts& top, int64_t t);
  // One chunk's keys and their bins (TopDigitCounts::bin_of; kBins: no key).
  void add(const uint64_t* keys, const uint32_t* bins, int64_t count);
  // The first transition from which every key of top digit `digit` is held
  // (transitions + 1 where none is).
  int64_t held_from(uint32_t digit) const { return m_held_from[digit]; }
  const UninitializedBuffer<uint64_t>& keys() const { return m_keys; }

  static constexpr int kMargin = 2;

 private:
  void give_up();  // over the limit: nothing held from now on

  int64_t m_limit, m_never;
  bool m_given_up = false;
  std::vector<int64_t> m_held_from;  // by top digit
  std::vector<uint8_t> m_held_bin;   // by bin (kBins + 1 entries): whether add keeps its keys
  UninitializedBuffer<uint64_t> m_keys;
};

}  // namespace latdisp
