#include "io/durable_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <sstream>

#include "io/input_path.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {
constexpr size_t kBufferBytes = size_t(1) << 20;
constexpr const char* kPartialTag = ".partial-";

bool is_random_suffix(const std::string& text) {
  return text.size() == 16 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}
}  // namespace

std::string random_name_suffix() {
  uint64_t value = 0;
  if (getrandom(&value, sizeof value, 0) != static_cast<ssize_t>(sizeof value)) {
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    value = (static_cast<uint64_t>(now.tv_nsec) << 20 ^ static_cast<uint64_t>(now.tv_sec)) * 0x9E3779B97F4A7C15ull ^
            static_cast<uint64_t>(getpid());
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

bool is_own_regular_file(const std::string& path) {
  struct stat info {};
  return ::lstat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) && info.st_uid == ::geteuid();
}

void remove_durable_temporaries(const std::string& target) {
  const std::string folder = parent_directory(target), prefix = base_name(target) + kPartialTag;
  DIR* directory = ::opendir(folder.c_str());
  if (!directory) return;
  while (const dirent* entry = ::readdir(directory)) {
    const std::string name = entry->d_name;
    // `target`.partial: the name older versions used.
    const bool older = name == base_name(target) + ".partial";
    if (!older && (name.compare(0, prefix.size(), prefix) != 0 || !is_random_suffix(name.substr(prefix.size()))))
      continue;
    const std::string path = join_path(folder, name);
    if (is_own_regular_file(path)) ::unlink(path.c_str());
  }
  ::closedir(directory);
}

DurableFile::DurableFile(const std::string& target) : m_target(target) {
  for (int attempt = 0; attempt < 16 && m_fd < 0; ++attempt) {
    m_temporary = target + kPartialTag + random_name_suffix();
    m_fd = ::open(m_temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (m_fd < 0 && errno != EEXIST) break;
  }
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
  // Opened without blocking (a FIFO would wait for a writer), then read only if regular.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) fail(exit_code, "cannot read '" + path + "': " + std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    fail(exit_code, "cannot read '" + path + "': " + path_kind_text(path) + ", not a regular file");
  }
  std::string text;
  char buffer[65536];
  ssize_t got = 0;
  while ((got = ::read(fd, buffer, sizeof buffer)) > 0 || (got < 0 && errno == EINTR))
    if (got > 0) text.append(buffer, static_cast<size_t>(got));
  const int error = errno;
  ::close(fd);
  if (got < 0) fail(exit_code, "cannot read '" + path + "': " + std::strerror(error));
  return text;
}

bool remove_owned_folder(const std::string& path, bool (*owned)(const std::string& name)) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) return errno == ENOENT;
  if (!S_ISDIR(info.st_mode) || info.st_uid != ::geteuid()) return false;
  DIR* directory = ::opendir(path.c_str());
  if (!directory) return false;
  std::vector<std::string> names;
  bool only_owned = true;
  while (const dirent* entry = ::readdir(directory)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    only_owned = only_owned && owned(name) && is_own_regular_file(join_path(path, name));
    names.push_back(name);
  }
  ::closedir(directory);
  if (!only_owned) return false;
  for (const std::string& name : names) ::unlink(join_path(path, name).c_str());
  return ::rmdir(path.c_str()) == 0;
}

}  // namespace latdisp
