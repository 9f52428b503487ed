#include "io/durable_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "io/input_path.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {
constexpr size_t kBufferBytes = size_t(1) << 20;
}

DurableFile::DurableFile(const std::string& target) : m_target(target), m_temporary(target + ".partial") {
  m_fd = ::open(m_temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (m_fd < 0) failed("cannot create");
  m_buffer.reserve(kBufferBytes);
}

DurableFile::~DurableFile() {
  if (m_fd >= 0) {
    ::close(m_fd);
    ::unlink(m_temporary.c_str());
  }
}

void DurableFile::failed(const std::string& what) const {
  fail(kExitOutput, what + " '" + m_temporary + "': " + std::strerror(errno));
}

void DurableFile::write(const void* data, size_t bytes) {
  const char* bytes_in = static_cast<const char*>(data);
  m_bytes += bytes;
  while (bytes > 0) {
    const size_t room = kBufferBytes - m_buffer.size();
    const size_t take = bytes < room ? bytes : room;
    m_buffer.insert(m_buffer.end(), bytes_in, bytes_in + take);
    bytes_in += take;
    bytes -= take;
    if (m_buffer.size() == kBufferBytes) flush();
  }
}

void DurableFile::flush() {
  size_t done = 0;
  while (done < m_buffer.size()) {
    const ssize_t written = ::write(m_fd, m_buffer.data() + done, m_buffer.size() - done);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) failed("writing");
    done += static_cast<size_t>(written);
  }
  m_buffer.clear();
}

void DurableFile::commit() {
  flush();
  if (::fsync(m_fd) != 0) failed("flushing to disk");
  const int fd = m_fd;
  m_fd = -1;
  if (::close(fd) != 0) {
    ::unlink(m_temporary.c_str());
    failed("closing");
  }
  if (std::rename(m_temporary.c_str(), m_target.c_str()) != 0) {
    const int error = errno;
    ::unlink(m_temporary.c_str());
    fail(kExitOutput, "cannot rename '" + m_temporary + "' to '" + m_target + "': " + std::strerror(error));
  }
  sync_directory(parent_directory(m_target));
}

void sync_directory(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail(kExitOutput, "cannot open the directory '" + path + "': " + std::strerror(errno));
  const bool synced = ::fsync(fd) == 0 || errno == EINVAL;  // some file systems cannot sync directories
  const int error = errno;
  ::close(fd);
  if (!synced) fail(kExitOutput, "cannot flush the directory '" + path + "' to disk: " + std::strerror(error));
}

std::string read_small_file(const std::string& path, int exit_code) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  if (file) text << file.rdbuf();
  if (!file) fail(exit_code, "cannot read '" + path + "'");
  return text.str();
}

bool remove_flat_directory(const std::string& path) {
  DIR* directory = ::opendir(path.c_str());
  if (!directory) return errno == ENOENT;
  bool removed = true;
  while (const dirent* entry = ::readdir(directory)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    removed = ::unlink((path + "/" + name).c_str()) == 0 && removed;
  }
  ::closedir(directory);
  return ::rmdir(path.c_str()) == 0 && removed;
}

}  // namespace latdisp
