#include "io/hdf5_output_file.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "io/mpi_io_path.hpp"
#include "io/output_file.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

std::string failure_text(const std::string& what, const std::string& path, int saved_errno) {
  return what + " '" + output_name_of(path) + "' failed: " + write_failure_reason(path, saved_errno, hdf5_error_text());
}

}  // namespace

Hdf5OutputFile::Hdf5OutputFile(MPI_Comm comm, const std::string& path) : m_comm(comm), m_path(path) {
  MPI_Comm_rank(comm, &m_rank);
  collectively(comm, [&] {
    const Hdf5Handle creation = untimed_file_creation();
    const Hdf5Handle access = mpio_file_access(comm);
    errno = 0;
    const MpiIoPath mpi_path(path);
    m_file = Hdf5Handle(H5Fcreate(mpi_path.c_str(), H5F_ACC_TRUNC, creation.get(), access.get()), H5Fclose);
    if (!m_file.valid()) fail(kExitOutput, failure_text("creating", path, errno));
  });
}

Hdf5OutputFile::~Hdf5OutputFile() {
  if (m_file.valid()) abandon();
}

hid_t Hdf5OutputFile::keep(Hdf5Handle dataset) {
  m_datasets.push_back(dataset.release());
  return m_datasets.back();
}

void Hdf5OutputFile::write(const std::string& what, const std::function<herr_t()>& call) {
  collectively(m_comm, [&] {
    errno = 0;
    const herr_t status = call();
    const int saved_errno = errno;
    if (status < 0) fail(kExitOutput, failure_text("writing " + what + " to", m_path, saved_errno));
  });
}

void Hdf5OutputFile::write_box(hid_t dataset, hid_t memory_type, const std::vector<hsize_t>& start,
                               const std::vector<hsize_t>& count, const void* values, const std::string& what) {
  const BoxSpaces box = box_spaces(dataset, start, count);
  const Hdf5Handle transfer = collective_transfer();
  write(what, [&] {
    if (!box.selected) return herr_t(-1);
    return H5Dwrite(dataset, memory_type, box.memory.get(), box.file.get(), transfer.get(), values);
  });
}

void Hdf5OutputFile::reserve_space() {
  uint64_t data_bytes = 0;
  for (hid_t dataset : m_datasets) data_bytes += H5Dget_storage_size(dataset);  // allocated when created
  // Object headers, chunk indexes, the superblock: small beside the data.
  const uint64_t metadata_bytes = (uint64_t(1) << 20) + data_bytes / 1024;
  reserve_output_space(m_comm, m_path, data_bytes + metadata_bytes);
}

void Hdf5OutputFile::close_datasets(bool checked) {
  for (hid_t dataset : m_datasets) {
    errno = 0;
    const herr_t status = H5Dclose(dataset);
    if (checked && status < 0) {
      // The others are still open: abandon() closes them.
      m_datasets.erase(m_datasets.begin(), std::find(m_datasets.begin(), m_datasets.end(), dataset) + 1);
      fail(kExitOutput, failure_text("closing a dataset of", m_path, errno));
    }
  }
  m_datasets.clear();
}

void Hdf5OutputFile::close() {
  write("the metadata", [&] { return H5Fflush(m_file.get(), H5F_SCOPE_GLOBAL); });
  collectively(m_comm, [&] { close_datasets(true); });
  collectively(m_comm, [&] {
    errno = 0;
    const herr_t status = H5Fclose(m_file.release());
    if (status < 0) fail(kExitOutput, failure_text("closing", m_path, errno));
  });
}

void Hdf5OutputFile::abandon() noexcept {
  // Whether or not this frees anything, every rank goes on to close alike.
  if (m_rank == 0 && truncate(m_path.c_str(), 0) != 0) errno = 0;
  MPI_Barrier(m_comm);
  close_datasets(false);
  H5Fclose(m_file.release());
  H5Eclear2(H5E_DEFAULT);
}

}  // namespace latdisp
