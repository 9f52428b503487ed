// Every row magnitude of a rank's slab, kept for the exact percentiles: in
// memory when the budget allows, else in a scratch file read back in chunks.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace latdisp {

class ArchiveReader;
class ArchiveWriter;

class MagnitudeStore {
 public:
  // `in_memory` false spills to an unlinked temporary file in `scratch_dir`.
  MagnitudeStore(int64_t capacity, bool in_memory, const std::string& scratch_dir);
  ~MagnitudeStore();
  MagnitudeStore(const MagnitudeStore&) = delete;
  MagnitudeStore& operator=(const MagnitudeStore&) = delete;

  void append(const double* values, int64_t count);
  int64_t size() const { return m_size; }
  bool in_memory() const { return m_file == nullptr; }

  // Calls visit(values, count, first_index) over consecutive chunks.
  void for_each_chunk(const std::function<void(const double*, int64_t, int64_t)>& visit) const;

  // Checkpoint: every magnitude so far; load() appends them to an empty store.
  void save(ArchiveWriter& archive) const;
  void load(ArchiveReader& archive);

  static constexpr int64_t kChunkValues = int64_t(1) << 20;

 private:
  std::vector<double> m_values;
  std::FILE* m_file = nullptr;
  int64_t m_size = 0;
};

}  // namespace latdisp
