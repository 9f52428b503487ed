// Files that must survive a crash whole or not at all (checkpoints): written
// under a temporary name with every write checked, flushed to the disk
// (fsync) and only then renamed into place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace latdisp {

class DurableFile {
 public:
  // Creates `target` + ".partial-RANDOM", a new file (never an existing name,
  // never through a symbolic link). Throws Error(kExitOutput).
  explicit DurableFile(const std::string& target);
  // Removes the temporary unless committed.
  ~DurableFile();
  DurableFile(const DurableFile&) = delete;
  DurableFile& operator=(const DurableFile&) = delete;

  // Buffered; a failed write (full disk, quota) throws Error(kExitOutput).
  void write(const void* data, size_t bytes);
  uint64_t bytes_written() const { return m_bytes; }
  // Flush, fsync, close, rename onto the target, fsync its directory.
  void commit();

 private:
  void flush();
  [[noreturn]] void failed(const std::string& what) const;

  std::string m_target;
  std::string m_temporary;
  int m_fd = -1;
  std::vector<char> m_buffer;
  uint64_t m_bytes = 0;
};

// 16 hex digits from the kernel's random source: a name nobody can plant in advance.
std::string random_name_suffix();
// True if `path` itself (not a link's target) is a regular file owned by this user.
bool is_own_regular_file(const std::string& path);
// Removes the temporaries DurableFile left for `target` (a killed run's):
// regular files of this user named `target`.partial-RANDOM, nothing else.
void remove_durable_temporaries(const std::string& target);

// fsync of a directory, so that a rename into it survives a crash.
void sync_directory(const std::string& path);
// The whole file as a string; throws Error(exit_code) naming it if unreadable.
std::string read_small_file(const std::string& path, int exit_code);
// Removes the folder `path` if it is a real folder (not a symbolic link) of
// this user holding only regular files whose names `owned` accepts, and those
// files; anything else is left as it is. False if it exists and was not removed.
bool remove_owned_folder(const std::string& path, bool (*owned)(const std::string& name));

}  // namespace latdisp
