#include <gtest/gtest.h>

#include "parallel/errors.hpp"
#include "analysis/magnitude_store.hpp"
#include "analysis/step_block_plan.hpp"

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
