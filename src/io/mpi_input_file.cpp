#include "io/mpi_input_file.hpp"

#include <climits>

#include "parallel/errors.hpp"

namespace latdisp {

namespace {

std::string mpi_error_text(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return std::string(text, static_cast<size_t>(length));
}

// The file view of one rank's box; an empty box views one value and reads none.
MPI_Datatype box_type(const std::vector<int64_t>& extent, const std::vector<int64_t>& start,
                      const std::vector<int64_t>& count, int64_t values, MPI_Datatype value_type) {
  const size_t rank = extent.size();
  std::vector<int> sizes(rank), subsizes(rank), starts(rank);
  for (size_t i = 0; i < rank; ++i) {
    if (extent[i] > INT_MAX) fail(kExitInput, "an axis of " + std::to_string(extent[i]) + " is too long for MPI-IO");
    sizes[i] = static_cast<int>(extent[i]);
    subsizes[i] = values == 0 ? 1 : static_cast<int>(count[i]);
    starts[i] = values == 0 ? 0 : static_cast<int>(start[i]);
  }
  MPI_Datatype type = MPI_DATATYPE_NULL;
  check_mpi(MPI_Type_create_subarray(static_cast<int>(rank), sizes.data(), subsizes.data(), starts.data(), MPI_ORDER_C,
                                     value_type, &type),
            "MPI_Type_create_subarray");
  check_mpi(MPI_Type_commit(&type), "MPI_Type_commit");
  return type;
}

}  // namespace

MpiInputFile::MpiInputFile(MPI_Comm comm, const std::string& path) : m_comm(comm), m_path(path) {
  const int status = MPI_File_open(comm, path.c_str(), MPI_MODE_RDONLY, MPI_INFO_NULL, &m_file);
  collectively(comm, [&] {
    if (status != MPI_SUCCESS) fail(kExitInput, "cannot open '" + path + "' with MPI-IO: " + mpi_error_text(status));
  });
}

MpiInputFile::~MpiInputFile() {
  if (m_file != MPI_FILE_NULL) MPI_File_close(&m_file);
}

void MpiInputFile::read_box(int64_t offset, const std::vector<int64_t>& extent, const std::vector<int64_t>& start,
                            const std::vector<int64_t>& count, int value_bytes, void* out,
                            const std::string& what) const {
  int64_t values = 1;
  for (int64_t c : count) values *= c;
  // One value: a run of bytes (the view and the read count values, not bytes).
  MPI_Datatype value_type = MPI_DATATYPE_NULL;
  check_mpi(MPI_Type_contiguous(value_bytes, MPI_BYTE, &value_type), "MPI_Type_contiguous");
  check_mpi(MPI_Type_commit(&value_type), "MPI_Type_commit");
  MPI_Datatype type = MPI_DATATYPE_NULL;
  struct TypeFree {
    MPI_Datatype* type;
    ~TypeFree() {
      if (*type != MPI_DATATYPE_NULL) MPI_Type_free(type);
    }
  } value_type_free{&value_type}, type_free{&type};
  collectively(m_comm, [&] {
    if (values > INT_MAX) fail(kExitInput, "a read of " + std::to_string(values) + " values is too large for MPI-IO");
    type = box_type(extent, start, count, values, value_type);
  });
  // Both calls are collective: every rank makes them before anyone throws.
  const int view_status = MPI_File_set_view(m_file, offset, value_type, type, "native", MPI_INFO_NULL);
  collectively(m_comm, [&] {
    if (view_status != MPI_SUCCESS)
      fail(kExitInput, "setting the MPI-IO view of '" + m_path + "' failed: " + mpi_error_text(view_status));
  });
  MPI_Status status;
  uint64_t spare = 0;
  const int read_status =
      MPI_File_read_all(m_file, values > 0 ? out : &spare, static_cast<int>(values), value_type, &status);
  collectively(m_comm, [&] {
    if (read_status != MPI_SUCCESS)
      fail(kExitInput, "reading " + what + " from '" + m_path + "' failed: " + mpi_error_text(read_status));
    int got = 0;
    MPI_Get_count(&status, value_type, &got);
    if (got != static_cast<int>(values))
      fail(kExitInput, "'" + m_path + "' ended early: reading " + what + " got " + std::to_string(got) + " of " +
                           std::to_string(values) + " values (a truncated file?)");
  });
}

}  // namespace latdisp
