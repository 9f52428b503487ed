#include "io/input_path.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "parallel/errors.hpp"

namespace latdisp {

const char* format_name(InputFormat format) {
  switch (format) {
    case InputFormat::hdf5:
      return "hdf5";
    case InputFormat::safetensors:
      return "safetensors";
    case InputFormat::series:
      return "series";
  }
  return "unknown";
}

namespace {

bool stat_path(const std::string& path, struct stat& info) { return stat(path.c_str(), &info) == 0; }

std::string kind_of(const struct stat& info) {
  if (S_ISREG(info.st_mode)) return "a regular file";
  if (S_ISDIR(info.st_mode)) return "a directory";
  if (S_ISFIFO(info.st_mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(info.st_mode)) return "a socket";
  if (S_ISCHR(info.st_mode)) return "a character device";
  if (S_ISBLK(info.st_mode)) return "a block device";
  return "not a regular file";
}

// Reads up to `size` bytes at `offset` of a regular file; the count read.
int64_t read_prefix(const std::string& path, int64_t offset, void* target, int64_t size) {
  const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK);
  if (fd < 0) return 0;
  const ssize_t got = pread(fd, target, static_cast<size_t>(size), static_cast<off_t>(offset));
  close(fd);
  return got < 0 ? 0 : static_cast<int64_t>(got);
}

}  // namespace

namespace {

// Why stat failed, for a path that is there but cannot be resolved.
std::string unresolved_text(int error) {
  if (error == ELOOP) return "a symbolic link that loops (" + std::string(std::strerror(error)) + ")";
  return "a path that cannot be resolved (" + std::string(std::strerror(error)) + ")";
}

// Missing means nothing at that name; a loop or an unreachable path is "other".
bool is_missing_error(int error) { return error == ENOENT || error == ENOTDIR; }

}  // namespace

PathKind path_kind(const std::string& path) {
  struct stat info {};
  if (!stat_path(path, info)) return is_missing_error(errno) ? PathKind::missing : PathKind::other;
  if (S_ISREG(info.st_mode)) return PathKind::regular;
  if (S_ISDIR(info.st_mode)) return PathKind::directory;
  return PathKind::other;
}

std::string path_kind_text(const std::string& path) {
  struct stat info {};
  if (stat_path(path, info)) return kind_of(info);
  return is_missing_error(errno) ? "missing" : unresolved_text(errno);
}

void require_readable_file(const std::string& path, const std::string& role) {
  struct stat info {};
  if (!stat_path(path, info))
    fail(kExitInput, role + " '" + path + "' " + (is_missing_error(errno) ? "does not exist" : "is " + unresolved_text(errno)));
  if (!S_ISREG(info.st_mode)) fail(kExitInput, role + " '" + path + "' is " + kind_of(info) + ", not a regular file");
  if (access(path.c_str(), R_OK) != 0) fail(kExitInput, role + " '" + path + "' is not readable");
}

void require_readable_directory(const std::string& path, const std::string& role) {
  struct stat info {};
  if (!stat_path(path, info))
    fail(kExitInput, role + " '" + path + "' " + (is_missing_error(errno) ? "does not exist" : "is " + unresolved_text(errno)));
  if (!S_ISDIR(info.st_mode)) fail(kExitInput, role + " '" + path + "' is " + kind_of(info) + ", not a directory");
  if (access(path.c_str(), R_OK | X_OK) != 0) fail(kExitInput, role + " '" + path + "' is not readable");
}

bool is_hdf5_file(const std::string& path) {
  static const char kSignature[8] = {'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};
  struct stat info {};
  if (!stat_path(path, info) || !S_ISREG(info.st_mode)) return false;
  const int64_t size = static_cast<int64_t>(info.st_size);
  for (int64_t offset = 0; offset + 8 <= size; offset = offset == 0 ? 512 : offset * 2) {
    char signature[8] = {};
    if (read_prefix(path, offset, signature, 8) == 8 && std::memcmp(signature, kSignature, 8) == 0) return true;
  }
  return false;
}

bool looks_like_safetensors(const std::string& path) {
  struct stat info {};
  if (!stat_path(path, info) || !S_ISREG(info.st_mode)) return false;
  unsigned char prefix[9] = {};
  if (read_prefix(path, 0, prefix, 9) != 9) return false;
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = (length << 8) | prefix[i];
  return prefix[8] == '{' && length >= 2 && length <= static_cast<uint64_t>(info.st_size) - 8;
}

std::string parent_directory(const std::string& path) {
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  const size_t slash = trimmed.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : trimmed.substr(0, slash);
}

std::string base_name(const std::string& path) {
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  const size_t slash = trimmed.rfind('/');
  return slash == std::string::npos ? trimmed : trimmed.substr(slash + 1);
}

std::string join_path(const std::string& directory, const std::string& relative) {
  if (relative.empty() || relative[0] == '/' || directory.empty() || directory == ".") return relative;
  return directory.back() == '/' ? directory + relative : directory + "/" + relative;
}

}  // namespace latdisp
