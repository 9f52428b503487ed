// A parallel HDF5 file written by every rank of a communicator, with every
// write, flush and close checked and agreed by all ranks before the next
// collective call, so that a failure on one rank (a full disk) never leaves
// another waiting inside HDF5, and the handles are closed in one order
// everywhere.
#pragma once

#include <hdf5.h>
#include <mpi.h>

#include <functional>
#include <string>
#include <vector>

#include "io/hdf5_handles.hpp"

namespace latdisp {

class Hdf5OutputFile {
 public:
  // Collective: creates (truncates) `path` with MPI-IO, its root group
  // untimed (untimed_file_creation). Throws Error(kExitOutput).
  Hdf5OutputFile(MPI_Comm comm, const std::string& path);
  // Abandons the file if close() did not finish: see abandon().
  ~Hdf5OutputFile();
  Hdf5OutputFile(const Hdf5OutputFile&) = delete;
  Hdf5OutputFile& operator=(const Hdf5OutputFile&) = delete;

  hid_t get() const { return m_file.get(); }
  // Collective: a dataset kept open until close(), closed in creation order.
  hid_t keep(Hdf5Handle dataset);
  // Collective: runs `call` (an H5Dwrite, H5Awrite, ...) on every rank; if it
  // fails on any rank, every rank throws Error(kExitOutput) "writing WHAT to
  // 'FILE' failed: REASON", with the OS reason where there is one.
  void write(const std::string& what, const std::function<herr_t()>& call);
  // Collective write of the box [start, start + count) of `dataset` from
  // `values` (C order); a rank whose box is empty takes part selecting nothing.
  void write_box(hid_t dataset, hid_t memory_type, const std::vector<hsize_t>& start, const std::vector<hsize_t>& count,
                 const void* values, const std::string& what);
  // Collective: reserves the disk space of everything allocated so far (the
  // datasets are allocated when created) and room for the metadata, so a full
  // disk fails here, on every rank alike (reserve_output_space).
  void reserve_space();
  // Collective: flushes (data synced to disk), closes the kept datasets, then
  // the file; each step checked and agreed. Throws Error(kExitOutput).
  void close();

 private:
  // After an agreed error: frees the space the data took (the usual cause is
  // a full disk), so that the closes, which write metadata collectively,
  // succeed alike on every rank; then closes everything, results ignored.
  void abandon() noexcept;
  void close_datasets(bool checked);

  MPI_Comm m_comm;
  std::string m_path;
  int m_rank = 0;
  Hdf5Handle m_file;
  std::vector<hid_t> m_datasets;
};

}  // namespace latdisp
