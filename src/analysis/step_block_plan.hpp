// How many steps of its slab a rank holds at once, from the memory budget.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>

#include "io/block_plan.hpp"
#include "io/block_source.hpp"

namespace latdisp {

struct StepBlockPlan {
  int64_t steps_per_block = 0;       // consecutive blocks share one step
  bool magnitudes_in_memory = true;  // else general magnitudes past general_bytes spill to a scratch file
  uint64_t bytes_per_step = 0;       // working memory per step held
  uint64_t magnitude_bytes = 0;      // the worst case: every row magnitude a general value
  uint64_t general_bytes = 0;        // memory the general magnitudes may use (all of it when in memory)
  uint64_t fixed_bytes = 0;          // baseline process + library buffers + the magnitude tables
};

// What one pass over W holds per step of its slab, and the budget. The
// defaults describe the analysis reading its blocks into buffers; the save
// pass holds encoded outputs per coordinate instead of row magnitudes.
struct StepBlockInputs {
  int64_t steps = 0;
  int64_t slab_tokens = 0;
  int64_t dims = 0;
  int64_t tokens_per_item = 1;
  uint64_t item_tally_bytes = 0;
  uint64_t value_bytes = 2;                  // of one value of W (its element format's)
  uint64_t output_bytes_per_coordinate = 0;  // beyond the value
  bool keeps_magnitudes = true;              // all of the slab's row magnitudes, for the percentiles
  bool separate_device_memory = false;       // a GPU: blocks live twice
  bool double_buffered = false;              // the next block is read while the kernel runs: values twice
  // How blocks reach the kernel, decided before the plan: read blocks hold
  // the stream's buffers and the collective read's, mapped ones their pages,
  // direct ones only a small staging buffer (io/step_stream.hpp).
  BlockSource source = BlockSource::read;
  uint64_t budget = 0;
  uint64_t baseline_bytes = 0;     // resident before the analysis
  uint64_t row_extra_bytes = 0;    // kernel output per (step, token) beyond the magnitude
  uint64_t token_extra_bytes = 0;  // per slab token, for the whole run
};

// This rank's plan alone, from the one block planner (io/block_plan.hpp):
// the row magnitudes stay in memory unless that starves the step blocks.
// Throws Error(kExitUsage) if not even two steps fit.
StepBlockPlan plan_step_blocks(const StepBlockInputs& in);

// Collective: the same plan on every rank (the smallest block, at most
// `max_steps` when positive; the magnitudes in memory only if every rank
// keeps them there), so every rank makes the same number of collective reads.
StepBlockPlan plan_step_blocks(const StepBlockInputs& in, int64_t max_steps, MPI_Comm comm);

// Collective: when the row magnitudes may spill (at most `bytes` on this
// rank), the scratch folder must have room for what every rank on this node
// may spill there. Throws Error(kExitOutput) at once rather than hours later.
void check_scratch_space(const std::string& scratch_dir, uint64_t bytes, MPI_Comm comm);

}  // namespace latdisp
