#include "bits/blackholes_over_time.hpp"

#include <algorithm>
#include <cstring>
#include <chrono>
#include <cstdio>
#include <memory>
#include <utility>

#include "bits/group_timeline.hpp"
#include "bits/identical_rows.hpp"
#include "io/matrix_source.hpp"
#include "io/trajectory_input.hpp"
#include "io/trajectory_reader.hpp"
#include "parallel/clock.hpp"
#include "parallel/errors.hpp"
#include "parallel/memory.hpp"
#include "parallel/partition.hpp"

namespace latdisp {

namespace {

// The timeline's per-token arrays, held on rank 0 for the whole run.
constexpr uint64_t kTimelineBytesPerToken = 40;

// Collective: reads the given snapshot indices of this rank's slab, one
// collective read per run of consecutive indices, through the reader of any
// input format. (StepStream shares a step between blocks for transitions;
// here each selected step is searched once, and a stride skips steps.)
// Rows are searched as their bytes in 16-bit words (bit-identical rows of
// any element format; bf16: the values), the last word of a row with an odd
// number of bytes padded with a zero byte: `words` per row.
void read_block(const TrajectoryReader& reader, const TokenRange& slab, int64_t max_slab,
                const std::vector<int64_t>& steps, int64_t words, uint16_t* buffer) {
  const int64_t row_bytes = reader.shape().dims * reader.element_bytes();
  char* bytes = reinterpret_cast<char*>(buffer);
  const int64_t step_bytes = slab.count * row_bytes;
  for (size_t i = 0; i < steps.size();) {
    size_t j = i + 1;
    while (j < steps.size() && steps[j] == steps[j - 1] + 1) ++j;
    reader.read_steps(slab, steps[i], static_cast<int64_t>(j - i), max_slab, bytes + static_cast<int64_t>(i) * step_bytes);
    i = j;
  }
  if (row_bytes == 2 * words) return;
  for (int64_t r = static_cast<int64_t>(steps.size()) * slab.count; r-- > 0;) {  // backwards, in place
    std::memmove(buffer + r * words, bytes + r * row_bytes, static_cast<size_t>(row_bytes));
    reinterpret_cast<uint8_t*>(buffer + r * words)[row_bytes] = 0;
  }
}

// Counts summed over ranks; seconds and rounds the largest of any rank.
RowSearchStats reduce_stats(const RowSearchStats& local, MPI_Comm comm) {
  RowSearchStats total = local;
  int64_t counts[3] = {local.candidate_buckets, local.candidate_rows, local.collision_buckets};
  MPI_Allreduce(MPI_IN_PLACE, counts, 3, MPI_INT64_T, MPI_SUM, comm);
  total.candidate_buckets = counts[0];
  total.candidate_rows = counts[1];
  total.collision_buckets = counts[2];
  double seconds[4] = {local.hash_seconds, local.route_seconds, local.group_seconds, local.verify_seconds};
  MPI_Allreduce(MPI_IN_PLACE, seconds, 4, MPI_DOUBLE, MPI_MAX, comm);
  total.hash_seconds = seconds[0];
  total.route_seconds = seconds[1];
  total.group_seconds = seconds[2];
  total.verify_seconds = seconds[3];
  MPI_Allreduce(MPI_IN_PLACE, &total.verify_rounds, 1, MPI_INT64_T, MPI_MAX, comm);
  return total;
}

// The input's description in the report.
void describe_input(const TrajectoryReader& reader, const MatrixLocation& location, const std::vector<uint8_t>& dead,
                    bool dead_found, BlackholesRun& run) {
  const TrajectoryShape& shape = reader.shape();
  run.path = location.path;
  run.name = location.name;
  run.format = reader.format();
  run.type = reader.type_description();
  run.element_type = formats::element_type_name(reader.element_type());
  run.trajectory = true;
  run.input_steps = shape.steps;
  run.tokens = shape.tokens;
  run.dims = shape.dims;
  run.source = location.path + ":" + location.name + " (" + run.type + ", " + std::to_string(shape.steps) + " x " +
               std::to_string(shape.tokens) + " x " + std::to_string(shape.dims) + ")";
  run.step_numbers = reader.step_numbers();
  run.dead_mask_found = dead_found;
  for (const uint8_t d : dead) run.dead_tokens += d;
}

}  // namespace

std::vector<int64_t> selected_steps(const StepSelection& selection, int64_t steps, const std::string& input) {
  const int64_t last = selection.last < 0 ? steps - 1 : selection.last;
  if (last >= steps)
    fail(kExitInput, "--steps: step " + std::to_string(last) + " is out of range: '" + input + "' has " +
                         std::to_string(steps) + " steps (0.." + std::to_string(steps - 1) + ")");
  std::vector<int64_t> selected;
  for (int64_t t = selection.first; t <= last; t += selection.stride) selected.push_back(t);
  return selected;
}

uint64_t blackhole_bytes_per_step(const BlackholeBlockInputs& in) {
  const uint64_t slab = static_cast<uint64_t>(in.slab_tokens), tokens = static_cast<uint64_t>(in.tokens);
  // Rows; per own row its hash and its routed record; per token, as owner
  // or as rank 0, a routed record, a comparison, a reply and a group entry.
  return slab * (static_cast<uint64_t>(in.dims) * 2 + 8 + 24 + 40) + tokens * (24 + 40 + 16 + 16);
}

BlockCost blackhole_block_cost(const BlackholeBlockInputs& in) {
  BlockCost cost;
  cost.steps = in.selected;
  cost.bytes_per_step = blackhole_bytes_per_step(in);
  cost.fixed_bytes = kTimelineBytesPerToken * static_cast<uint64_t>(in.tokens);
  cost.baseline_bytes = in.baseline_bytes;
  // Blocks of about kPreferredBlockBytes of rows amortize each exchange's latency.
  cost.preferred_step_bytes = static_cast<uint64_t>(in.slab_tokens * in.dims * 2);
  cost.slab_text = "this rank's slab (" + std::to_string(in.slab_tokens) + " rows of " + std::to_string(in.dims * 2) +
                   " bytes)";
  cost.fixed_text = " and the group timeline";
  return cost;
}

namespace {

struct OpenedTrajectory {
  MatrixLocation location;
  std::unique_ptr<TrajectoryReader> reader;
  std::vector<uint8_t> dead;
};

// Collective: opens the trajectory, describes it in `run` and selects its steps.
OpenedTrajectory open_input(const BlackholesConfig& options, BlackholesRun& run, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  OpenedTrajectory input;
  input.location = parse_matrix_location(options.matrix);
  TrajectoryInputSpec spec;
  spec.path = input.location.path;
  spec.dead_mask = options.dead_mask;
  spec.request.any_format = true;
  TrajectoryInput opened = open_trajectory_input(comm, spec, {{input.location.name, "W", "--matrix"}});
  input.reader = std::move(opened.readers.front());
  input.dead = std::move(opened.dead_mask);
  const bool dead_found = opened.dead_mask_found;
  run.words = (input.reader->shape().dims * input.reader->element_bytes() + 1) / 2;
  describe_input(*input.reader, input.location, input.dead, dead_found, run);
  collectively(comm, [&] {
    require_a_token_per_rank(run.tokens, run.ranks, input.location.path);
    run.steps = selected_steps(*options.steps, run.input_steps, input.location.path);
  });
  if (!dead_found && rank == 0)
    std::fprintf(stderr, "latdisp blackholes: warning: %s; every token is treated as live\n",
                 missing_dead_mask_text(input.location.path, options.dead_mask).c_str());
  return input;
}

// Collective: the selected steps block by block; rank 0 follows the groups.
void walk_blocks(const OpenedTrajectory& input, const BlackholesConfig& options, uint64_t baseline, BlackholesRun& run,
                 PhaseTimer& phases, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  const TokenRange slab = token_range(run.tokens, rank, run.ranks);
  const int64_t max_slab = token_range(run.tokens, 0, run.ranks).count;
  BlackholeBlockInputs inputs{slab.count, run.tokens, run.words, static_cast<int64_t>(run.steps.size()), 0, baseline};
  inputs.budget = memory_budget_of(options.memory, comm);
  run.memory_budget = inputs.budget;
  run.steps_per_block =
      plan_blocks(blackhole_block_cost(inputs), inputs.budget, comm, options.memory.max_steps_per_block).steps_per_block;

  RowSearchSettings settings;
  settings.min_size = options.min_size;
  settings.hash_mask = options.hash_bits >= 64 ? ~uint64_t(0) : (uint64_t(1) << options.hash_bits) - 1;
  // Not cleared: every value is read before it is used.
  const std::unique_ptr<uint16_t[]> buffer(
      new uint16_t[static_cast<size_t>(run.steps_per_block * slab.count * run.words)]);
  RowSearchBuffers search_buffers;
  std::unique_ptr<GroupTimeline> timeline;
  if (rank == 0) timeline = std::make_unique<GroupTimeline>(run.tokens, input.dead);
  RowSearchStats stats;
  const size_t per_block = static_cast<size_t>(run.steps_per_block);
  for (size_t first = 0; first < run.steps.size(); first += per_block) {
    const auto begin = run.steps.begin() + static_cast<std::ptrdiff_t>(first);
    const std::vector<int64_t> steps(
        begin, begin + static_cast<std::ptrdiff_t>(std::min(per_block, run.steps.size() - first)));
    phases.enter("read");
    Clock::time_point phase = Clock::now();
    read_block(*input.reader, slab, max_slab, steps, run.words, buffer.get());
    run.read_seconds += seconds_since(phase);
    phases.enter("search");
    const SlabBlock block{buffer.get(), static_cast<int64_t>(steps.size()), slab, run.tokens, run.words};
    const std::vector<StepGroups> groups = find_identical_rows(block, settings, search_buffers, stats, comm);
    phases.enter("track");
    phase = Clock::now();
    if (timeline)
      for (size_t s = 0; s < steps.size(); ++s) timeline->add_step(steps[s], groups[s]);
    run.track_seconds += seconds_since(phase);
  }
  phases.enter("reduce");
  run.search = reduce_stats(stats, comm);
  MPI_Allreduce(MPI_IN_PLACE, &run.read_seconds, 1, MPI_DOUBLE, MPI_MAX, comm);
  if (timeline) {
    run.series = timeline->series();
    run.final_groups = timeline->final_groups();
    run.initial_groups = timeline->initial_groups();
  }
}

}  // namespace

BlackholesRun blackholes_over_time(const BlackholesConfig& options, PhaseTimer& phases, MPI_Comm comm) {
  const Clock::time_point start = Clock::now();
  const uint64_t baseline = current_rss_bytes();
  BlackholesRun run;
  run.config = options;
  MPI_Comm_size(comm, &run.ranks);
  const OpenedTrajectory input = open_input(options, run, comm);
  walk_blocks(input, options, baseline, run, phases, comm);
  run.peak_rss = gather_peak_rss(comm);
  run.total_seconds = seconds_since(start);
  return run;
}

}  // namespace latdisp
