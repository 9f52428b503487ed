#include "io/table_writer.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "io/file_names.hpp"
#include "io/hdf5_handles.hpp"
#include "io/hdf5_output_file.hpp"
#include "io/mpi_output_file.hpp"
#include "io/output_file.hpp"
#include "io/output_format.hpp"
#include "io/safetensors.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

constexpr int kCsvTag = 7312;
constexpr int64_t kCsvRowsPerMessage = 8192;

int comm_rank(MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  return rank;
}

// The first error a rank met, kept until every rank can agree on it.
struct FirstError {
  std::string text;
  void note(const std::string& what) {
    if (text.empty()) text = what;
  }
  void agree(MPI_Comm comm) const {
    collectively(comm, [&] {
      if (!text.empty()) fail(kExitOutput, text);
    });
  }
};

// "WHAT failed: REASON", the OS's reason for the file at `path`.
std::string os_error(const std::string& what, const std::string& path) {
  return what + " failed: " + write_failure_reason(path, errno, "an I/O error");
}

std::string csv_rows(const LocalTableRows& table, int64_t begin, int64_t end) {
  std::string text;
  for (int64_t row = begin; row < end; ++row) {
    for (size_t c = 0; c < table.columns.size(); ++c) {
      if (c > 0) text += ',';
      text += csv_cell(table.columns[c], row);
    }
    text += '\n';
  }
  return text;
}

// Rank 0 writes the header and its rows, then receives every other rank's
// rows in rank order (chunks, then an empty message); it keeps receiving
// after a write error so that no rank is left waiting.
void write_csv(MPI_Comm comm, const LocalTableRows& table, const std::string& path, const std::string& target) {
  int ranks = 1;
  MPI_Comm_size(comm, &ranks);
  FirstError error;
  if (comm_rank(comm) != 0) {
    for (int64_t begin = 0; begin < table.rows; begin += kCsvRowsPerMessage) {
      const std::string text = csv_rows(table, begin, std::min(table.rows, begin + kCsvRowsPerMessage));
      MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, 0, kCsvTag, comm);
    }
    MPI_Send(nullptr, 0, MPI_CHAR, 0, kCsvTag, comm);
    error.agree(comm);
    return;
  }
  errno = 0;
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) error.note(os_error("creating '" + target + "'", path));
  const auto put = [&](const std::string& text) {
    errno = 0;
    if (file && error.text.empty() && std::fwrite(text.data(), 1, text.size(), file) != text.size())
      error.note(os_error("writing '" + target + "'", path));
  };
  std::string header;
  for (size_t c = 0; c < table.columns.size(); ++c) header += (c > 0 ? "," : "") + table.columns[c].name;
  put(header + "\n");
  for (int64_t begin = 0; begin < table.rows; begin += kCsvRowsPerMessage)
    put(csv_rows(table, begin, std::min(table.rows, begin + kCsvRowsPerMessage)));
  std::vector<char> buffer;
  for (int source = 1; source < ranks; ++source) {
    for (;;) {
      MPI_Status status;
      MPI_Probe(source, kCsvTag, comm, &status);
      int bytes = 0;
      MPI_Get_count(&status, MPI_CHAR, &bytes);
      buffer.resize(static_cast<size_t>(std::max(bytes, 1)));
      MPI_Recv(buffer.data(), bytes, MPI_CHAR, source, kCsvTag, comm, MPI_STATUS_IGNORE);
      if (bytes == 0) break;
      put(std::string(buffer.data(), static_cast<size_t>(bytes)));
    }
  }
  if (file) {
    errno = 0;
    if (std::fflush(file) != 0) error.note(os_error("writing '" + target + "'", path));
    errno = 0;
    if (std::fclose(file) != 0) error.note(os_error("closing '" + target + "'", path));
  }
  error.agree(comm);
}

uint64_t element_bytes(ColumnType type) { return type == ColumnType::boolean ? 1 : 8; }

// A column's rows as the file holds them: int64, float64 or one byte per bool.
class ColumnBytes {
 public:
  explicit ColumnBytes(const TableColumn& column) : m_column(column) {
    if (column.type == ColumnType::boolean)
      for (int64_t value : column.integers) m_flags.push_back(value != 0 ? 1 : 0);
  }
  const void* data() const {
    if (m_column.type == ColumnType::boolean) return m_flags.data();
    if (m_column.type == ColumnType::int64) return m_column.integers.data();
    return m_column.reals.data();
  }

 private:
  const TableColumn& m_column;
  std::vector<uint8_t> m_flags;
};

// Selects rows [first, first + count) of a 1-D dataset (nothing for count 0)
// and writes them collectively.
herr_t write_rows(hid_t dataset, hid_t memory_type, hsize_t first, hsize_t count, const void* data, hid_t transfer) {
  Hdf5Handle file_space(H5Dget_space(dataset), H5Sclose);
  Hdf5Handle memory_space(H5Screate_simple(1, &count, nullptr), H5Sclose);
  if (count == 0) {
    if (H5Sselect_none(file_space.get()) < 0 || H5Sselect_none(memory_space.get()) < 0) return -1;
  } else if (H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &first, nullptr, &count, nullptr) < 0) {
    return -1;
  }
  return H5Dwrite(dataset, memory_type, memory_space.get(), file_space.get(), transfer, data);
}

// Every rank writes its rows of each column, one collective write per
// column, through the checked HDF5 output file.
void write_hdf5(MPI_Comm comm, const LocalTableRows& table, const std::string& path) {
  Hdf5OutputFile file(comm, path);
  const Hdf5Handle bool_type = h5py_bool_type();
  const Hdf5Handle transfer = collective_transfer();
  std::vector<hid_t> datasets;
  for (const TableColumn& column : table.columns) {
    const hid_t type = column.type == ColumnType::int64     ? H5T_STD_I64LE
                       : column.type == ColumnType::float64 ? H5T_IEEE_F64LE
                                                            : bool_type.get();
    collectively(comm, [&] {
      datasets.push_back(
          file.keep(create_output_dataset(file.get(), column.name, type, {static_cast<hsize_t>(table.total_rows)})));
    });
  }
  file.reserve_space();
  for (size_t c = 0; c < table.columns.size(); ++c) {
    const TableColumn& column = table.columns[c];
    const hid_t memory_type = column.type == ColumnType::int64     ? H5T_NATIVE_INT64
                              : column.type == ColumnType::float64 ? H5T_NATIVE_DOUBLE
                                                                   : bool_type.get();
    const ColumnBytes bytes(column);
    file.write("column " + column.name, [&] {
      return write_rows(datasets[c], memory_type, static_cast<hsize_t>(table.first_row),
                        static_cast<hsize_t>(table.rows), bytes.data(), transfer.get());
    });
  }
  file.close();
}

// Every rank writes its rows of each column at the tensor's offset, one
// collective write per column; rank 0 writes the header. Space is reserved
// first, so a full disk fails before any collective write.
void write_safetensors(MPI_Comm comm, const LocalTableRows& table, const std::string& path) {
  std::vector<SafetensorsEntry> entries;
  uint64_t file_bytes = 0;
  for (const TableColumn& column : table.columns) {
    const char* dtype = column.type == ColumnType::int64 ? "I64" : column.type == ColumnType::float64 ? "F64" : "BOOL";
    entries.push_back({column.name, dtype, {table.total_rows}});
    file_bytes += static_cast<uint64_t>(table.total_rows) * element_bytes(column.type);
  }
  std::vector<int64_t> offsets;
  const std::string header = build_safetensors_header(entries, {}, &offsets);
  file_bytes += header.size();
  MpiOutputFile file(comm, path);
  reserve_output_space(comm, path, file_bytes);
  collectively(comm, [&] {
    if (comm_rank(comm) == 0) file.write_at(0, header.data(), header.size(), "writing the header of");
  });
  for (size_t c = 0; c < table.columns.size(); ++c) {
    const TableColumn& column = table.columns[c];
    const uint64_t element = element_bytes(column.type);
    file.write_at_all(static_cast<uint64_t>(offsets[c]) + static_cast<uint64_t>(table.first_row) * element,
                      ColumnBytes(column).data(), static_cast<uint64_t>(table.rows) * element,
                      "writing column " + column.name + " of");
  }
  file.close();
}

}  // namespace

TableFormat table_format_of(const std::string& option, const std::string& path) {
  if (has_suffix(path, ".csv")) return TableFormat::csv;
  if (const std::optional<OutputFormat> format = format_from_name(path))
    return *format == OutputFormat::hdf5 ? TableFormat::hdf5 : TableFormat::safetensors;
  fail(kExitUsage, option + " '" + path + "': the format comes from the extension, .csv, .h5, .hdf5 or .safetensors");
}

std::string csv_number(double value) {
  if (std::isnan(value)) return "";
  // The shortest of 15, 16 or 17 significant digits that reads back exactly.
  char buffer[32];
  for (int digits = 15; digits <= 17; ++digits) {
    std::snprintf(buffer, sizeof buffer, "%.*g", digits, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  return buffer;
}

std::string csv_cell(const TableColumn& column, int64_t row) {
  const size_t i = static_cast<size_t>(row);
  if (column.type == ColumnType::float64) return csv_number(column.reals[i]);
  return std::to_string(column.integers[i]);
}

void write_table(MPI_Comm comm, const LocalTableRows& table, TableFormat format, const std::string& path,
                 const std::string& target) {
  switch (format) {
    case TableFormat::csv:
      write_csv(comm, table, path, target);
      return;
    case TableFormat::hdf5:
      write_hdf5(comm, table, path);
      return;
    case TableFormat::safetensors:
      write_safetensors(comm, table, path);
      return;
  }
}

}  // namespace latdisp
