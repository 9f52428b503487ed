// `latdisp inspect` end to end: the groups loaded, the representatives' bits
// read, the table printed (text or JSON).
#pragma once

#include <mpi.h>

#include "config/bit_level_config.hpp"

namespace latdisp {

// Collective. Returns the exit code; throws Error on bad groups or dims.
int run_inspect(const InspectConfig& options, MPI_Comm comm);

}  // namespace latdisp
