#include "analysis/analysis_plan.hpp"

#include <algorithm>
#include <utility>

#include "analysis/motion.hpp"
#include "config/run_specs.hpp"
#include "kokkos_kernels/encode_block.hpp"
#include "io/step_selection_reader.hpp"
#include "io/trajectory_input.hpp"
#include "parallel/errors.hpp"
#include "parallel/memory.hpp"

namespace latdisp {

namespace {

// Reads may run on a thread of their own (StepStream) when MPI allows
// several threads to call it.
bool background_reads_allowed() {
  int provided = MPI_THREAD_SINGLE;
  MPI_Query_thread(&provided);
  return provided == MPI_THREAD_MULTIPLE;
}

StepBlockInputs pass_inputs(const TrajectoryShape& shape, const AnalysisPlan& plan, uint64_t baseline_bytes) {
  StepBlockInputs in;
  in.steps = shape.steps;
  in.slab_tokens = plan.slab.count;
  in.dims = shape.dims;
  in.separate_device_memory = kSeparateDeviceMemory;
  in.budget = plan.memory_budget;
  in.baseline_bytes = baseline_bytes;
  return in;
}

StepBlockPlan analysis_blocks(StepBlockInputs in, const AnalysisPlan& plan, MPI_Comm comm) {
  in.tokens_per_item = plan.kernel.tokens_per_item;
  in.item_tally_bytes = sizeof(ItemTally);
  in.double_buffered = plan.background_reads;
  in.source = plan.block_source;
  if (!plan.config.outputs.per_token.empty()) {
    in.row_extra_bytes = TokenMotionTracker::kRowBytes;
    in.token_extra_bytes = TokenMotionTracker::kTokenBytes;
  }
  StepBlockPlan blocks = plan_step_blocks(in, plan.config.memory.max_steps_per_block, comm);
  if (plan.config.spill_magnitudes) {
    blocks.magnitudes_in_memory = false;
    blocks.general_bytes = 0;
  }
  // The worst case: every row magnitude a general value, beyond what memory holds.
  check_scratch_space(
      plan.config.memory.scratch_dir,
      blocks.magnitudes_in_memory ? 0 : blocks.magnitude_bytes - std::min(blocks.general_bytes, blocks.magnitude_bytes),
      comm);
  return blocks;
}

OutputPlan output_plan(StepBlockInputs in, const AnalyzeConfig& config, MPI_Comm comm) {
  OutputPlan output;
  output.path = config.save.path;
  output.format = config.save.format;
  output.selection = config.save.selection;
  output.dtype = config.save.dtype;
  // U is saved in W's element format: as many bytes as a value of W.
  in.output_bytes_per_coordinate =
      encoded_bytes_per_coordinate(integer_bytes(bf16::kInt64), static_cast<int>(in.value_bytes));
  in.keeps_magnitudes = false;
  in.source = BlockSource::read;  // one buffer, read in the foreground
  in.double_buffered = false;
  output.blocks = plan_step_blocks(in, config.memory.max_steps_per_block, comm);
  return output;
}

}  // namespace

AnalysisInput open_analysis_input(const AnalyzeConfig& config, MPI_Comm comm) {
  AnalysisInput input;
  input.reader_comm = std::make_unique<DuplicatedComm>(comm);
  const InputSpec& in = config.input;
  TrajectoryInput opened =
      open_trajectory_input(input.reader_comm->get(), trajectory_input_of(in), {{in.dataset, "W", "--dataset"}});
  input.reader = std::move(opened.readers.front());
  input.dead_mask = std::move(opened.dead_mask);
  input.dead_mask_found = opened.dead_mask_found;
  if (in.steps)
    input.reader = select_snapshots(std::move(input.reader), {in.steps->first, in.steps->last, in.steps->stride},
                                    "--steps " + in.steps_text);
  // The seed arithmetic is the bf16 notebook's (docs/definitions.md §13).
  if (config.kernel.arithmetic == Arithmetic::seed && input.reader->element_type() != formats::ElementType::bf16)
    fail(kExitUsage, "--arithmetic seed is the bf16 notebook's arithmetic; '" + in.path + "' holds " +
                         formats::element_type_name(input.reader->element_type()) +
                         " values: use --arithmetic exact (the default)");
  return input;
}

AnalysisPlan plan_analysis(const AnalyzeConfig& config, const TrajectoryShape& shape, uint64_t baseline_bytes,
                           MPI_Comm comm, int value_bytes, BlockSource source) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  require_a_token_per_rank(shape.tokens, ranks, config.input.path);
  AnalysisPlan plan;
  plan.config = config;
  plan.kernel = config.kernel;
  const HopRadius radius = derive_hop_radius(config.hop_radius, shape.dims, plan.kernel.arithmetic);
  plan.hop_radius = radius.reported;
  plan.kernel.hop_radius = radius.compared;
  plan.background_reads = background_reads_allowed();
  plan.block_source = source;
  plan.memory_budget = memory_budget_of(config.memory, comm);
  plan.slab = token_range(shape.tokens, rank, ranks);
  plan.max_slab = token_range(shape.tokens, 0, ranks).count;
  StepBlockInputs pass = pass_inputs(shape, plan, baseline_bytes);
  pass.value_bytes = static_cast<uint64_t>(value_bytes);
  plan.blocks = analysis_blocks(pass, plan, comm);
  if (!config.save.path.empty()) plan.output = output_plan(pass, config, comm);
  return plan;
}

BlockSource block_source_of(ReadMethod method, const TrajectoryReader& reader) {
  if (method == ReadMethod::read) return BlockSource::read;
  if (!kSeparateDeviceMemory && reader.contiguous_offset())
    return method == ReadMethod::map ? BlockSource::mapped : BlockSource::direct;
  if (method == ReadMethod::map)
    fail(kExitUsage, "--read-method map: " +
                         (kSeparateDeviceMemory ? std::string("the kernel runs in device memory")
                                                : "W in '" + reader.path() +
                                                      "' is not one contiguous run of values (chunked storage "
                                                      "or a series)") +
                         "; use --read-method auto or read");
  return BlockSource::read;
}

PreparedAnalysis prepare_analysis(const AnalyzeConfig& config, MPI_Comm comm) {
  const uint64_t baseline = current_rss_bytes();
  AnalysisInput input = open_analysis_input(config, comm);
  const TrajectoryReader& reader = *input.reader;
  AnalysisPlan plan = plan_analysis(config, reader.shape(), baseline, comm, reader.element_bytes(),
                                    block_source_of(config.read_method, reader));
  return PreparedAnalysis{std::move(input), std::move(plan)};
}

}  // namespace latdisp
