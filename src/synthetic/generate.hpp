// `latdisp generate`: the synthetic trajectory, written with parallel HDF5.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>

#include "config/generate_config.hpp"
#include "synthetic/synthetic_trajectory.hpp"

namespace latdisp {

// Collective: steps per written block, the same on every rank (the block
// planner of io/block_plan.hpp): a block of `max_slab` tokens (the largest
// slab) in stored bytes plus the step being generated, within options.memory.
// Throws Error when not even one step fits.
int64_t generate_block_steps(const GenerateConfig& options, int64_t max_slab, MPI_Comm comm);

// Collective: the trajectory of `model` (options' shape, format and dataset
// names) into a new HDF5 file at `path`, `block_steps` steps per write, every
// rank its token slab. Throws Error on a write failure or a stop signal.
void write_trajectory(const GenerateConfig& options, const TrajectoryModel& model, int64_t block_steps,
                      const std::string& path, MPI_Comm comm);

// The one-line summary of what was written (two with a decay), on stdout.
void print_generate_summary(const GenerateConfig& options);

}  // namespace latdisp
