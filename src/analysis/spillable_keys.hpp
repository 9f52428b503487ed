// An append-only list of 64-bit keys: in memory up to a limit, the rest in an
// unlinked scratch file, read back in chunks. It holds the magnitudes that the
// counting tables cannot count (docs/operations.md §2-3).
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace latdisp {

class ArchiveReader;
class ArchiveWriter;

class SpillableKeys {
 public:
  // Keeps up to `memory_keys` keys in memory (reserved up front, so the list
  // never reallocates). With `may_spill` the scratch file is created now, in
  // `scratch_dir`, so a bad directory fails before the work starts; without
  // it, a key past `memory_keys` is an error.
  SpillableKeys(int64_t memory_keys, bool may_spill, const std::string& scratch_dir);
  ~SpillableKeys();
  SpillableKeys(SpillableKeys&& other) noexcept;
  SpillableKeys& operator=(SpillableKeys&&) = delete;
  SpillableKeys(const SpillableKeys&) = delete;
  SpillableKeys& operator=(const SpillableKeys&) = delete;

  void push(uint64_t key) {
    if (static_cast<int64_t>(m_memory.size()) < m_memory_keys) {
      m_memory.push_back(key);
    } else {
      spill(key);
    }
  }
  int64_t size() const {
    return static_cast<int64_t>(m_memory.size()) + m_spilled + static_cast<int64_t>(m_pending.size());
  }

  // Calls visit(keys, count) over consecutive chunks, in the order pushed.
  void for_each_chunk(const std::function<void(const uint64_t*, int64_t)>& visit) const;

  // Checkpoint: every key in order; load() pushes them onto an empty list.
  void save(ArchiveWriter& archive, const std::string& name) const;
  void load(ArchiveReader& archive, const std::string& name);

  // Memory besides the kept keys: the write and read buffers of the file.
  static constexpr int64_t kBufferKeys = int64_t(1) << 16;
  static constexpr uint64_t kBufferBytes = 2 * kBufferKeys * sizeof(uint64_t);

 private:
  void spill(uint64_t key);
  void write_pending();

  int64_t m_memory_keys;
  std::vector<uint64_t> m_memory;
  std::vector<uint64_t> m_pending;  // keys on their way to the file
  std::FILE* m_file = nullptr;
  int64_t m_spilled = 0;  // keys in the file
};

}  // namespace latdisp
