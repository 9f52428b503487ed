// The typed parts that several commands' configurations share: the input
// with its dead mask, the memory and its budget, the checkpoints. Built from
// the shared option groups (config/shared_options.hpp), checked once.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <optional>
#include <string>

#include "config/step_selection.hpp"
#include "io/trajectory_input.hpp"
#include "kokkos_kernels/formats/element_type.hpp"

namespace latdisp {

// What is read: --input, --dataset, --dead-mask, --steps, --element-type.
struct InputSpec {
  std::string path;                    // a file, or a checkpoint series
  std::string dataset = "W";           // the tensor's name in it
  std::string dead_mask = "dead_mask"; // NAME in the input, or FILE:NAME (io/trajectory_reader.hpp)
  bool skip_incomplete = false;        // a series leaves out checkpoints not complete yet
  std::optional<StepSelection> steps;  // none: every snapshot
  std::string steps_text;              // --steps as given, for messages
  std::optional<formats::ElementType> element_type;  // of integer storage; none: from the input
};

// The input as io/trajectory_input.hpp opens it: any element format,
// --element-type for integer storage, --skip-incomplete for a series.
TrajectoryInputSpec trajectory_input_of(const InputSpec& input);

// Memory and scratch space: --memory-budget, --scratch-dir,
// --max-steps-per-block, --progress-seconds.
struct MemorySpec {
  std::optional<uint64_t> budget_bytes;  // per rank; none: a safe share of the node's memory
  std::string scratch_dir = "/tmp";
  int64_t max_steps_per_block = 0;  // 0: as many as the budget allows
  double progress_seconds = 5.0;    // 0: no progress lines
};

// Collective where no budget was given: the budget per rank, the default
// share of the node's memory capped at `default_cap`.
uint64_t memory_budget_of(const MemorySpec& memory, MPI_Comm comm, uint64_t default_cap = UINT64_MAX);

// The files a streaming command's reports go to: --report, --per-token,
// --series-csv, --overwrite.
struct OutputFiles {
  std::string report;      // the JSON report; empty: none
  std::string per_token;   // .csv, .h5/.hdf5 or .safetensors; empty: none
  std::string series_csv;  // .csv; empty: none
  bool overwrite = false;  // replace existing output files
};

// Checkpoints and restart (docs/operations.md §6).
struct CheckpointSpec {
  std::string directory;   // empty: no checkpoints
  double seconds = 300;    // checkpoint at least this often, at a step-block boundary
  bool resume = false;     // continue from the checkpoint in `directory`
  double block_pause = 0;  // testing: seconds to sleep after each step block
};

}  // namespace latdisp
