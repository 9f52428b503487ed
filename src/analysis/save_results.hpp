// Saving the result tensors (docs/formats.md §8): a second pass over W
// that encodes every coordinate and writes the token slabs in parallel.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>

#include "analysis/analysis_result.hpp"
#include "config/options.hpp"

namespace latdisp {

// Collective: writes options.output to `temporary_path`. `dtype` from
// save_dtype_for. Throws Error.
SaveSummary save_results(const AnalyzeOptions& options, const std::string& temporary_path, const std::string& dtype,
                         MPI_Comm comm);

}  // namespace latdisp
