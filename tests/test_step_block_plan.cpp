#include <gtest/gtest.h>

#include "parallel/errors.hpp"
#include "analysis/magnitude_store.hpp"
#include "analysis/step_block_plan.hpp"
#include "io/block_plan.hpp"

namespace latdisp {

namespace {
StepBlockInputs notebook_shape(uint64_t budget) {
  StepBlockInputs in;
  in.steps = 6001;
  in.slab_tokens = 5000;
  in.dims = 64;
  in.tokens_per_item = 256;
  in.item_tally_bytes = 304;
  in.budget = budget;
  in.baseline_bytes = 40u << 20;
  return in;
}
}  // namespace

TEST(StepBlockPlan, StaysUnderTheBudget) {
  for (uint64_t budget : {uint64_t(300) << 20, uint64_t(1) << 30, uint64_t(2) << 30, uint64_t(8) << 30}) {
    const StepBlockInputs in = notebook_shape(budget);
    const StepBlockPlan plan = plan_step_blocks(in);
    ASSERT_GE(plan.steps_per_block, 2);
    const uint64_t used = plan.fixed_bytes + plan.bytes_per_step * static_cast<uint64_t>(plan.steps_per_block) +
                          (plan.magnitudes_in_memory ? plan.magnitude_bytes : 0);
    EXPECT_LE(used, budget) << budget;
  }
}

TEST(StepBlockPlan, CountsBothBlocksWhenReadsRunBehindCompute) {
  // 5000 tokens x 64 dims: 640000 bytes of values per step, held twice.
  for (uint64_t budget : {uint64_t(300) << 20, uint64_t(2) << 30}) {
    StepBlockInputs in = notebook_shape(budget);
    const StepBlockPlan single = plan_step_blocks(in);
    in.double_buffered = true;
    const StepBlockPlan plan = plan_step_blocks(in);
    EXPECT_EQ(plan.bytes_per_step, single.bytes_per_step + 5000u * 64u * 2u) << budget;
    ASSERT_GE(plan.steps_per_block, 2);
    EXPECT_LE(plan.steps_per_block, single.steps_per_block);
    EXPECT_LE(plan.fixed_bytes + plan.bytes_per_step * static_cast<uint64_t>(plan.steps_per_block) + plan.general_bytes,
              budget)
        << budget;
  }
}

TEST(StepBlockPlan, SpillsMagnitudesBeforeStarvingBlocks) {
  // 6000 x 5000 magnitudes are 240 MB: with 280 MiB (40 MiB of them the
  // process) they leave room for two steps only.
  const StepBlockPlan small = plan_step_blocks(notebook_shape(uint64_t(280) << 20));
  EXPECT_FALSE(small.magnitudes_in_memory);
  const StepBlockPlan large = plan_step_blocks(notebook_shape(uint64_t(2) << 30));
  EXPECT_TRUE(large.magnitudes_in_memory);
}

TEST(StepBlockPlan, CountsTheMagnitudeTablesAndBoundsTheGeneralValues) {
  for (uint64_t budget : {uint64_t(300) << 20, uint64_t(2) << 30}) {
    const StepBlockInputs in = notebook_shape(budget);
    const StepBlockPlan plan = plan_step_blocks(in);
    EXPECT_GE(plan.fixed_bytes, in.baseline_bytes + kLibraryMarginBytes + magnitude_table_bytes(in.steps - 1));
    // Blocks, tables and the general values held in memory fit together.
    EXPECT_LE(plan.fixed_bytes + plan.bytes_per_step * static_cast<uint64_t>(plan.steps_per_block) + plan.general_bytes,
              budget);
    if (plan.magnitudes_in_memory) {
      EXPECT_EQ(plan.general_bytes, plan.magnitude_bytes);
    } else {
      EXPECT_GT(plan.general_bytes, 0u);
    }
  }
}

TEST(StepBlockPlan, NeverMoreStepsThanTheData) {
  StepBlockInputs in = notebook_shape(uint64_t(8) << 30);
  in.steps = 5;
  EXPECT_EQ(plan_step_blocks(in).steps_per_block, 5);
}

// What a step holds by block source, worked out from the notebook's slab
// (5000 tokens x 64 dims, 640000 bytes of values a step; 20 items of 304
// bytes; 8 bytes of magnitude a token): read blocks hold the stream's buffer
// and the collective read's, mapped ones their pages, direct ones none but
// a staging buffer of three steps (2 MiB / 640000 bytes).
TEST(StepBlockPlan, EachBlockSourceCountsWhatItHolds) {
  const uint64_t values = 5000u * 64u * 2u, rest = 5000u * 8u + 20u * 304u;
  StepBlockInputs in = notebook_shape(uint64_t(300) << 20);
  const StepBlockPlan read = plan_step_blocks(in);
  in.source = BlockSource::mapped;
  const StepBlockPlan mapped = plan_step_blocks(in);
  in.double_buffered = true;
  const StepBlockPlan mapped_behind = plan_step_blocks(in);
  in.source = BlockSource::direct;
  const StepBlockPlan direct = plan_step_blocks(in);
  EXPECT_EQ(read.bytes_per_step, 2 * values + rest);
  EXPECT_EQ(mapped.bytes_per_step, values + rest);
  EXPECT_EQ(mapped_behind.bytes_per_step, 2 * values + rest);
  EXPECT_EQ(direct.bytes_per_step, rest);
  EXPECT_EQ(mapped.fixed_bytes, read.fixed_bytes);
  EXPECT_EQ(direct.fixed_bytes, read.fixed_bytes + 3 * values);
}

// Under a budget that bounds the blocks, a source that holds less per step
// gets larger blocks, each plan within the budget.
TEST(StepBlockPlan, DirectAndMappedBlocksGrowUnderATightBudget) {
  const uint64_t budget = uint64_t(100) << 20;
  StepBlockInputs in = notebook_shape(budget);
  const StepBlockPlan read = plan_step_blocks(in);
  in.source = BlockSource::mapped;
  const StepBlockPlan mapped = plan_step_blocks(in);
  in.source = BlockSource::direct;
  const StepBlockPlan direct = plan_step_blocks(in);
  EXPECT_GT(mapped.steps_per_block, read.steps_per_block);
  EXPECT_GT(direct.steps_per_block, mapped.steps_per_block);
  for (const StepBlockPlan* plan : {&read, &mapped, &direct})
    EXPECT_LE(plan->fixed_bytes + plan->bytes_per_step * static_cast<uint64_t>(plan->steps_per_block) +
                  (plan->magnitudes_in_memory ? plan->magnitude_bytes : 0),
              budget);
}

TEST(StepBlockPlan, TooSmallABudgetIsAUsageError) {
  try {
    plan_step_blocks(notebook_shape(uint64_t(50) << 20));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitUsage);
    EXPECT_NE(std::string(e.what()).find("too small"), std::string::npos);
  }
}

}  // namespace latdisp

// The one block planner (io/block_plan.hpp) that every streaming command
// sizes its blocks with; the expected sizes are worked out by hand here.
namespace latdisp {

namespace {
constexpr uint64_t kMiB = uint64_t(1) << 20;

BlockCost plain_cost() {
  BlockCost cost;
  cost.steps = 1000;
  cost.bytes_per_step = 1 * kMiB;
  cost.fixed_bytes = 2 * kMiB;
  cost.baseline_bytes = 30 * kMiB;
  return cost;
}

std::string too_small_message(const BlockCost& cost, uint64_t budget) {
  try {
    plan_blocks(cost, budget);
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitUsage);
    return e.what();
  }
  ADD_FAILURE() << "expected an error";
  return "";
}
}  // namespace

TEST(BlockPlan, OneMarginBesideTheBaselineAndTheFixedBytes) {
  const BlockPlan plan = plan_blocks(plain_cost(), 100 * kMiB);
  EXPECT_EQ(kLibraryMarginBytes, 8 * kMiB);
  EXPECT_EQ(plan.reserved_bytes, (30 + 8 + 2) * kMiB);
  // 60 MiB left: 60 steps of 1 MiB, and what they leave.
  EXPECT_EQ(plan.steps_per_block, 60);
  EXPECT_EQ(plan.spare_bytes, 0u);
  EXPECT_EQ(plan_blocks(plain_cost(), 100 * kMiB + kMiB - 1).spare_bytes, kMiB - 1);
  EXPECT_FALSE(plan.optional_held);
}

TEST(BlockPlan, AboutThePreferredBytesOfValuesButNeverFewerThanTheMinimum) {
  BlockCost cost = plain_cost();
  cost.preferred_step_bytes = 3 * kMiB;  // 64 MiB / 3 MiB: 21 steps
  EXPECT_EQ(kPreferredBlockBytes, 64 * kMiB);
  EXPECT_EQ(plan_blocks(cost, uint64_t(8) << 30).steps_per_block, 21);
  cost.preferred_step_bytes = 100 * kMiB;
  cost.min_steps = 2;
  EXPECT_EQ(plan_blocks(cost, uint64_t(8) << 30).steps_per_block, 2);
}

TEST(BlockPlan, EveryStepOfABlockInOneTransfer) {
  BlockCost cost = plain_cost();
  cost.transfer_step_bytes = 300 * kMiB;  // 1 GiB / 300 MiB: 3 steps
  EXPECT_EQ(plan_blocks(cost, uint64_t(8) << 30).steps_per_block, 3);
}

TEST(BlockPlan, NeverMoreStepsThanThePassHas) {
  BlockCost cost = plain_cost();
  cost.steps = 7;
  EXPECT_EQ(plan_blocks(cost, uint64_t(8) << 30).steps_per_block, 7);
}

TEST(BlockPlan, HoldsTheOptionalBytesOnlyIfTheBlocksStayLarge) {
  BlockCost cost = plain_cost();
  cost.optional_bytes = 50 * kMiB;
  // 100 MiB: 40 reserved + 50 optional leave 10 steps, under 16: go without.
  const BlockPlan starved = plan_blocks(cost, 100 * kMiB);
  EXPECT_FALSE(starved.optional_held);
  EXPECT_EQ(starved.steps_per_block, 60);
  // 106 MiB: 16 steps beside them.
  const BlockPlan held = plan_blocks(cost, 106 * kMiB);
  EXPECT_TRUE(held.optional_held);
  EXPECT_EQ(held.steps_per_block, 16);
  EXPECT_EQ(held.spare_bytes, cost.optional_bytes);
  // A pass of 5 steps needs only 5 of them.
  cost.steps = 5;
  EXPECT_TRUE(plan_blocks(cost, 95 * kMiB).optional_held);
}

TEST(BlockPlan, TooSmallABudgetNamesWhatTheMinimumNeeds) {
  BlockCost cost = plain_cost();
  cost.slab_text = "this rank's slab (3 tokens x 4 dims)";
  cost.fixed_text = " and the group timeline";
  const std::string one = too_small_message(cost, 40 * kMiB + kMiB - 1);
  EXPECT_NE(one.find("--memory-budget 41.00 MiB is too small: one step of this rank's slab (3 tokens x 4 dims) needs "
                     "at least 41.00 MiB (of which 40.00 MiB is the process itself, library buffers and the group "
                     "timeline)"),
            std::string::npos)
      << one;
  EXPECT_EQ(plan_blocks(cost, 41 * kMiB).steps_per_block, 1);
  cost.min_steps = 2;
  EXPECT_NE(too_small_message(cost, 41 * kMiB).find("two steps of this rank's slab"), std::string::npos);
}

TEST(BlockPlan, TheAnalysisPassIsSizedByIt) {
  const StepBlockInputs in = notebook_shape(uint64_t(300) << 20);
  const StepBlockPlan plan = plan_step_blocks(in);
  // Values, row magnitudes, tallies and the collective read's buffer.
  const uint64_t per_step = 5000u * 64u * 2u + 5000u * 8u + 20u * 304u + 5000u * 64u * 2u;
  EXPECT_EQ(plan.bytes_per_step, per_step);
  EXPECT_EQ(plan.fixed_bytes, in.baseline_bytes + kLibraryMarginBytes + 5000u + magnitude_table_bytes(6000));
  EXPECT_EQ(plan.magnitude_bytes, uint64_t(6000) * 5000u * 8u);
}

}  // namespace latdisp
