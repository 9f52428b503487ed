// Safe output: write to a temporary name beside the target, rename only when
// every rank has finished; never replace an existing file without --overwrite.
#pragma once

#include <mpi.h>

#include <string>

namespace latdisp {

class PendingOutput {
 public:
  // Collective. Checks the target (exists without overwrite, unwritable
  // directory) and agrees on one temporary name. Throws Error(kExitOutput).
  PendingOutput(MPI_Comm comm, const std::string& target, bool overwrite);
  // Removes the temporary file unless committed.
  ~PendingOutput();
  PendingOutput(const PendingOutput&) = delete;
  PendingOutput& operator=(const PendingOutput&) = delete;

  const std::string& temporary_path() const { return m_temporary; }
  // Collective: after every rank finished writing, rank 0 renames.
  void commit();

 private:
  MPI_Comm m_comm;
  std::string m_target;
  std::string m_temporary;
  bool m_committed = false;
};

}  // namespace latdisp
