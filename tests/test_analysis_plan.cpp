// The plan of `analyze` (analysis/analysis_plan.hpp): resolved once from the
// options and the input's shape, for the analysis and for the save pass.
// Expected slabs come from rank and size, written here.
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <string>

#include <nlohmann/json.hpp>

#include <vector>

#include "analysis/analysis_plan.hpp"
#include "config/options.hpp"
#include "parallel/errors.hpp"
#include "test_support.hpp"

namespace latdisp {

namespace {

using testing::world_rank;
using testing::world_size;

// The configuration `latdisp analyze --input W.h5 --memory-budget BUDGET
// [--output OUTPUT] EXTRA...` gives.
AnalyzeConfig options_with(const std::string& budget, const std::string& output,
                           std::vector<const char*> extra = {}) {
  std::vector<const char*> arguments = {"latdisp", "analyze", "--input", "W.h5", "--memory-budget", budget.c_str()};
  if (!output.empty()) arguments.insert(arguments.end(), {"--output", output.c_str()});
  arguments.insert(arguments.end(), extra.begin(), extra.end());
  return parse_command_line(static_cast<int>(arguments.size()), arguments.data()).analyze;
}

// Resident memory the plan may count on besides the process: none, so the
// expected sizes do not depend on this process.
constexpr uint64_t kNoBaseline = 0;

uint64_t held_at_peak(const StepBlockPlan& blocks) {
  return blocks.fixed_bytes + blocks.bytes_per_step * static_cast<uint64_t>(blocks.steps_per_block) +
         (blocks.magnitudes_in_memory ? blocks.magnitude_bytes : 0);
}

int exit_code_of_planning(const AnalyzeConfig& options, const TrajectoryShape& shape) {
  try {
    plan_analysis(options, shape, kNoBaseline, MPI_COMM_WORLD);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("too small"), std::string::npos) << e.what();
    return e.exit_code();
  }
  return kExitOk;
}

}  // namespace

TEST(AnalysisPlan, SlabsSplitTheTokensEvenlyWithTheRemainderFirst) {
  const TrajectoryShape shape{5, 1001, 8};
  const AnalysisPlan plan = plan_analysis(options_with("1GiB", ""), shape, kNoBaseline, MPI_COMM_WORLD);
  const int64_t rank = world_rank(), size = world_size();
  const int64_t base = 1001 / size, extra = 1001 % size;
  EXPECT_EQ(plan.slab.begin, rank * base + std::min(rank, extra));
  EXPECT_EQ(plan.slab.count, base + (rank < extra ? 1 : 0));
  EXPECT_EQ(plan.max_slab, base + (extra > 0 ? 1 : 0));
}

TEST(AnalysisPlan, TheBudgetIsResolvedOnceAndHoldsForBothPasses) {
  const TrajectoryShape shape{401, 3000, 64};
  const AnalysisPlan plan =
      plan_analysis(options_with("300MiB", "out.safetensors"), shape, kNoBaseline, MPI_COMM_WORLD);
  EXPECT_EQ(plan.memory_budget, uint64_t(300) << 20);
  ASSERT_TRUE(plan.output.has_value());
  for (const StepBlockPlan* blocks : {&plan.blocks, &plan.output->blocks}) {
    EXPECT_GE(blocks->steps_per_block, 2);
    EXPECT_LE(held_at_peak(*blocks), plan.memory_budget);
    int64_t fewest = blocks->steps_per_block, most = blocks->steps_per_block;
    MPI_Allreduce(MPI_IN_PLACE, &fewest, 1, MPI_INT64_T, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &most, 1, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD);
    EXPECT_EQ(fewest, most) << "every rank takes the same number of reads";
  }
  // Per coordinate both hold the value and the collective read's copy of it
  // (2 + 2 bytes); the save pass also its encoded outputs, 8 + 1 + 2 bytes.
  const uint64_t coordinates = static_cast<uint64_t>(plan.slab.count * shape.dims);
  EXPECT_EQ(plan.output->blocks.bytes_per_step, coordinates * 15 + static_cast<uint64_t>(plan.slab.count) * 8);
}

TEST(AnalysisPlan, TheOutputComesFromTheOptions) {
  const TrajectoryShape shape{5, 100, 8};
  AnalyzeConfig options =
      options_with("1GiB", "some/dir/x.safetensors", {"--outputs", "U,exceptions", "--save-dtype", "int16"});
  AnalysisPlan plan = plan_analysis(options, shape, kNoBaseline, MPI_COMM_WORLD);
  ASSERT_TRUE(plan.output.has_value());
  EXPECT_EQ(plan.output->path, "some/dir/x.safetensors");
  EXPECT_EQ(plan.output->format, OutputFormat::safetensors);
  EXPECT_TRUE(plan.output->selection.ulp && plan.output->selection.exceptions);
  EXPECT_FALSE(plan.output->selection.delta || plan.output->selection.crossings || plan.output->selection.scalars);
  EXPECT_FALSE(plan.output->dtype.automatic);
  EXPECT_EQ(plan.output->dtype.width, bf16::kInt16);

  plan = plan_analysis(options_with("1GiB", "x.hdf5"), shape, kNoBaseline, MPI_COMM_WORLD);
  ASSERT_TRUE(plan.output.has_value());
  EXPECT_EQ(plan.output->format, OutputFormat::hdf5);
  EXPECT_TRUE(plan.output->dtype.automatic);
  EXPECT_FALSE(plan_analysis(options_with("1GiB", ""), shape, kNoBaseline, MPI_COMM_WORLD).output.has_value());
}

TEST(AnalysisPlan, KernelSettingsComeFromTheOptions) {
  AnalyzeConfig options = options_with("1GiB", "", {"--arithmetic", "seed", "--zero-ulp", "min-subnormal", "--epsilon",
                                                     "1e-3", "--tokens-per-item", "32"});
  const AnalysisPlan plan = plan_analysis(options, TrajectoryShape{5, 100, 8}, kNoBaseline, MPI_COMM_WORLD);
  EXPECT_EQ(plan.kernel.arithmetic, Arithmetic::seed);
  EXPECT_EQ(plan.kernel.zero_ulp, bf16::ZeroUlp::min_subnormal);
  EXPECT_EQ(plan.kernel.epsilon, 1e-3);
  EXPECT_EQ(plan.kernel.tokens_per_item, 32);
  EXPECT_EQ(nlohmann::json::parse(plan.config.echo.report)["arithmetic"], "seed");  // echoed as given
}

TEST(AnalysisPlan, MaxStepsPerBlockCapsBothPasses) {
  AnalyzeConfig options = options_with("1GiB", "x.h5", {"--max-steps-per-block", "3"});
  const AnalysisPlan plan = plan_analysis(options, TrajectoryShape{50, 100, 8}, kNoBaseline, MPI_COMM_WORLD);
  EXPECT_EQ(plan.blocks.steps_per_block, 3);
  ASSERT_TRUE(plan.output.has_value());
  EXPECT_EQ(plan.output->blocks.steps_per_block, 3);
}

TEST(AnalysisPlan, ABudgetTooSmallToSaveFailsBeforeAnyStepIsRead) {
  // 100 tokens x 163840 dims per rank: a step is 4 bytes a coordinate to
  // analyze, 15 to save. A budget with room for three steps of the analysis
  // (by its own plan) has none for two of the save pass.
  const TrajectoryShape shape{3, 100 * world_size(), 163840};
  const StepBlockPlan roomy = plan_analysis(options_with("1GiB", ""), shape, kNoBaseline, MPI_COMM_WORLD).blocks;
  const std::string budget = std::to_string(roomy.fixed_bytes + 3 * roomy.bytes_per_step + roomy.magnitude_bytes);
  EXPECT_EQ(exit_code_of_planning(options_with(budget, ""), shape), kExitOk);
  EXPECT_EQ(exit_code_of_planning(options_with(budget, "x.h5"), shape), kExitUsage);
}

// The block source is decided before the plan: the analysis' blocks are
// sized for what that source holds (a direct step holds no values), the save
// pass's always for reading into its buffer.
TEST(AnalysisPlan, TheBlockSourceSizesTheAnalysisBlocksOnly) {
  const TrajectoryShape shape{401, 3000, 64};
  const AnalyzeConfig options = options_with("300MiB", "out.h5");
  const AnalysisPlan read = plan_analysis(options, shape, kNoBaseline, MPI_COMM_WORLD, 2, BlockSource::read);
  const AnalysisPlan direct = plan_analysis(options, shape, kNoBaseline, MPI_COMM_WORLD, 2, BlockSource::direct);
  EXPECT_EQ(read.block_source, BlockSource::read);
  EXPECT_EQ(direct.block_source, BlockSource::direct);
  const uint64_t step_values = static_cast<uint64_t>(read.slab.count * shape.dims) * 2;
  EXPECT_GE(read.blocks.bytes_per_step, direct.blocks.bytes_per_step + 2 * step_values);
  EXPECT_LE(held_at_peak(direct.blocks), direct.memory_budget);
  ASSERT_TRUE(read.output.has_value() && direct.output.has_value());
  EXPECT_EQ(read.output->blocks.bytes_per_step, direct.output->blocks.bytes_per_step);
  EXPECT_EQ(read.output->blocks.steps_per_block, direct.output->blocks.steps_per_block);
}

TEST(AnalysisPlan, MoreRanksThanTokensIsAUsageError) {
  const TrajectoryShape shape{5, world_size() - 1, 8};
  try {
    plan_analysis(options_with("1GiB", ""), shape, kNoBaseline, MPI_COMM_WORLD);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitUsage);
    EXPECT_NE(std::string(e.what()).find("more ranks"), std::string::npos) << e.what();
  }
}

}  // namespace latdisp
