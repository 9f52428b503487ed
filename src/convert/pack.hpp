// `latdisp pack`: any input W (a checkpoint series, a safetensors or HDF5
// trajectory) written as the HDF5 trajectory latdisp reads fastest: W
// contiguous (uint16 bits), dead_mask (bool) and the training step numbers
// `steps`, by all ranks in parallel, through a safe (temporary, renamed) output.
#pragma once

#include <mpi.h>

#include "config/pack_config.hpp"

namespace latdisp {

// Collective. Returns the exit code; throws Error on failure.
int run_pack(const PackConfig& options, MPI_Comm comm);

}  // namespace latdisp
