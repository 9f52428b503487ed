#include "app/run_analyze.hpp"

#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "analysis/analyze.hpp"
#include "analysis/checkpoint.hpp"
#include "analysis/per_row_output.hpp"
#include "analysis/per_token_table.hpp"
#include "analysis/save_results.hpp"
#include "io/output_file.hpp"
#include "io/trajectory_reader.hpp"
#include "parallel/errors.hpp"
#include "parallel/memory.hpp"
#include "parallel/phase_timer.hpp"
#include "report/report.hpp"
#include "report/series_csv.hpp"

namespace latdisp {

namespace {

// --per-token and --series-csv.
void write_motion_files(const AnalyzeOptions& options, const AnalysisResult& result, PendingOutput* per_token,
                        PendingOutput* series, MPI_Comm comm) {
  if (per_token) {
    write_per_token_table(result.per_token, result.shape.tokens, options.per_token, per_token->temporary_path(), comm);
    per_token->commit();
  }
  if (series) {
    write_series_csv(result, options.series_csv, series->temporary_path(), comm);
    series->commit();
  }
}

// One line naming every file the run wrote (rank 0, on stderr beside the progress lines).
void print_written_files(const AnalyzeOptions& options) {
  const std::pair<const char*, const std::string*> files[] = {{"result tensors", &options.output},
                                                              {"JSON report", &options.report},
                                                              {"per-token table", &options.per_token},
                                                              {"per-step series", &options.series_csv},
                                                              {"per-row arrays", &options.per_row}};
  std::string line;
  for (const auto& [what, path] : files)
    if (!path->empty()) line += (line.empty() ? "" : "; ") + std::string(what) + " " + *path;
  if (!line.empty()) std::fprintf(stderr, "latdisp analyze: wrote %s\n", line.c_str());
}

// The analysis; with --per-row, every row's magnitude and regime written as the pass goes.
AnalysisResult analyze_with_rows(const AnalyzeOptions& options, const PreparedAnalysis& prepared, PhaseTimer& phases,
                                 MPI_Comm comm) {
  if (options.per_row.empty()) return analyze_trajectory(prepared.input, prepared.plan, phases, comm);
  PendingOutput pending(comm, options.per_row, options.overwrite, "--per-row");
  const TrajectoryShape& shape = prepared.input.shape();
  PerRowOutput rows(comm, pending.temporary_path(), shape.steps - 1, shape.tokens, prepared.plan.slab,
                    prepared.plan.kernel.hop_radius);
  AnalysisResult result = analyze_trajectory(prepared.input, prepared.plan, phases, comm,
                                             [&](int64_t first, int64_t transitions, const double* magnitudes) {
                                               rows.add_block(first, transitions, magnitudes);
                                             });
  phases.enter("write");
  rows.close();
  pending.commit();
  return result;
}

}  // namespace

int run_analyze(const AnalyzeOptions& options, MPI_Comm comm) {
  PhaseTimer phases(analysis_phases(), analysis_concurrent_work(), PhaseTimer::Origin::process_start);
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  // Every path this run writes is refused now if it cannot be written, not after the analysis.
  check_outputs(comm,
                {{"--output", options.output},
                 {"--report", options.report},
                 {"--per-token", options.per_token},
                 {"--series-csv", options.series_csv},
                 {"--per-row", options.per_row}},
                input_files_of(options.input, options.dead_mask), options.overwrite);
  std::unique_ptr<PendingOutput> output;
  if (!options.output.empty())
    output = std::make_unique<PendingOutput>(comm, options.output, options.overwrite, "--output");
  std::unique_ptr<PendingOutput> per_token, series;
  if (!options.per_token.empty())
    per_token = std::make_unique<PendingOutput>(comm, options.per_token, options.overwrite, "--per-token");
  if (!options.series_csv.empty())
    series = std::make_unique<PendingOutput>(comm, options.series_csv, options.overwrite, "--series-csv");
  const PreparedAnalysis prepared = prepare_analysis(options, comm);
  AnalysisResult result = analyze_with_rows(options, prepared, phases, comm);
  if (output) {
    phases.enter("save");
    result.saved = save_results(prepared.input, prepared.plan, result.integer_width, output->temporary_path(), comm);
    output->commit();
    result.peak_rss = gather_peak_rss(comm);  // the save pass has its own peak
  }
  phases.enter("write");
  write_motion_files(options, result, per_token.get(), series.get(), comm);
  // Every phase up to the reports (what follows, the reports and the runtime's end, is not timed).
  result.timings = timings_of(summarize_phases(phases, comm));
  // The human report first: a report file that cannot be written does not lose it.
  std::string report_text;
  collectively(comm, [&] {
    if (rank != 0) return;
    print_text_report(result, stdout);
    std::fflush(stdout);
    if (!options.report.empty()) report_text = json_report(result).dump(2) + "\n";
  });
  if (!options.report.empty()) write_text_output(comm, options.report, options.overwrite, report_text, "--report");
  // The run is complete and reported: its checkpoint is of no more use.
  remove_checkpoint(options, comm);
  if (rank == 0) print_written_files(options);
  const std::string verdict = verdict_of(result.displacement[kAllTokens].tally);
  int code = kExitOk;
  if (rank == 0 && options.strict && verdict != "PERFECT") code = kExitStrict;
  MPI_Bcast(&code, 1, MPI_INT, 0, comm);
  return code;
}

}  // namespace latdisp
