#include "analysis/step_block_plan.hpp"

#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "analysis/magnitude_store.hpp"
#include "parallel/errors.hpp"
#include "parallel/memory.hpp"

namespace latdisp {

namespace {

// The bytes one step of the slab costs, and those the whole run holds.
void size_the_plan(const StepBlockInputs& in, StepBlockPlan& plan) {
  const uint64_t copies = in.separate_device_memory ? 2 : 1;
  const uint64_t tokens = static_cast<uint64_t>(in.slab_tokens);
  const uint64_t items = static_cast<uint64_t>((in.slab_tokens + in.tokens_per_item - 1) / in.tokens_per_item);
  const uint64_t coordinates = tokens * static_cast<uint64_t>(in.dims);
  const uint64_t value_buffers = in.double_buffered ? 2 : 1;
  // Values (twice when the next block is read while the kernel runs), the
  // save pass's encoded outputs, magnitudes, per-token extras and tallies (all
  // twice with a device), and the collective read's buffer on the host
  // (MPI-IO aggregates a block's values).
  plan.bytes_per_step = copies * (coordinates * (in.value_bytes * value_buffers + in.output_bytes_per_coordinate) +
                                  tokens * (8 + in.row_extra_bytes) + items * in.item_tally_bytes) +
                        coordinates * in.value_bytes;
  // The counting tables and per-step sums are bounded; the general values
  // (8 bytes each) are at most one per row.
  plan.magnitude_bytes = in.keeps_magnitudes ? static_cast<uint64_t>(in.steps - 1) * tokens * 8 : 0;
  plan.fixed_bytes = in.baseline_bytes + kLibraryMarginBytes + tokens * (1 + in.token_extra_bytes) +
                     (in.keeps_magnitudes ? magnitude_table_bytes(in.steps - 1) : 0);
}

// The steps that fit the budget beside `reserved` bytes (at most all of them).
int64_t steps_fitting(const StepBlockInputs& in, const StepBlockPlan& plan, uint64_t reserved) {
  if (in.budget <= reserved) return 0;
  return static_cast<int64_t>(
      std::min<uint64_t>((in.budget - reserved) / plan.bytes_per_step, static_cast<uint64_t>(in.steps)));
}

// Blocks beyond a few tens of MiB gain nothing and touch fresh pages on
// every read; a reused buffer stays resident.
int64_t cache_friendly_steps(const StepBlockInputs& in) {
  const uint64_t coordinates = static_cast<uint64_t>(in.slab_tokens) * static_cast<uint64_t>(in.dims);
  return std::max<int64_t>(
      2, static_cast<int64_t>(kPreferredBlockBytes /
                              std::max<uint64_t>(1, coordinates * (in.value_bytes + in.output_bytes_per_coordinate))));
}

[[noreturn]] void budget_too_small(const StepBlockInputs& in, const StepBlockPlan& plan) {
  fail(kExitUsage, "--memory-budget " + format_bytes(in.budget) + " is too small: two steps of this rank's slab (" +
                       std::to_string(in.slab_tokens) + " tokens x " + std::to_string(in.dims) +
                       " dims) need at least " + format_bytes(plan.fixed_bytes + 2 * plan.bytes_per_step) +
                       " (of which " + format_bytes(plan.fixed_bytes) +
                       " is the process itself, library buffers and the magnitude tables); raise the budget or use "
                       "more ranks");
}

}  // namespace

StepBlockPlan plan_step_blocks(const StepBlockInputs& in) {
  StepBlockPlan plan;
  size_the_plan(in, plan);
  const int64_t cache_friendly = cache_friendly_steps(in);
  // Keep the magnitudes in memory unless that starves the step blocks.
  if (in.keeps_magnitudes) {
    const int64_t with_magnitudes = steps_fitting(in, plan, plan.fixed_bytes + plan.magnitude_bytes);
    if (with_magnitudes >= std::min<int64_t>(in.steps, 16)) {
      plan.steps_per_block = std::min(with_magnitudes, cache_friendly);
      plan.general_bytes = plan.magnitude_bytes;
      return plan;
    }
  }
  plan.magnitudes_in_memory = false;
  plan.steps_per_block = steps_fitting(in, plan, plan.fixed_bytes);
  if (plan.steps_per_block < 2) budget_too_small(in, plan);
  plan.steps_per_block = std::min(plan.steps_per_block, cache_friendly);
  // What the blocks leave holds general magnitudes before they spill.
  plan.general_bytes = in.budget - plan.fixed_bytes - plan.bytes_per_step * static_cast<uint64_t>(plan.steps_per_block);
  return plan;
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
