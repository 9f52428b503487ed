// `latdisp survey` end to end: outputs checked, the survey, the summary, the
// JSON report, the per-token CSV and the groups file.
#pragma once

#include <mpi.h>

#include "config/survey_config.hpp"

namespace latdisp {

// Collective. Returns the exit code.
int run_survey(const SurveyConfig& config, MPI_Comm comm);

}  // namespace latdisp
