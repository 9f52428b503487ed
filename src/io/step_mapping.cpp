#include "io/step_mapping.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "parallel/errors.hpp"

namespace latdisp {

ReadOnlyFile::ReadOnlyFile(const std::string& path) : m_path(path), m_fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
  if (m_fd < 0) fail(kExitInput, "cannot open '" + path + "' for reading: " + std::strerror(errno));
}

ReadOnlyFile::~ReadOnlyFile() {
  if (m_fd >= 0) ::close(m_fd);
}

namespace {

uint64_t page_size() { return static_cast<uint64_t>(sysconf(_SC_PAGESIZE)); }

std::string steps_text(int64_t first_step, int64_t steps) {
  return "steps " + std::to_string(first_step) + ".." + std::to_string(first_step + steps - 1);
}

}  // namespace

StepMapping::StepMapping(const ReadOnlyFile& file, uint64_t w_offset, const TrajectoryShape& shape,
                         const TokenRange& slab, int64_t first_step, int64_t steps, int value_bytes_of_format)
    : m_step_stride(shape.tokens * shape.dims) {
  if (slab.count == 0 || steps == 0) return;
  const uint64_t value_bytes = static_cast<uint64_t>(value_bytes_of_format);
  const uint64_t begin = w_offset + static_cast<uint64_t>(first_step * shape.tokens + slab.begin) *
                                        static_cast<uint64_t>(shape.dims) * value_bytes;
  const uint64_t end =
      w_offset + static_cast<uint64_t>((first_step + steps - 1) * shape.tokens + slab.begin + slab.count) *
                     static_cast<uint64_t>(shape.dims) * value_bytes;
  const uint64_t mapped_begin = begin - begin % page_size();
  m_length = static_cast<size_t>(end - mapped_begin);
  m_base = ::mmap(nullptr, m_length, PROT_READ, MAP_SHARED, file.descriptor(), static_cast<off_t>(mapped_begin));
  if (m_base == MAP_FAILED) {
    m_base = nullptr;
    fail(kExitInput,
         "cannot map " + steps_text(first_step, steps) + " of '" + file.path() + "': " + std::strerror(errno));
  }
  m_values = static_cast<const char*>(m_base) + (begin - mapped_begin);
  fault_in(file, slab, first_step, steps, shape.dims, value_bytes_of_format);
}

StepMapping::~StepMapping() {
  if (m_base != nullptr) ::munmap(m_base, m_length);
}

// Fault in this slab's pages of every step now (on the stream's reader
// thread, behind compute), not when the kernel first touches them. A page
// past the end of a file shrunk since it was opened fails here as an error
// (MADV_POPULATE_READ), where a touch would be SIGBUS.
void StepMapping::fault_in(const ReadOnlyFile& file, const TokenRange& slab, int64_t first_step, int64_t steps,
                           int64_t dims, int value_bytes) {
  const uintptr_t page = page_size();
  const size_t slab_bytes = static_cast<size_t>(slab.count * dims * value_bytes);
  for (int64_t s = 0; s < steps; ++s) {
    const uintptr_t begin = reinterpret_cast<uintptr_t>(m_values + s * m_step_stride * value_bytes);
    const uintptr_t aligned = begin - begin % page;
#ifdef MADV_POPULATE_READ
    if (::madvise(reinterpret_cast<void*>(aligned), begin + slab_bytes - aligned, MADV_POPULATE_READ) == 0) continue;
    if (errno == EINVAL) return;  // a kernel before Linux 5.14: pages fault in as the kernel reads them
    fail(kExitInput, "cannot read " + steps_text(first_step, steps) + " of '" + file.path() +
                         "' (truncated while being read?): " + std::strerror(errno));
#else
    (void)aligned;
    (void)slab_bytes;
    (void)value_bytes;
    (void)file;
    return;
#endif
  }
}

}  // namespace latdisp
