// `latdisp optimizer` end to end: outputs checked, the audit, the reports.
#pragma once

#include <mpi.h>

#include "config/optimizer_config.hpp"

namespace latdisp {

int run_optimizer(const OptimizerConfig& config, MPI_Comm comm);

}  // namespace latdisp
