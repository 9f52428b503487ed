// A table of equal-length columns whose rows are split over the ranks in rank
// order, written as CSV (gathered on rank 0, rank by rank, in chunks), HDF5
// or safetensors (one 1-D dataset / tensor per column, every rank writing its
// rows at its offset). docs/formats.md describes the files.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace latdisp {

enum class TableFormat { csv, hdf5, safetensors };

// By extension: .csv, .h5/.hdf5, .safetensors; else Error(kExitUsage)
// naming `option`.
TableFormat table_format_of(const std::string& option, const std::string& path);

enum class ColumnType { int64, float64, boolean };

struct TableColumn {
  std::string name;
  ColumnType type = ColumnType::int64;
  std::vector<int64_t> integers;  // int64 and boolean (0/1) columns
  std::vector<double> reals;      // float64 columns; NaN: no value (an empty CSV cell)
};

// This rank's rows [first_row, first_row + rows) of a table of total_rows;
// rank r's rows come right after rank r-1's.
struct LocalTableRows {
  int64_t total_rows = 0;
  int64_t first_row = 0;
  int64_t rows = 0;
  std::vector<TableColumn> columns;  // the same names and types on every rank
};

// Collective. Writes the table to `path`; messages name `target`. Every
// write and close is checked; a failure on any rank throws Error(kExitOutput)
// on every rank.
void write_table(MPI_Comm comm, const LocalTableRows& table, TableFormat format, const std::string& path,
                 const std::string& target);

// One CSV cell: this rank's row `row` of `column` ("" for a float64 NaN).
std::string csv_cell(const TableColumn& column, int64_t row);
// A double in the fewest of 15..17 significant digits that read back to it, "" for NaN.
std::string csv_number(double value);

}  // namespace latdisp
