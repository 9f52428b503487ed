// `latdisp separation` end to end: the groups loaded, the pairwise separations
// and group spreads measured, the result printed (text or JSON).
#pragma once

#include <mpi.h>

#include "config/bit_level_config.hpp"

namespace latdisp {

// Collective. Returns the exit code; throws Error on bad groups or input.
int run_separation(const SeparationConfig& options, MPI_Comm comm);

}  // namespace latdisp
