// `latdisp analyze`: streams each rank's token slab through the displacement
// kernel in step blocks sized by the memory budget, then reduces and reports.
#pragma once

#include <mpi.h>

#include "analysis_result.hpp"
#include "options.hpp"

namespace latdisp {

// Collective. Fills the result (complete on rank 0). Throws Error.
AnalysisResult analyze_trajectory(const AnalyzeOptions& options, MPI_Comm comm);

// Collective: analyze, print the report (rank 0), write the JSON report.
// Returns the exit code.
int run_analyze(const AnalyzeOptions& options, MPI_Comm comm);

}  // namespace latdisp
