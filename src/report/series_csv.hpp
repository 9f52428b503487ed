// The per-step series of an analysis as one wide CSV, one row per transition
// (docs/formats.md, "Series CSV"): ready for pandas.read_csv.
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

#include "analysis/analysis_result.hpp"

namespace latdisp {

// Collective (the series are complete on rank 0, which writes them; the other
// ranks' `numbers` are not read). Writes to `path` (a temporary name);
// messages name `target`. Throws Error(kExitOutput) on every rank on failure.
void write_series_csv(const AnalysisSetup& setup, const ReducedNumbers& numbers, const std::string& target,
                      const std::string& path, MPI_Comm comm);

}  // namespace latdisp
