// The one block planner's agreement across ranks (io/block_plan.hpp): every
// rank gets the same block, the smallest any rank can afford, so every rank
// makes the same number of collective reads and writes. Each rank is given
// its own budget here; the expected sizes are worked out from them.
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <string>

#include "bits/blackholes_over_time.hpp"
#include "io/block_plan.hpp"
#include "parallel/errors.hpp"
#include "test_support.hpp"

namespace latdisp {

namespace {

using testing::world_rank;
using testing::world_size;

constexpr uint64_t kMiB = uint64_t(1) << 20;

BlockCost cost_of_one_mib_steps() {
  BlockCost cost;
  cost.steps = 1000;
  cost.bytes_per_step = kMiB;
  return cost;
}

// Rank r has 8 + 10 + 5 r MiB: 10 + 5 r steps beside the margin.
uint64_t budget_of_this_rank() { return kLibraryMarginBytes + (10 + 5 * uint64_t(world_rank())) * kMiB; }

}  // namespace

TEST(BlockPlanAgreement, EveryRankTakesTheSmallestBlock) {
  const BlockPlan plan = plan_blocks(cost_of_one_mib_steps(), budget_of_this_rank(), MPI_COMM_WORLD);
  EXPECT_EQ(plan.steps_per_block, 10);
  // The spare bytes are each rank's own, beside the block it could afford
  // (10 + 5 r steps): none.
  EXPECT_EQ(plan.spare_bytes, 0u);
}

TEST(BlockPlanAgreement, TheCommandLineCapsTheBlock) {
  EXPECT_EQ(plan_blocks(cost_of_one_mib_steps(), budget_of_this_rank(), MPI_COMM_WORLD, 3).steps_per_block, 3);
  EXPECT_EQ(plan_blocks(cost_of_one_mib_steps(), budget_of_this_rank(), MPI_COMM_WORLD, 50).steps_per_block, 10);
}

TEST(BlockPlanAgreement, TheOptionalBytesAreHeldOnlyIfEveryRankHoldsThem) {
  BlockCost cost = cost_of_one_mib_steps();
  cost.steps = 4;
  cost.optional_bytes = 12 * kMiB;  // rank r has 10 + 5 r MiB beside the margin
  const BlockPlan plan = plan_blocks(cost, budget_of_this_rank(), MPI_COMM_WORLD);
  EXPECT_FALSE(plan.optional_held);  // rank 0 cannot hold them beside 4 steps
  cost.optional_bytes = 6 * kMiB;    // every rank keeps 4 steps beside them
  EXPECT_TRUE(plan_blocks(cost, budget_of_this_rank(), MPI_COMM_WORLD).optional_held);
  if (world_size() > 1) {
    cost.optional_bytes = 9 * kMiB;  // rank 0 cannot (1 MiB beside them), the others can: nobody does
    const BlockPlan mixed = plan_blocks(cost, budget_of_this_rank(), MPI_COMM_WORLD);
    EXPECT_FALSE(mixed.optional_held);
    // A rank that could hold them keeps their room as its own spare bytes.
    if (world_rank() > 0) {
      EXPECT_EQ(mixed.spare_bytes, cost.optional_bytes);
    }
  }
}

TEST(BlockPlanAgreement, OneRankWithTooSmallABudgetStopsEveryRank) {
  // The last rank's budget holds the margin alone.
  const uint64_t budget = world_rank() == world_size() - 1 ? kLibraryMarginBytes : budget_of_this_rank();
  try {
    plan_blocks(cost_of_one_mib_steps(), budget, MPI_COMM_WORLD);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitUsage);
  }
}

TEST(BlockPlanAgreement, BlackholesOverStepsAreSizedByIt) {
  BlackholeBlockInputs in;
  in.slab_tokens = 100;
  in.tokens = 300;
  in.dims = 32;  // 16-bit words per row
  in.selected = 9;
  const BlockCost cost = blackhole_block_cost(in);
  EXPECT_EQ(cost.min_steps, 1);
  EXPECT_EQ(cost.steps, 9);
  EXPECT_EQ(cost.bytes_per_step, blackhole_bytes_per_step(in));
  EXPECT_EQ(cost.preferred_step_bytes, 100u * 64u);
  const uint64_t budget = kLibraryMarginBytes + cost.fixed_bytes + 4 * cost.bytes_per_step;
  EXPECT_EQ(plan_blocks(cost, budget, MPI_COMM_WORLD).steps_per_block, 4);
}

}  // namespace latdisp
