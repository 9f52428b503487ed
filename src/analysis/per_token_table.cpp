#include "analysis/per_token_table.hpp"

#include <cmath>

#include "io/table_writer.hpp"

namespace latdisp {

namespace {

// One int64 column from a field of the records.
template <class Field>
TableColumn integer_column(const std::string& name, const PerTokenTable& table, Field field) {
  TableColumn column{name, ColumnType::int64, {}, {}};
  column.integers.reserve(table.records.size());
  for (const TokenMotion& record : table.records) column.integers.push_back(field(record));
  return column;
}

LocalTableRows table_rows(const PerTokenTable& table, int64_t tokens) {
  LocalTableRows rows;
  rows.total_rows = tokens;
  rows.first_row = table.slab.begin;
  rows.rows = table.slab.count;
  TableColumn token{"token", ColumnType::int64, {}, {}};
  TableColumn dead{"dead", ColumnType::boolean, {}, {}};
  for (int64_t n = 0; n < table.slab.count; ++n) {
    token.integers.push_back(table.slab.begin + n);
    dead.integers.push_back(table.dead[static_cast<size_t>(n)] ? 1 : 0);
  }
  rows.columns.push_back(std::move(token));
  rows.columns.push_back(std::move(dead));
  rows.columns.push_back(integer_column("moved", table, [](const TokenMotion& r) { return r.moved(); }));
  rows.columns.push_back(integer_column("hops", table, [](const TokenMotion& r) { return r.hops; }));
  rows.columns.push_back(integer_column("thermal", table, [](const TokenMotion& r) { return r.thermal; }));
  rows.columns.push_back(integer_column("frozen", table, [](const TokenMotion& r) { return r.frozen; }));
  rows.columns.push_back(
      integer_column("nonfinite_rows", table, [](const TokenMotion& r) { return r.nonfinite_rows; }));
  rows.columns.push_back(integer_column("first_moved", table, [](const TokenMotion& r) { return r.first_moved; }));
  rows.columns.push_back(integer_column("last_moved", table, [](const TokenMotion& r) { return r.last_moved; }));
  rows.columns.push_back(integer_column("crossings", table, [](const TokenMotion& r) { return r.crossings; }));
  rows.columns.push_back(integer_column("non_integer", table, [](const TokenMotion& r) { return r.non_integer; }));
  rows.columns.push_back(integer_column("half", table, [](const TokenMotion& r) { return r.half; }));
  TableColumn largest{"max_magnitude", ColumnType::float64, {}, {}};
  for (const TokenMotion& r : table.records) largest.reals.push_back(r.max_magnitude >= 0 ? r.max_magnitude : NAN);
  rows.columns.push_back(std::move(largest));
  rows.columns.push_back(
      integer_column("final_frozen_run", table, [](const TokenMotion& r) { return r.final_frozen_run; }));
  return rows;
}

}  // namespace

std::vector<std::string> per_token_columns() {
  std::vector<std::string> names;
  for (const TableColumn& column : table_rows(PerTokenTable{}, 0).columns) names.push_back(column.name);
  return names;
}

void write_per_token_table(const PerTokenTable& table, int64_t tokens, const std::string& target,
                           const std::string& path, MPI_Comm comm) {
  write_table(comm, table_rows(table, tokens), table_format_of("--per-token", target), path, target);
}

}  // namespace latdisp
