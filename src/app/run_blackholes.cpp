#include "app/run_blackholes.hpp"

#include <cstdio>
#include <memory>
#include <string>

#include "bits/blackholes.hpp"
#include "bits/blackholes_over_time.hpp"
#include "bits/blackholes_report.hpp"
#include "io/output_file.hpp"
#include "parallel/errors.hpp"
#include "parallel/phase_timer.hpp"

namespace latdisp {

int run_blackholes(const BlackholesConfig& options, MPI_Comm comm) {
  PhaseTimer phases(blackholes_phases(), {}, PhaseTimer::Origin::process_start);
  phases.enter("open");
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  const OutputFiles& files = options.outputs;
  // Every path this run writes is refused now if it cannot be written, not after the search.
  check_outputs(comm,
                {{"--output", options.output}, {"--report", files.report}, {"--series-csv", files.series_csv}},
                blackholes_input_files(options), files.overwrite);
  std::unique_ptr<PendingOutput> groups;
  if (!options.output.empty())
    groups = std::make_unique<PendingOutput>(comm, options.output, files.overwrite, "--output");
  BlackholesRun run =
      options.steps ? blackholes_over_time(options, phases, comm) : blackholes_of_matrix(options, phases, comm);
  phases.enter("write");
  if (groups) write_blackholes_groups(run, *groups, comm);
  // Every phase up to the reports (the reports themselves are not timed).
  run.phases = summarize_phases(phases, comm);
  // The summary first: a report file that cannot be written does not lose it.
  std::string report, series;
  collectively(comm, [&] {
    if (rank != 0) return;
    std::fputs((options.json ? blackholes_json(run).dump(2) + "\n" : blackholes_text(run)).c_str(), stdout);
    std::fflush(stdout);
    if (!files.report.empty()) report = blackholes_json(run).dump(2) + "\n";
    if (!files.series_csv.empty()) series = blackholes_series_csv(run);
  });
  if (!files.report.empty()) write_text_output(comm, files.report, files.overwrite, report, "--report");
  if (!files.series_csv.empty()) write_text_output(comm, files.series_csv, files.overwrite, series, "--series-csv");
  return kExitOk;
}

}  // namespace latdisp
