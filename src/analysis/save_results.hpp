// Saving the result tensors (docs/formats.md §8): a second pass over W,
// through the reader the analysis opened, that encodes every coordinate and
// writes the token slabs in parallel.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>

#include "analysis/analysis_plan.hpp"
#include "analysis/analysis_result.hpp"

namespace latdisp {

// Collective: writes the tensors plan.output selects to `temporary_path`.
// `integer_width` is the analysis' AnalysisResult::integer_width (the same on
// every rank). Throws Error.
SaveSummary save_results(const AnalysisInput& input, const AnalysisPlan& plan, int32_t integer_width,
                         const std::string& temporary_path, MPI_Comm comm);

}  // namespace latdisp
