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
void write_motion_files(const AnalyzeConfig& config, const AnalysisResult& result, PendingOutput* per_token,
                        PendingOutput* series, MPI_Comm comm) {
  if (per_token) {
    write_per_token_table(result.per_token, result.shape.tokens, config.outputs.per_token, per_token->temporary_path(), comm);
    per_token->commit();
  }
  if (series) {
    write_series_csv(result, result, config.outputs.series_csv, series->temporary_path(), comm);
    series->commit();
  }
}

// One line naming every file the run wrote (rank 0, on stderr beside the progress lines).
void print_written_files(const AnalyzeConfig& config) {
  const std::pair<const char*, const std::string*> files[] = {{"result tensors", &config.save.path},
                                                              {"JSON report", &config.outputs.report},
                                                              {"per-token table", &config.outputs.per_token},
                                                              {"per-step series", &config.outputs.series_csv},
                                                              {"per-row arrays", &config.per_row}};
  std::string line;
  for (const auto& [what, path] : files)
    if (!path->empty()) line += (line.empty() ? "" : "; ") + std::string(what) + " " + *path;
  if (!line.empty()) std::fprintf(stderr, "latdisp analyze: wrote %s\n", line.c_str());
}

// The analysis; with --per-row, every row's magnitude and regime written as the pass goes.
AnalysisResult analyze_with_rows(const AnalyzeConfig& config, const PreparedAnalysis& prepared, PhaseTimer& phases,
                                 MPI_Comm comm) {
  if (config.per_row.empty()) return analyze_trajectory(prepared.input, prepared.plan, phases, comm);
  PendingOutput pending(comm, config.per_row, config.outputs.overwrite, "--per-row");
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

int run_analyze(const AnalyzeConfig& config, MPI_Comm comm) {
  PhaseTimer phases(analysis_phases(), analysis_concurrent_work(), PhaseTimer::Origin::process_start);
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  const OutputFiles& files = config.outputs;
  // Every path this run writes is refused now if it cannot be written, not after the analysis.
  check_outputs(comm,
                {{"--output", config.save.path},
                 {"--report", files.report},
                 {"--per-token", files.per_token},
                 {"--series-csv", files.series_csv},
                 {"--per-row", config.per_row}},
                input_files_of(config.input.path, config.input.dead_mask), files.overwrite);
  std::unique_ptr<PendingOutput> output;
  if (!config.save.path.empty())
    output = std::make_unique<PendingOutput>(comm, config.save.path, files.overwrite, "--output");
  std::unique_ptr<PendingOutput> per_token, series;
  if (!files.per_token.empty())
    per_token = std::make_unique<PendingOutput>(comm, files.per_token, files.overwrite, "--per-token");
  if (!files.series_csv.empty())
    series = std::make_unique<PendingOutput>(comm, files.series_csv, files.overwrite, "--series-csv");
  const PreparedAnalysis prepared = prepare_analysis(config, comm);
  AnalysisResult result = analyze_with_rows(config, prepared, phases, comm);
  if (output) {
    phases.enter("save");
    result.saved = save_results(prepared.input, prepared.plan, result.integer_width, output->temporary_path(), comm);
    output->commit();
    result.peak_rss = gather_peak_rss(comm);  // the save pass has its own peak
  }
  phases.enter("write");
  write_motion_files(config, result, per_token.get(), series.get(), comm);
  // Every phase up to the reports (what follows, the reports and the runtime's end, is not timed).
  result.timings = timings_of(summarize_phases(phases, comm));
  // The human report first: a report file that cannot be written does not lose it.
  std::string report_text;
  collectively(comm, [&] {
    if (rank != 0) return;
    print_text_report(result, stdout);
    std::fflush(stdout);
    if (!files.report.empty()) report_text = json_report(result).dump(2) + "\n";
  });
  if (!files.report.empty()) write_text_output(comm, files.report, files.overwrite, report_text, "--report");
  // The run is complete and reported: its checkpoint is of no more use.
  remove_checkpoint(config.checkpoint.directory, comm);
  if (rank == 0) print_written_files(config);
  const std::string verdict = verdict_of(result.displacement[kAllTokens].tally);
  int code = kExitOk;
  if (rank == 0 && config.strict && verdict != "PERFECT") code = kExitStrict;
  MPI_Bcast(&code, 1, MPI_INT, 0, comm);
  return code;
}

}  // namespace latdisp
