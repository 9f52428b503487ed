#include "io/output_file.hpp"

#include <unistd.h>

#include <cstdio>
#include <vector>

#include "parallel/errors.hpp"

namespace latdisp {

namespace {
std::string directory_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}
std::string file_name_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}
}  // namespace

PendingOutput::PendingOutput(MPI_Comm comm, const std::string& target, bool overwrite)
    : m_comm(comm), m_target(target) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  collectively(comm, [&] {
    if (rank != 0) return;
    if (!overwrite && access(target.c_str(), F_OK) == 0)
      fail(kExitOutput, "output file '" + target + "' exists; pass --overwrite to replace it");
    const std::string directory = directory_of(target);
    if (access(directory.c_str(), W_OK) != 0)
      fail(kExitOutput,
           "cannot write the output '" + target + "': directory '" + directory + "' does not exist or is not writable");
    m_temporary = directory + "/." + file_name_of(target) + ".partial-" + std::to_string(getpid());
  });
  int length = static_cast<int>(m_temporary.size());
  MPI_Bcast(&length, 1, MPI_INT, 0, comm);
  std::vector<char> name(m_temporary.begin(), m_temporary.end());
  name.resize(static_cast<size_t>(length));
  MPI_Bcast(name.data(), length, MPI_CHAR, 0, comm);
  m_temporary.assign(name.begin(), name.end());
}

PendingOutput::~PendingOutput() {
  int rank = 0;
  MPI_Comm_rank(m_comm, &rank);
  if (!m_committed && rank == 0) std::remove(m_temporary.c_str());
}

void PendingOutput::commit() {
  int rank = 0;
  MPI_Comm_rank(m_comm, &rank);
  MPI_Barrier(m_comm);
  collectively(m_comm, [&] {
    if (rank == 0 && std::rename(m_temporary.c_str(), m_target.c_str()) != 0)
      fail(kExitOutput, "cannot rename '" + m_temporary + "' to '" + m_target + "'");
  });
  m_committed = true;
}

}  // namespace latdisp
