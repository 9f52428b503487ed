#include "app/run_analyze.hpp"

#include <memory>

#include "analysis/analyze.hpp"
#include "analysis/checkpoint.hpp"
#include "analysis/save_results.hpp"
#include "config/save_dtype.hpp"
#include "io/output_file.hpp"
#include "parallel/errors.hpp"
#include "parallel/memory.hpp"
#include "report/report.hpp"

namespace latdisp {

int run_analyze(const AnalyzeOptions& options, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  // Refuse an existing or unwritable output before the analysis, not after.
  std::unique_ptr<PendingOutput> output;
  if (!options.output.empty()) output = std::make_unique<PendingOutput>(comm, options.output, options.overwrite);
  AnalysisResult result = analyze_trajectory(options, comm);
  if (output) {
    // The integer type is known only now (SPEC section 5): W is read again.
    int32_t width = result.displacement[kAllTokens].tally.width;
    MPI_Bcast(&width, 1, MPI_INT32_T, 0, comm);
    const std::string dtype = save_dtype_for(options.save_dtype, width);
    result.saved = save_results(options, output->temporary_path(), dtype, comm);
    output->commit();
    result.timings.write = result.saved->seconds;
    result.timings.total += result.saved->seconds;
    result.peak_rss = gather_peak_rss(comm);  // the save pass has its own peak
  }
  collectively(comm, [&] {
    if (rank != 0) return;
    if (!options.report.empty()) write_json_report(result, options.report);
    print_text_report(result, stdout);
  });
  // The run is complete and reported: its checkpoint is of no more use.
  remove_checkpoint(options, comm);
  const std::string verdict = verdict_of(result.displacement[kAllTokens].tally);
  int code = kExitOk;
  if (rank == 0 && options.strict && verdict != "PERFECT") code = kExitStrict;
  MPI_Bcast(&code, 1, MPI_INT, 0, comm);
  return code;
}

}  // namespace latdisp
