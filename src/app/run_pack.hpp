// `latdisp pack` end to end: the output checked, the input opened, W, the dead
// mask and the step numbers written as the HDF5 trajectory, the summary.
#pragma once

#include <mpi.h>

#include "config/pack_config.hpp"

namespace latdisp {

// Collective. Returns the exit code; throws Error on failure.
int run_pack(const PackConfig& options, MPI_Comm comm);

}  // namespace latdisp
