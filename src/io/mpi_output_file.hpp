// A file written by every rank of a communicator with MPI-IO at computed
// offsets (safetensors). Every write is checked, status and bytes written
// (a full disk can "succeed" with a short count); collective writes, the
// flush and the close are agreed by all ranks before the next collective call.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>

namespace latdisp {

class MpiOutputFile {
 public:
  // Collective: creates `path` for writing. Throws Error(kExitOutput).
  MpiOutputFile(MPI_Comm comm, const std::string& path);
  // Closes a file left open by an error every rank agreed on (alike everywhere).
  ~MpiOutputFile();
  MpiOutputFile(const MpiOutputFile&) = delete;
  MpiOutputFile& operator=(const MpiOutputFile&) = delete;

  // This rank only. Throws Error(kExitOutput) "WHAT 'FILE' failed: REASON".
  void write_at(uint64_t offset, const void* data, uint64_t bytes, const std::string& what = "writing");
  // Collective, agreed.
  void write_at_all(uint64_t offset, const void* data, uint64_t bytes, const std::string& what = "writing");
  // Collective: synced to disk, then closed; each step agreed.
  void close();

 private:
  std::string failure(const std::string& what, int status, int saved_errno) const;
  void check_written(int status, const MPI_Status& io, uint64_t bytes, const std::string& what) const;

  MPI_Comm m_comm;
  std::string m_path;
  MPI_File m_file = MPI_FILE_NULL;
};

}  // namespace latdisp
