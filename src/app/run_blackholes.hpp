// `latdisp blackholes` end to end: outputs checked, the search over one matrix
// or (--steps) a trajectory, the groups file, the summary and the reports.
#pragma once

#include <mpi.h>

#include "config/bit_level_config.hpp"

namespace latdisp {

// Collective. Returns the exit code.
int run_blackholes(const BlackholesConfig& options, MPI_Comm comm);

}  // namespace latdisp
