#include "report/series_csv.hpp"

#include <cmath>

#include "analysis/count_table.hpp"
#include "io/table_writer.hpp"

namespace latdisp {

namespace {

// The near-zero kinds per step (docs/definitions.md §19).
const std::pair<const char*, int> kZeroKindKeys[] = {
    {"sign_change", kSignChange}, {"from_zero", kFromZero}, {"to_zero", kToZero}};
const char* const kPopulations[] = {"all", "live", "dead"};  // MagnitudePopulation order

TableColumn integers(const std::string& name, std::vector<int64_t> values) {
  return TableColumn{name, ColumnType::int64, std::move(values), {}};
}

TableColumn reals(const std::string& name, const std::vector<std::optional<double>>& values) {
  TableColumn column{name, ColumnType::float64, {}, {}};
  for (const auto& v : values) column.reals.push_back(v ? *v : NAN);
  return column;
}

// The columns of the table; with `data` false only their names and types
// (the ranks other than 0 hold no rows).
std::vector<TableColumn> series_columns(const AnalysisResult& r, bool data) {
  const int64_t transitions = data ? r.transitions() : 0;
  const bool known = static_cast<int64_t>(r.step_numbers.size()) == transitions + 1;
  std::vector<int64_t> step, from, to;
  for (int64_t t = 0; t < transitions; ++t) {
    step.push_back(t);
    from.push_back(known ? r.step_numbers[static_cast<size_t>(t)] : t);
    to.push_back(known ? r.step_numbers[static_cast<size_t>(t + 1)] : t + 1);
  }
  std::vector<TableColumn> columns{integers("step", step), integers("from_step", from), integers("to_step", to)};
  for (int p = 0; p < 3; ++p) {
    const std::string prefix = std::string(kPopulations[p]) + ".";
    const PopulationResult& counts = r.displacement[p];
    const MagnitudeSummary& magnitude = r.magnitude[p];
    // The count series of kCountTable, the row regimes after the magnitudes.
    const auto count_columns = [&](bool regimes) {
      for (const CountDescriptor& d : kCountTable)
        if (d.in_series_csv && (d.section == CountSection::motion) == regimes)
          columns.push_back(integers(prefix + d.series_key, data ? counts.series[d.count] : std::vector<int64_t>()));
    };
    count_columns(false);
    columns.push_back(reals(prefix + "mean", data ? magnitude.per_step_mean : std::vector<std::optional<double>>()));
    columns.push_back(reals(prefix + "max", data ? magnitude.per_step_max : std::vector<std::optional<double>>()));
    count_columns(true);
    const NearZeroPopulation& near_zero = r.near_zero[static_cast<size_t>(p)];
    for (const auto& [key, kind] : kZeroKindKeys)
      columns.push_back(integers(prefix + key, data ? near_zero.series[kind] : std::vector<int64_t>()));
  }
  return columns;
}

}  // namespace

void write_series_csv(const AnalysisResult& result, const std::string& target, const std::string& path, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  LocalTableRows table;
  table.total_rows = result.transitions();
  table.first_row = rank == 0 ? 0 : table.total_rows;
  table.rows = rank == 0 ? table.total_rows : 0;
  table.columns = series_columns(result, rank == 0);
  write_table(comm, table, TableFormat::csv, path, target);
}

}  // namespace latdisp
