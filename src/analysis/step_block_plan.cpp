#include "analysis/step_block_plan.hpp"

#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "analysis/magnitude_store.hpp"
#include "io/step_stream.hpp"
#include "parallel/errors.hpp"
#include "parallel/memory.hpp"

namespace latdisp {

namespace {

// What one step of the pass costs and what the whole run holds.
BlockCost pass_cost(const StepBlockInputs& in) {
  const uint64_t copies = in.separate_device_memory ? 2 : 1;
  const uint64_t tokens = static_cast<uint64_t>(in.slab_tokens);
  const uint64_t items = static_cast<uint64_t>((in.slab_tokens + in.tokens_per_item - 1) / in.tokens_per_item);
  const uint64_t coordinates = tokens * static_cast<uint64_t>(in.dims);
  const uint64_t step_bytes = coordinates * in.value_bytes;
  StepStreamLayout layout;
  layout.source = in.source;
  layout.background = in.double_buffered;
  const StepStreamMemory stream = step_stream_memory(layout, step_bytes);
  // The stream's blocks (buffers or mapped pages, twice when the next block
  // is read while the kernel runs), the collective read's buffer on the
  // host for read blocks (MPI-IO aggregates a block's values), the block's
  // copy on a device with memory of its own, and per copy the save pass's
  // encoded outputs, the magnitudes, per-token extras and tallies.
  BlockCost cost;
  cost.steps = in.steps;
  cost.min_steps = 2;  // a transition
  cost.bytes_per_step = stream.bytes_per_step + (in.source == BlockSource::read ? step_bytes : 0) +
                        (in.separate_device_memory ? step_bytes : 0) +
                        copies * (coordinates * in.output_bytes_per_coordinate + tokens * (8 + in.row_extra_bytes) +
                                  items * in.item_tally_bytes);
  // The counting tables and per-step sums are bounded; the general values
  // (8 bytes each) are at most one per row, and held in memory if they fit.
  cost.fixed_bytes = stream.fixed_bytes + tokens * (1 + in.token_extra_bytes) +
                     (in.keeps_magnitudes ? magnitude_table_bytes(in.steps - 1) : 0);
  cost.baseline_bytes = in.baseline_bytes;
  cost.optional_bytes = in.keeps_magnitudes ? static_cast<uint64_t>(in.steps - 1) * tokens * 8 : 0;
  cost.preferred_step_bytes = coordinates * (in.value_bytes + in.output_bytes_per_coordinate);
  cost.slab_text = "this rank's slab (" + std::to_string(in.slab_tokens) + " tokens x " + std::to_string(in.dims) +
                   " dims)";
  cost.fixed_text = " and the magnitude tables";
  return cost;
}

StepBlockPlan step_block_plan_of(const BlockCost& cost, const BlockPlan& blocks) {
  StepBlockPlan plan;
  plan.steps_per_block = blocks.steps_per_block;
  plan.magnitudes_in_memory = blocks.optional_held;
  plan.bytes_per_step = cost.bytes_per_step;
  plan.magnitude_bytes = cost.optional_bytes;
  plan.general_bytes = blocks.spare_bytes;  // all of magnitude_bytes when this rank keeps them in memory
  plan.fixed_bytes = blocks.reserved_bytes;
  return plan;
}

}  // namespace

StepBlockPlan plan_step_blocks(const StepBlockInputs& in) {
  const BlockCost cost = pass_cost(in);
  return step_block_plan_of(cost, plan_blocks(cost, in.budget));
}

StepBlockPlan plan_step_blocks(const StepBlockInputs& in, int64_t max_steps, MPI_Comm comm) {
  const BlockCost cost = pass_cost(in);
  return step_block_plan_of(cost, plan_blocks(cost, in.budget, comm, max_steps));
}

}  // namespace latdisp

namespace latdisp {

void check_scratch_space(const std::string& scratch_dir, uint64_t bytes, MPI_Comm comm) {
  MPI_Comm node;
  MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  uint64_t node_bytes = 0;
  MPI_Allreduce(&bytes, &node_bytes, 1, MPI_UINT64_T, MPI_SUM, node);
  MPI_Comm_free(&node);
  collectively(comm, [&] {
    if (node_bytes == 0) return;
    const std::string folder = scratch_dir.empty() ? std::string("/tmp") : scratch_dir;
    struct statvfs disk {};
    if (statvfs(folder.c_str(), &disk) != 0)
      fail(kExitOutput, "--scratch-dir '" + folder + "': " + std::string(std::strerror(errno)));
    const uint64_t available = static_cast<uint64_t>(disk.f_bavail) * disk.f_frsize;
    if (available < node_bytes)
      fail(kExitOutput, "--scratch-dir '" + folder + "' has " + format_bytes(available) +
                            " free, but the row magnitudes that do not fit in --memory-budget may need up to " +
                            format_bytes(node_bytes) +
                            " there (8 bytes per token and step); free space, choose another --scratch-dir or "
                            "raise the budget");
  });
}

}  // namespace latdisp
