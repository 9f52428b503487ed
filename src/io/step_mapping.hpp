// Step blocks of W read in place: a read-only mapping of the file's bytes
// instead of a copy into a buffer, for W stored as one contiguous run of
// little-endian values (TrajectoryReader::contiguous_offset). The
// kernel then reads the page cache directly: no copy, a third of the memory
// traffic (docs/operations.md, "Reads behind compute").
#pragma once

#include <cstdint>
#include <string>

#include "io/trajectory_shape.hpp"
#include "parallel/partition.hpp"

namespace latdisp {

// An open file descriptor, closed on destruction.
class ReadOnlyFile {
 public:
  // Throws Error(kExitInput) if the file cannot be opened.
  explicit ReadOnlyFile(const std::string& path);
  ~ReadOnlyFile();
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;
  int descriptor() const { return m_fd; }
  const std::string& path() const { return m_path; }

 private:
  std::string m_path;
  int m_fd = -1;
};

// Steps [first_step, first_step + steps) of the token slab `slab`, mapped
// with its pages faulted in (so a block is ready, like a read one, when the
// stream hands it over). Step s's rows start at values() + s * step_stride().
class StepMapping {
 public:
  // Throws Error(kExitInput), naming the steps, if the bytes cannot be
  // mapped or faulted in (a file shorter than its header says).
  // `value_bytes`: the bytes of one value (the element format's).
  StepMapping(const ReadOnlyFile& file, uint64_t w_offset, const TrajectoryShape& shape, const TokenRange& slab,
              int64_t first_step, int64_t steps, int value_bytes);
  ~StepMapping();
  StepMapping(const StepMapping&) = delete;
  StepMapping& operator=(const StepMapping&) = delete;

  const void* values() const { return m_values; }
  int64_t step_stride() const { return m_step_stride; }

 private:
  void fault_in(const ReadOnlyFile& file, const TokenRange& slab, int64_t first_step, int64_t steps, int64_t dims,
                int value_bytes);

  void* m_base = nullptr;
  size_t m_length = 0;
  const char* m_values = nullptr;
  int64_t m_step_stride = 0;
};

}  // namespace latdisp
