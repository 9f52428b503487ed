// The percentiles' pass picks, out of a chunk's intended cells |c|, the
// keys whose top digit some wanted order statistic has (docs/optimizer.md
// §5): a few percent of them, for a handful of digits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace latdisp {

class WantedDigits {
 public:
  // `flags`: one per top digit (2^16), nonzero where wanted; the digits of
  // negative values (a -1 for no key) are not.
  explicit WantedDigits(const std::vector<uint8_t>& flags);
  // The keys magnitude_key(|c|, dead) of cells[0 .. count) (a -1 for no key
  // is never wanted) whose top digit is wanted, appended at `keys` in order;
  // how many. `keys` holds count + 8 (whole vectors are stored).
  int64_t select(const double* cells, int64_t count, bool dead, uint64_t* keys) const;

 private:
  int64_t select_by_table(const double* cells, int64_t count, bool dead, uint64_t* keys) const;
  std::vector<uint32_t> m_table;   // by top digit: 1 where wanted
  std::vector<uint64_t> m_digits;  // the wanted digits, where they are few
  static constexpr size_t kFew = 16;
};

}  // namespace latdisp
