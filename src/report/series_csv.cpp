#include "report/series_csv.hpp"

#include <cmath>

#include "analysis/count_table.hpp"
#include "io/table_writer.hpp"

namespace latdisp {

namespace {

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
std::vector<TableColumn> series_columns(const AnalysisSetup& setup, const ReducedNumbers& numbers, bool data) {
  const int64_t transitions = data ? setup.transitions() : 0;
  const bool known = static_cast<int64_t>(setup.step_numbers.size()) == transitions + 1;
  std::vector<int64_t> step, from, to;
  for (int64_t t = 0; t < transitions; ++t) {
    step.push_back(t);
    from.push_back(known ? setup.step_numbers[static_cast<size_t>(t)] : t);
    to.push_back(known ? setup.step_numbers[static_cast<size_t>(t + 1)] : t + 1);
  }
  std::vector<TableColumn> columns{integers("step", step), integers("from_step", from), integers("to_step", to)};
  for (int p = 0; p < kResultPopulations; ++p) {
    const std::string prefix = std::string(population_name(p)) + ".";
    const PopulationResult& counts = numbers.displacement[static_cast<size_t>(p)];
    const MagnitudeSummary& magnitude = numbers.magnitude[static_cast<size_t>(p)];
    // The count series of kCountTable, the row regimes after the magnitudes.
    const auto count_columns = [&](bool regimes) {
      for (const CountDescriptor& d : kCountTable)
        if (d.in_series_csv && (d.section == CountSection::motion) == regimes)
          columns.push_back(integers(prefix + d.series_key, data ? counts.series[d.count] : std::vector<int64_t>()));
    };
    count_columns(false);
    for (const MagnitudeSeriesKey& m : kMagnitudeSeries)
      columns.push_back(reals(prefix + m.key, data ? magnitude.*m.series : std::vector<std::optional<double>>()));
    count_columns(true);
    // The near-zero kinds per step (docs/definitions.md §19).
    const NearZeroPopulation& near_zero = numbers.near_zero[static_cast<size_t>(p)];
    for (int kind = kSignChange; kind < kZeroKinds; ++kind)
      columns.push_back(
          integers(prefix + kZeroKindNames[kind], data ? near_zero.series[kind] : std::vector<int64_t>()));
  }
  return columns;
}

}  // namespace

void write_series_csv(const AnalysisSetup& setup, const ReducedNumbers& numbers, const std::string& target,
                      const std::string& path, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  LocalTableRows table;
  table.total_rows = setup.transitions();
  table.first_row = rank == 0 ? 0 : table.total_rows;
  table.rows = rank == 0 ? table.total_rows : 0;
  table.columns = series_columns(setup, numbers, rank == 0);
  write_table(comm, table, TableFormat::csv, path, target);
}

}  // namespace latdisp
