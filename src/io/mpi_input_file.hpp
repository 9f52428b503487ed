// A file read with MPI-IO by every rank of a communicator: each rank's part
// of a C-order array of fixed-size values is a box, described by one subarray file view and
// read by one collective call. Every return code and count is checked: a
// short read (a truncated file) is an error, never zeros.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace latdisp {

class MpiInputFile {
 public:
  // Collective. The caller has checked that `path` is a regular file.
  // Throws the same Error(kExitInput) on every rank.
  MpiInputFile(MPI_Comm comm, const std::string& path);
  ~MpiInputFile();  // collective
  MpiInputFile(const MpiInputFile&) = delete;
  MpiInputFile& operator=(const MpiInputFile&) = delete;

  // Collective: the box [start, start + count) of the array of `extent`
  // whose element 0 lies at byte `offset`, values of `value_bytes` bytes,
  // into `out` (C order). Any count may be 0 on some ranks; at most 2^31 - 1
  // values per rank. `what` names the data in messages.
  void read_box(int64_t offset, const std::vector<int64_t>& extent, const std::vector<int64_t>& start,
                const std::vector<int64_t>& count, int value_bytes, void* out, const std::string& what) const;

 private:
  MPI_Comm m_comm;
  std::string m_path;
  MPI_File m_file = MPI_FILE_NULL;
};

}  // namespace latdisp
