#include "analysis/analysis_plan.hpp"

#include <algorithm>
#include <utility>

#include "analysis/motion.hpp"
#include "config/kernel_settings.hpp"
#include "config/options.hpp"
#include "kokkos_kernels/encode_block.hpp"
#include "io/step_selection_reader.hpp"
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
  if (!plan.options.per_token.empty()) {
    in.row_extra_bytes = TokenMotionTracker::kRowBytes;
    in.token_extra_bytes = TokenMotionTracker::kTokenBytes;
  }
  StepBlockPlan blocks = plan_step_blocks(in, plan.options.max_steps_per_block, comm);
  if (plan.options.spill_magnitudes) {
    blocks.magnitudes_in_memory = false;
    blocks.general_bytes = 0;
  }
  // The worst case: every row magnitude a general value, beyond what memory holds.
  check_scratch_space(
      plan.options.scratch_dir,
      blocks.magnitudes_in_memory ? 0 : blocks.magnitude_bytes - std::min(blocks.general_bytes, blocks.magnitude_bytes),
      comm);
  return blocks;
}

OutputPlan output_plan(StepBlockInputs in, const AnalyzeOptions& options, MPI_Comm comm) {
  OutputPlan output;
  output.path = options.output;
  output.format = output_format_of("--output", options.output);
  output.selection = parse_output_selection(options.outputs);
  output.dtype = parse_save_dtype(options.save_dtype);
  // U is saved in W's element format: as many bytes as a value of W.
  in.output_bytes_per_coordinate =
      encoded_bytes_per_coordinate(integer_bytes(bf16::kInt64), static_cast<int>(in.value_bytes));
  in.keeps_magnitudes = false;
  output.blocks = plan_step_blocks(in, options.max_steps_per_block, comm);
  return output;
}

}  // namespace

AnalysisInput open_analysis_input(const AnalyzeOptions& options, MPI_Comm comm) {
  AnalysisInput input;
  input.reader_comm = std::make_unique<DuplicatedComm>(comm);
  ElementRequest request;
  request.any_format = true;
  formats::ElementType element_type;
  if (!options.element_type.empty() && formats::parse_element_type(options.element_type, element_type))
    request.element_type = element_type;
  input.reader = open_trajectory(input.reader_comm->get(), options.input, options.dataset, options.dead_mask,
                                 input.dead_mask, input.dead_mask_found, request, options.skip_incomplete);
  if (!options.steps.empty() && options.steps != "all") {
    const StepSelection selection = parse_step_selection(options.steps);
    input.reader = select_snapshots(std::move(input.reader), {selection.first, selection.last, selection.stride},
                                    "--steps " + options.steps);
  }
  // The seed arithmetic is the bf16 notebook's (docs/definitions.md §13).
  if (parse_arithmetic(options.arithmetic) == Arithmetic::seed &&
      input.reader->element_type() != formats::ElementType::bf16)
    fail(kExitUsage, "--arithmetic seed is the bf16 notebook's arithmetic; '" + options.input + "' holds " +
                         formats::element_type_name(input.reader->element_type()) +
                         " values: use --arithmetic exact (the default)");
  return input;
}

AnalysisPlan plan_analysis(const AnalyzeOptions& options, const TrajectoryShape& shape, uint64_t baseline_bytes,
                           MPI_Comm comm, int value_bytes) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  require_a_token_per_rank(shape.tokens, ranks, options.input);
  AnalysisPlan plan;
  plan.options = options;
  plan.kernel = kernel_settings_of(options);
  const HopRadius radius = derive_hop_radius(options.hop_radius, shape.dims, plan.kernel.arithmetic);
  plan.hop_radius = radius.reported;
  plan.kernel.hop_radius = radius.compared;
  plan.background_reads = background_reads_allowed();
  plan.memory_budget = resolve_memory_budget(options.memory_budget, comm);
  plan.slab = token_range(shape.tokens, rank, ranks);
  plan.max_slab = token_range(shape.tokens, 0, ranks).count;
  StepBlockInputs pass = pass_inputs(shape, plan, baseline_bytes);
  pass.value_bytes = static_cast<uint64_t>(value_bytes);
  plan.blocks = analysis_blocks(pass, plan, comm);
  if (!options.output.empty()) plan.output = output_plan(pass, options, comm);
  return plan;
}

namespace {

// Where W is one contiguous run of values in its file and the kernel reads
// host memory: read directly as the kernel takes the steps (--read-method
// auto), or mapped (map).
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

}  // namespace

PreparedAnalysis prepare_analysis(const AnalyzeOptions& options, MPI_Comm comm) {
  const uint64_t baseline = current_rss_bytes();
  PreparedAnalysis prepared;
  prepared.input = open_analysis_input(options, comm);
  prepared.plan =
      plan_analysis(options, prepared.input.shape(), baseline, comm, prepared.input.reader->element_bytes());
  prepared.plan.block_source = block_source_of(parse_read_method(options.read_method), *prepared.input.reader);
  return prepared;
}

}  // namespace latdisp
