// Counts of the distinct finite row magnitudes of a slab, live and dead apart.
// Most rows have integer (or half-integer) coordinates, so m is the correctly
// rounded sqrt(q / 4) for an integer q = 4 S, S the sum of squares: those
// with a small q are counted in an array indexed by q, every other repeated
// value in a hash table by its key (analysis/magnitude_keys.hpp). Both are
// bounded; a value that fits neither is refused and kept by the caller as a
// general value. The order statistics of all rows follow from these counts
// plus the general values (docs/definitions.md §10, docs/architecture.md §7).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "analysis/magnitude_keys.hpp"
#include "parallel/huge_pages.hpp"

namespace latdisp {

class ArchiveReader;
class ArchiveWriter;

// The magnitude of quarter square q: sqrt(q) / 2, exact halving.
inline double quarter_square_root(uint64_t q) { return 0.5 * std::sqrt(static_cast<double>(q)); }

// q with m == quarter_square_root(q) exactly, if there is one below `limit`
// (<= 2^52); false otherwise.
inline bool quarter_square_of(double m, uint64_t limit, uint64_t& q) {
  const double four_squares = 4.0 * m * m;
  if (!(four_squares < static_cast<double>(limit))) return false;
  q = static_cast<uint64_t>(four_squares + 0.5);
  return quarter_square_root(q) == m;
}

class DistinctMagnitudes {
 public:
  // m = sqrt(q / 4) with q below this is counted by q: every row of 64
  // coordinates with |x| <= 32, say.
  static constexpr uint64_t kDenseQuarterSquares = uint64_t(1) << 18;
  // Hash table slots at most (kept at most half full).
  static constexpr size_t kMaxTableSlots = size_t(1) << 17;
  // The most memory both can hold, growth (old and new array at once) included.
  static constexpr uint64_t kMaxBytes =
      (2 * kDenseQuarterSquares * sizeof(int64_t) + kMaxTableSlots * (sizeof(uint64_t) + sizeof(int64_t))) * 3 / 2;

  // Counts `count` rows of magnitude m (finite, >= 0) of a live or dead token;
  // false (and nothing counted) when the table is full.
  bool add(double m, bool dead, int64_t count = 1) {
    uint64_t q = 0;
    if (quarter_square_of(m, kDenseQuarterSquares, q)) {
      add_quarter_square(q, dead, count);
      return true;
    }
    return add_key(magnitude_key(m, dead), count);
  }

  // Counts `count` rows of magnitude quarter_square_root(q), q < kDenseQuarterSquares.
  void add_quarter_square(uint64_t q, bool dead, int64_t count) {
    const size_t index = 2 * static_cast<size_t>(q) + (dead ? 1 : 0);
    if (index >= m_by_quarter_square.size()) grow_dense(index);
    m_by_quarter_square[index] += count;
  }

  // The same for a key; false when the table is full.
  bool add_key(uint64_t key, int64_t count);

  // Calls visit(key, count) once per distinct value counted here (any order).
  template <class Visit>
  void for_each(Visit&& visit) const {
    for (size_t i = 0; i < m_by_quarter_square.size(); ++i)
      if (m_by_quarter_square[i] != 0)
        visit(magnitude_key(quarter_square_root(i / 2), i % 2 == 1), m_by_quarter_square[i]);
    for (size_t i = 0; i < m_keys.size(); ++i)
      if (m_keys[i] != kEmpty) visit(m_keys[i], m_counts[i]);
  }

  // Checkpoint: the arrays and the table exactly as they are.
  void save(ArchiveWriter& archive, const std::string& name) const;
  void load(ArchiveReader& archive, const std::string& name);

 private:
  static constexpr uint64_t kEmpty = ~uint64_t(0);  // the key of no finite value

  void grow_dense(size_t index);
  void rehash(size_t slots);
  size_t slot_of(uint64_t key) const;

  // In huge pages where they grow past 2 MiB (parallel/huge_pages.hpp).
  HugePageVector<int64_t> m_by_quarter_square;  // [2 q + dead]
  HugePageVector<uint64_t> m_keys;              // open addressing, linear probing
  HugePageVector<int64_t> m_counts;
  int m_slot_shift = 64;  // 64 - log2(slots): the hash is the product's top bits
  size_t m_used = 0;
};

}  // namespace latdisp
