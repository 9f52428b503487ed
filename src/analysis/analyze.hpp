// `latdisp analyze`: streams each rank's token slab through the displacement
// kernel in step blocks sized by the memory budget, then reduces and reports.
#pragma once

#include <mpi.h>

#include "analysis/analysis_result.hpp"
#include "config/options.hpp"

namespace latdisp {

// Collective. Fills the result (complete on rank 0). Throws Error.
AnalysisResult analyze_trajectory(const AnalyzeOptions& options, MPI_Comm comm);

}  // namespace latdisp
