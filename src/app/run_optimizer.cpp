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

namespace latdisp {

int run_optimizer(const OptimizerOptions& options, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  check_outputs(comm,
                {{"--report", options.report}, {"--per-token", options.per_token}, {"--series-csv", options.series_csv}},
                input_files_of(options.input, options.dead_mask), options.overwrite);
  std::unique_ptr<PendingOutput> per_token;
  if (!options.per_token.empty())
    per_token = std::make_unique<PendingOutput>(comm, options.per_token, options.overwrite, "--per-token");
  const OptimizerResult result = run_optimizer_audit(options, per_token != nullptr, comm);
  if (per_token) {
    write_optimizer_per_token(result, options.per_token, per_token->temporary_path(), comm);
    per_token->commit();
  }
  std::string report_text, series_text;
  collectively(comm, [&] {
    if (rank != 0) return;
    print_optimizer_text(result, stdout);
    std::fflush(stdout);
    if (!options.report.empty()) report_text = optimizer_json(result).dump(2) + "\n";
    if (!options.series_csv.empty()) series_text = optimizer_series_csv(result);
  });
  if (!options.series_csv.empty())
    write_text_output(comm, options.series_csv, options.overwrite, series_text, "--series-csv");
  if (!options.report.empty()) write_text_output(comm, options.report, options.overwrite, report_text, "--report");
  // The run is complete and reported: its checkpoint is of no more use.
  remove_checkpoint(options.checkpoint_dir, comm);
  return kExitOk;
}

}  // namespace latdisp
