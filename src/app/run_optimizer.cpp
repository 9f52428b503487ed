#include "app/run_optimizer.hpp"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "analysis/checkpoint.hpp"
#include "io/output_file.hpp"
#include "io/trajectory_reader.hpp"
#include "optimizer/audit.hpp"
#include "optimizer/optimizer_report.hpp"
#include "parallel/errors.hpp"
#include "parallel/phase_timer.hpp"

namespace latdisp {

int run_optimizer(const OptimizerConfig& config, MPI_Comm comm) {
  PhaseTimer phases(optimizer_phases(), {}, PhaseTimer::Origin::process_start);
  phases.enter("open");
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  const OutputFiles& files = config.outputs;
  check_outputs(comm, {{"--report", files.report}, {"--per-token", files.per_token}, {"--series-csv", files.series_csv}},
                input_files_of(config.input.path, config.input.dead_mask), files.overwrite);
  std::unique_ptr<PendingOutput> per_token;
  if (!files.per_token.empty())
    per_token = std::make_unique<PendingOutput>(comm, files.per_token, files.overwrite, "--per-token");
  OptimizerResult result = run_optimizer_audit(config, per_token != nullptr, phases, comm);
  phases.enter("write");
  if (per_token) {
    write_optimizer_per_token(result, files.per_token, per_token->temporary_path(), comm);
    per_token->commit();
  }
  // Every phase up to the reports (what follows, the reports and the runtime's end, is not timed).
  record_optimizer_timings(result, phases, comm);
  std::string report_text, series_text;
  collectively(comm, [&] {
    if (rank != 0) return;
    print_optimizer_text(result, stdout);
    std::fflush(stdout);
    if (!files.report.empty()) report_text = optimizer_json(result).dump(2) + "\n";
    if (!files.series_csv.empty()) series_text = optimizer_series_csv(result);
  });
  if (!files.series_csv.empty())
    write_text_output(comm, files.series_csv, files.overwrite, series_text, "--series-csv");
  if (!files.report.empty()) write_text_output(comm, files.report, files.overwrite, report_text, "--report");
  // The run is complete and reported: its checkpoint is of no more use.
  remove_checkpoint(config.checkpoint.directory, comm);
  return kExitOk;
}

}  // namespace latdisp
