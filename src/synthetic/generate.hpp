// `latdisp generate`: the synthetic trajectory, written with parallel HDF5.
#pragma once

#include <mpi.h>

#include "config/generate_options.hpp"

namespace latdisp {

// Collective. Returns the exit code; throws Error on failure.
int run_generate(const GenerateOptions& options, MPI_Comm comm);

}  // namespace latdisp
