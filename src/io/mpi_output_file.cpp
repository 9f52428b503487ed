#include "io/mpi_output_file.hpp"

#include <cerrno>

#include "io/mpi_io_path.hpp"
#include "io/output_file.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

MpiOutputFile::MpiOutputFile(MPI_Comm comm, const std::string& path) : m_comm(comm), m_path(path) {
  collectively(comm, [&] {
    errno = 0;
    const MpiIoPath mpi_path(path);
    const int status = MPI_File_open(comm, mpi_path.c_str(), MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, &m_file);
    if (status != MPI_SUCCESS) fail(kExitOutput, failure("creating", status, errno));
  });
}

MpiOutputFile::~MpiOutputFile() {
  if (m_file != MPI_FILE_NULL) MPI_File_close(&m_file);
}

std::string MpiOutputFile::failure(const std::string& what, int status, int saved_errno) const {
  char text[MPI_MAX_ERROR_STRING] = {0};
  int length = 0;
  if (status != MPI_SUCCESS) MPI_Error_string(status, text, &length);
  return what + " '" + output_name_of(m_path) +
         "' failed: " + write_failure_reason(m_path, saved_errno, std::string(text, static_cast<size_t>(length)));
}

void MpiOutputFile::check_written(int status, const MPI_Status& io, uint64_t bytes, const std::string& what) const {
  const int saved_errno = errno;
  if (status != MPI_SUCCESS) fail(kExitOutput, failure(what, status, saved_errno));
  int written = 0;
  MPI_Get_count(&io, MPI_BYTE, &written);
  if (static_cast<uint64_t>(written) != bytes)
    fail(kExitOutput, failure(what, status, saved_errno) + " (" + std::to_string(written) + " of " +
                          std::to_string(bytes) + " bytes written)");
}

void MpiOutputFile::write_at(uint64_t offset, const void* data, uint64_t bytes, const std::string& what) {
  MPI_Status io;
  errno = 0;
  const int status =
      MPI_File_write_at(m_file, static_cast<MPI_Offset>(offset), data, static_cast<int>(bytes), MPI_BYTE, &io);
  check_written(status, io, bytes, what);
}

void MpiOutputFile::write_at_all(uint64_t offset, const void* data, uint64_t bytes, const std::string& what) {
  collectively(m_comm, [&] {
    MPI_Status io;
    errno = 0;
    const int status =
        MPI_File_write_at_all(m_file, static_cast<MPI_Offset>(offset), data, static_cast<int>(bytes), MPI_BYTE, &io);
    check_written(status, io, bytes, what);
  });
}

void MpiOutputFile::close() {
  collectively(m_comm, [&] {
    errno = 0;
    const int status = MPI_File_sync(m_file);
    if (status != MPI_SUCCESS) fail(kExitOutput, failure("flushing", status, errno));
  });
  collectively(m_comm, [&] {
    errno = 0;
    const int status = MPI_File_close(&m_file);
    m_file = MPI_FILE_NULL;
    if (status != MPI_SUCCESS) fail(kExitOutput, failure("closing", status, errno));
  });
}

}  // namespace latdisp
