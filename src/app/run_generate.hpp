// `latdisp generate` end to end: the synthetic trajectory (HDF5) or, with
// --matrix, the demo embedding matrix (safetensors), and the summary.
#pragma once

#include <mpi.h>

#include "config/generate_config.hpp"

namespace latdisp {

// Collective: the synthetic trajectory. Returns the exit code; throws Error on failure.
int run_generate(const GenerateConfig& options, MPI_Comm comm);

// Collective: the demo matrix with its planted groups (synthetic/demo_matrix.hpp).
// Returns the exit code; throws Error on failure.
int run_generate_matrix(const GenerateConfig& options, MPI_Comm comm);

}  // namespace latdisp
