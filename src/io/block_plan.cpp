#include "io/block_plan.hpp"

#include <algorithm>

#include "io/transfer_limits.hpp"
#include "parallel/errors.hpp"
#include "parallel/memory.hpp"

namespace latdisp {

namespace {

// The steps that fit the budget beside `reserved` bytes (at most all of them).
int64_t steps_fitting(const BlockCost& cost, uint64_t budget, uint64_t reserved) {
  if (budget <= reserved) return 0;
  return static_cast<int64_t>(std::min<uint64_t>((budget - reserved) / std::max<uint64_t>(1, cost.bytes_per_step),
                                                 static_cast<uint64_t>(cost.steps)));
}

// The caps that do not depend on the budget: about kPreferredBlockBytes of
// values (never below min_steps), and every step of a block in one call.
int64_t capped(const BlockCost& cost, int64_t steps) {
  if (cost.preferred_step_bytes > 0)
    steps = std::min(steps, std::max<int64_t>(cost.min_steps,
                                              static_cast<int64_t>(kPreferredBlockBytes / cost.preferred_step_bytes)));
  if (cost.transfer_step_bytes > 0)
    steps = std::min(steps, kMaxTransferBytes / static_cast<int64_t>(cost.transfer_step_bytes));
  return steps;
}

[[noreturn]] void budget_too_small(const BlockCost& cost, uint64_t budget, uint64_t reserved) {
  const bool one = cost.min_steps == 1;
  const std::string steps = one                   ? "one step"
                            : cost.min_steps == 2 ? "two steps"
                                                  : std::to_string(cost.min_steps) + " steps";
  fail(kExitUsage, "--memory-budget " + format_bytes(budget) + " is too small: " + steps + " of " + cost.slab_text +
                       (one ? " needs" : " need") + " at least " +
                       format_bytes(reserved + static_cast<uint64_t>(cost.min_steps) * cost.bytes_per_step) +
                       " (of which " + format_bytes(reserved) + " is the process itself" +
                       (cost.fixed_text.empty() ? " and library buffers" : ", library buffers" + cost.fixed_text) +
                       "); raise the budget or use more ranks");
}

}  // namespace

BlockPlan plan_blocks(const BlockCost& cost, uint64_t budget) {
  BlockPlan plan;
  plan.reserved_bytes = cost.baseline_bytes + kLibraryMarginBytes + cost.fixed_bytes;
  // Hold the optional bytes unless that starves the blocks.
  if (cost.optional_bytes > 0) {
    const int64_t with_optional = steps_fitting(cost, budget, plan.reserved_bytes + cost.optional_bytes);
    if (with_optional >= std::max(cost.min_steps, std::min(cost.steps, cost.optional_min_steps))) {
      plan.optional_held = true;
      plan.steps_per_block = capped(cost, with_optional);
      plan.spare_bytes = cost.optional_bytes;
      return plan;
    }
  }
  plan.steps_per_block = capped(cost, steps_fitting(cost, budget, plan.reserved_bytes));
  if (plan.steps_per_block < cost.min_steps) budget_too_small(cost, budget, plan.reserved_bytes);
  plan.spare_bytes = budget - plan.reserved_bytes - cost.bytes_per_step * static_cast<uint64_t>(plan.steps_per_block);
  return plan;
}

BlockPlan plan_blocks(const BlockCost& cost, uint64_t budget, MPI_Comm comm, int64_t max_steps) {
  BlockPlan plan;
  collectively(comm, [&] { plan = plan_blocks(cost, budget); });
  if (max_steps > 0) plan.steps_per_block = std::min(plan.steps_per_block, max_steps);
  MPI_Allreduce(MPI_IN_PLACE, &plan.steps_per_block, 1, MPI_INT64_T, MPI_MIN, comm);
  int held = plan.optional_held ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &held, 1, MPI_INT, MPI_MIN, comm);
  plan.optional_held = held == 1;
  return plan;
}

}  // namespace latdisp
