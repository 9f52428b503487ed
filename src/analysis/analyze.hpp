// `latdisp analyze`: streams each rank's token slab through the displacement
// kernel in step blocks sized by the memory budget, then reduces and reports.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <functional>

#include "analysis/analysis_plan.hpp"
#include "analysis/analysis_result.hpp"
#include "config/analyze_config.hpp"
#include "parallel/phase_timer.hpp"

namespace latdisp {

// Collective: the analysis of an opened input by its plan. Fills the result
// (complete on rank 0; integer_width on every rank). Throws Error.
// `rows`, when given, receives every step block's row magnitudes (collective:
// every rank, once per block; transitions x slab tokens, C order) as the
// kernel wrote them (--per-row). `phases` runs analysis_phases() from
// "setup" to "reduce" (what ran before stays); result.timings holds them so
// far.
using RowSink = std::function<void(int64_t first_transition, int64_t transitions, const double* magnitudes)>;
AnalysisResult analyze_trajectory(const AnalysisInput& input, const AnalysisPlan& plan, PhaseTimer& phases,
                                  MPI_Comm comm, const RowSink& rows = RowSink());

// Collective: opens config.input, plans and analyzes it.
AnalysisResult analyze_trajectory(const AnalyzeConfig& config, MPI_Comm comm);

}  // namespace latdisp
