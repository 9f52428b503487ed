#include "io/table_writer.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "io/file_names.hpp"
#include "io/hdf5_handles.hpp"
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

std::string os_error(const std::string& what) { return what + " failed: " + std::strerror(errno); }

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
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) error.note(os_error("creating '" + target + "'"));
  const auto put = [&](const std::string& text) {
    if (file && error.text.empty() && std::fwrite(text.data(), 1, text.size(), file) != text.size())
      error.note(os_error("writing '" + target + "'"));
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
    if (std::fflush(file) != 0) error.note(os_error("writing '" + target + "'"));
    if (std::fclose(file) != 0) error.note(os_error("closing '" + target + "'"));
  }
  error.agree(comm);
}

// The column's rows as the bytes a file holds: int64, float64 or one byte per bool.
std::vector<uint8_t> flag_bytes(const TableColumn& column) {
  std::vector<uint8_t> flags(column.integers.size());
  for (size_t i = 0; i < flags.size(); ++i) flags[i] = column.integers[i] != 0 ? 1 : 0;
  return flags;
}

void write_hdf5(MPI_Comm comm, const LocalTableRows& table, const std::string& path, const std::string& target) {
  Hdf5Handle file;
  collectively(comm, [&] {
    const Hdf5Handle fapl = mpio_file_access(comm);
    file = Hdf5Handle(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), H5Fclose);
    if (!file.valid()) fail(kExitOutput, "cannot create '" + target + "': " + hdf5_error_text());
  });
  const Hdf5Handle bool_type = h5py_bool_type();
  for (const TableColumn& column : table.columns) {
    const hid_t file_type = column.type == ColumnType::int64     ? H5T_STD_I64LE
                            : column.type == ColumnType::float64 ? H5T_IEEE_F64LE
                                                                 : bool_type.get();
    const hid_t memory_type = column.type == ColumnType::int64     ? H5T_NATIVE_INT64
                              : column.type == ColumnType::float64 ? H5T_NATIVE_DOUBLE
                                                                   : bool_type.get();
    const std::vector<uint8_t> flags = column.type == ColumnType::boolean ? flag_bytes(column) : std::vector<uint8_t>();
    const void* data = column.type == ColumnType::int64     ? static_cast<const void*>(column.integers.data())
                       : column.type == ColumnType::float64 ? static_cast<const void*>(column.reals.data())
                                                            : static_cast<const void*>(flags.data());
    Hdf5Handle dataset;
    collectively(comm, [&] {
      dataset = create_output_dataset(file.get(), column.name, file_type, {static_cast<hsize_t>(table.total_rows)});
    });
    collectively(comm, [&] {
      write_hyperslab(dataset.get(), memory_type, {static_cast<hsize_t>(table.first_row)},
                      {static_cast<hsize_t>(table.rows)}, data, "column '" + column.name + "' of '" + target + "'");
    });
  }
  collectively(comm, [&] { check_hdf5_write(H5Fclose(file.release()), "closing '" + target + "'"); });
}

// Every rank writes its rows of each column with one collective call per
// column; rank 0 writes the header. Errors are noted and agreed on after the
// close, so every rank makes the same collective calls.
void write_safetensors(MPI_Comm comm, const LocalTableRows& table, const std::string& path, const std::string& target) {
  std::vector<SafetensorsEntry> entries;
  for (const TableColumn& column : table.columns) {
    const char* dtype = column.type == ColumnType::int64 ? "I64" : column.type == ColumnType::float64 ? "F64" : "BOOL";
    entries.push_back({column.name, dtype, {table.total_rows}});
  }
  std::vector<int64_t> offsets;
  const std::string header = build_safetensors_header(entries, {}, &offsets);
  int64_t file_bytes = static_cast<int64_t>(header.size());
  for (const TableColumn& column : table.columns)
    file_bytes += table.total_rows * (column.type == ColumnType::boolean ? 1 : 8);
  if (table.rows > INT_MAX) fail(kExitOutput, "'" + target + "': too many rows on one rank for one MPI-IO call");

  MPI_File file = MPI_FILE_NULL;
  const int opened = MPI_File_open(comm, path.c_str(), MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, &file);
  collectively(comm, [&] {
    if (opened != MPI_SUCCESS) fail(kExitOutput, "cannot create '" + target + "' with MPI-IO");
  });
  FirstError error;
  const auto checked = [&](int status, const MPI_Status& io, MPI_Datatype type, int64_t expected) {
    int written = 0;
    if (status == MPI_SUCCESS) MPI_Get_count(&io, type, &written);
    if (status != MPI_SUCCESS || written != expected)
      error.note("writing '" + target + "' failed (" + std::to_string(written) + " of " + std::to_string(expected) +
                 " items written; disk full?)");
  };
  if (MPI_File_set_size(file, static_cast<MPI_Offset>(file_bytes)) != MPI_SUCCESS)
    error.note("sizing '" + target + "' failed (disk full?)");
  if (comm_rank(comm) == 0) {
    MPI_Status io;
    const int status = MPI_File_write_at(file, 0, header.data(), static_cast<int>(header.size()), MPI_BYTE, &io);
    checked(status, io, MPI_BYTE, static_cast<int64_t>(header.size()));
  }
  for (size_t c = 0; c < table.columns.size(); ++c) {
    const TableColumn& column = table.columns[c];
    const std::vector<uint8_t> flags = column.type == ColumnType::boolean ? flag_bytes(column) : std::vector<uint8_t>();
    const MPI_Datatype type = column.type == ColumnType::int64     ? MPI_INT64_T
                              : column.type == ColumnType::float64 ? MPI_DOUBLE
                                                                   : MPI_BYTE;
    const void* data = column.type == ColumnType::int64     ? static_cast<const void*>(column.integers.data())
                       : column.type == ColumnType::float64 ? static_cast<const void*>(column.reals.data())
                                                            : static_cast<const void*>(flags.data());
    const int64_t element = column.type == ColumnType::boolean ? 1 : 8;
    MPI_Status io;
    const int status = MPI_File_write_at_all(file, static_cast<MPI_Offset>(offsets[c] + table.first_row * element),
                                             data, static_cast<int>(table.rows), type, &io);
    checked(status, io, type, table.rows);
  }
  if (MPI_File_close(&file) != MPI_SUCCESS) error.note("closing '" + target + "' failed (disk full?)");
  error.agree(comm);
}

}  // namespace

TableFormat table_format_of(const std::string& option, const std::string& path) {
  if (has_suffix(path, ".csv")) return TableFormat::csv;
  if (is_hdf5_name(path)) return TableFormat::hdf5;
  if (is_safetensors_name(path)) return TableFormat::safetensors;
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
      write_hdf5(comm, table, path, target);
      return;
    case TableFormat::safetensors:
      write_safetensors(comm, table, path, target);
      return;
  }
}

}  // namespace latdisp
