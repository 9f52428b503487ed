#include "analysis/distinct_magnitudes.hpp"

#include <algorithm>
#include <cstring>

#include "io/checkpoint_archive.hpp"

namespace latdisp {

void DistinctMagnitudes::grow_dense(size_t index) {
  size_t size = std::max<size_t>(m_by_quarter_square.size(), 1024);
  while (size <= index) size *= 2;
  m_by_quarter_square.resize(std::min<size_t>(size, 2 * kDenseQuarterSquares), 0);
}

size_t DistinctMagnitudes::slot_of(uint64_t key) const {
  const size_t mask = m_keys.size() - 1;
  size_t slot = static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> m_slot_shift);
  while (m_keys[slot] != key && m_keys[slot] != kEmpty) slot = (slot + 1) & mask;
  return slot;
}

void DistinctMagnitudes::rehash(size_t slots) {
  HugePageVector<uint64_t> keys(slots, kEmpty);
  HugePageVector<int64_t> counts(slots, 0);
  keys.swap(m_keys);
  counts.swap(m_counts);
  m_slot_shift = 64 - __builtin_ctzll(static_cast<unsigned long long>(slots));
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] == kEmpty) continue;
    const size_t slot = slot_of(keys[i]);
    m_keys[slot] = keys[i];
    m_counts[slot] = counts[i];
  }
}

bool DistinctMagnitudes::add_key(uint64_t key, int64_t count) {
  if (m_keys.empty()) rehash(1024);
  size_t slot = slot_of(key);
  if (m_keys[slot] == kEmpty) {
    if (2 * (m_used + 1) > m_keys.size()) {
      if (m_keys.size() >= kMaxTableSlots) return false;
      rehash(2 * m_keys.size());
      slot = slot_of(key);
    }
    m_keys[slot] = key;
    ++m_used;
  }
  m_counts[slot] += count;
  return true;
}

void DistinctMagnitudes::save(ArchiveWriter& archive, const std::string& name) const {
  archive.put_ints(name + ".by_quarter_square", m_by_quarter_square.data(),
                   static_cast<int64_t>(m_by_quarter_square.size()));
  archive.put_ints(name + ".keys", reinterpret_cast<const int64_t*>(m_keys.data()),
                   static_cast<int64_t>(m_keys.size()));
  archive.put_ints(name + ".counts", m_counts.data(), static_cast<int64_t>(m_counts.size()));
  archive.put_ints(name + ".shape", {m_slot_shift, static_cast<int64_t>(m_used)});
}

void DistinctMagnitudes::load(ArchiveReader& archive, const std::string& name) {
  const std::vector<int64_t> by_quarter_square = archive.get_ints(name + ".by_quarter_square");
  m_by_quarter_square.assign(by_quarter_square.begin(), by_quarter_square.end());
  const std::vector<int64_t> keys = archive.get_ints(name + ".keys");
  m_keys.assign(keys.size(), kEmpty);
  std::memcpy(m_keys.data(), keys.data(), keys.size() * sizeof(uint64_t));
  const std::vector<int64_t> counts = archive.get_ints(name + ".counts", static_cast<int64_t>(keys.size()));
  m_counts.assign(counts.begin(), counts.end());
  const std::vector<int64_t> shape = archive.get_ints(name + ".shape", 2);
  m_slot_shift = static_cast<int>(shape[1] >= 0 ? shape[0] : 64);
  m_used = static_cast<size_t>(shape[1]);
  const size_t slots = m_keys.size();
  const bool power_of_two = slots == 0 || (slots & (slots - 1)) == 0;
  const size_t used =
      static_cast<size_t>(std::count_if(m_keys.begin(), m_keys.end(), [](uint64_t k) { return k != kEmpty; }));
  if (m_by_quarter_square.size() > 2 * kDenseQuarterSquares || slots > kMaxTableSlots || !power_of_two ||
      used != m_used || (slots > 0 && m_slot_shift != 64 - __builtin_ctzll(static_cast<unsigned long long>(slots))))
    archive.damaged("field '" + name + "' is not a table of distinct magnitudes");
}

}  // namespace latdisp
