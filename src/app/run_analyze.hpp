// `latdisp analyze` end to end: analysis, optional save, the reports.
#pragma once

#include <mpi.h>

#include "config/analyze_config.hpp"

namespace latdisp {

// Collective: analyze, save (--output), print the report (rank 0), write the
// JSON report. Returns the exit code.
int run_analyze(const AnalyzeConfig& config, MPI_Comm comm);

}  // namespace latdisp
