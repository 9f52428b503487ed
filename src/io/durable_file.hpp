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
  // Creates (or truncates) `target` + ".partial". Throws Error(kExitOutput).
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

// fsync of a directory, so that a rename into it survives a crash.
void sync_directory(const std::string& path);
// The whole file as a string; throws Error(exit_code) naming it if unreadable.
std::string read_small_file(const std::string& path, int exit_code);
// Removes a directory and the plain files in it (checkpoint generations hold
// no subdirectories); false if something could not be removed.
bool remove_flat_directory(const std::string& path);

}  // namespace latdisp
