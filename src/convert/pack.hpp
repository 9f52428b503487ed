// `latdisp pack`: any input W (a checkpoint series, a safetensors or HDF5
// trajectory) written as the HDF5 trajectory latdisp reads fastest: W
// contiguous (uint16 bits), dead_mask (bool) and the training step numbers
// `steps`, by all ranks in parallel, through a safe (temporary, renamed) output.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/pack_config.hpp"
#include "io/trajectory_reader.hpp"

namespace latdisp {

// Collective: steps per block, the same on every rank (the block planner of
// io/block_plan.hpp): a block of the largest slab (`max_slab` tokens x `dims`
// values of `value_bytes`) is read and written whole, within options.memory.
// Throws Error when not even one step fits.
int64_t pack_block_steps(const PackConfig& options, MPI_Comm comm, int64_t steps, int64_t max_slab, int64_t dims,
                         int64_t value_bytes);

// The input of pack, opened collectively: the reader and the dead mask.
struct PackInput {
  std::unique_ptr<TrajectoryReader> reader;
  std::vector<uint8_t> dead_mask;
  bool dead_mask_found = false;
};

// Collective: opens options.input in any element format, requires a token per
// rank, and warns on stderr (rank 0) when the input has no dead mask.
// Throws Error(kExitInput) for an unreadable or malformed input.
PackInput open_pack_input(const PackConfig& options, MPI_Comm comm);

// Collective: W (read `block_steps` steps at a time), the dead mask and the
// step numbers, where the input has them, into a new HDF5 file at `path`.
void write_packed(const PackConfig& options, const PackInput& input, int64_t block_steps, const std::string& path,
                  MPI_Comm comm);

// The one-line summary of what was written and how fast, on stdout.
void print_pack_summary(const PackConfig& options, const PackInput& input, double seconds, int ranks);

}  // namespace latdisp
