// `latdisp generate`: the synthetic trajectory, written with parallel HDF5.
#pragma once

#include <mpi.h>

#include "config/generate_config.hpp"

namespace latdisp {

// Collective. Returns the exit code; throws Error on failure.
int run_generate(const GenerateConfig& options, MPI_Comm comm);

}  // namespace latdisp
