#include "io/mpi_io_path.hpp"

#include <fcntl.h>
#include <unistd.h>

namespace latdisp {

namespace {
// Well below the length at which Open MPI 4.1's OMPIO overflows its buffer.
constexpr size_t kLongestDirectPath = 160;
}  // namespace

MpiIoPath::MpiIoPath(const std::string& path) : m_name(path) {
  if (path.size() <= kLongestDirectPath) return;
  // O_PATH: no read or write permission is used or needed; MPI-IO reopens the file through it.
  m_fd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
  if (m_fd >= 0) m_name = "/proc/self/fd/" + std::to_string(m_fd);
}

MpiIoPath::~MpiIoPath() {
  if (m_fd >= 0) ::close(m_fd);
}

}  // namespace latdisp
