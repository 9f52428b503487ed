#include "convert/pack.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <utility>
#include <vector>

#include "io/block_plan.hpp"
#include "io/output_file.hpp"
#include "io/trajectory_input.hpp"
#include "io/trajectory_reader.hpp"
#include "io/trajectory_writer.hpp"
#include "parallel/errors.hpp"
#include "parallel/memory.hpp"
#include "parallel/partition.hpp"

namespace latdisp {

// Collective: steps per block, the same on every rank; a block of the
// largest slab is read and written whole.
int64_t pack_block_steps(const PackConfig& options, MPI_Comm comm, int64_t steps, int64_t max_slab, int64_t dims,
                         int64_t value_bytes) {
  BlockCost cost;
  cost.steps = steps;
  cost.bytes_per_step = static_cast<uint64_t>(std::max<int64_t>(1, max_slab * dims * value_bytes));
  cost.baseline_bytes = current_rss_bytes();
  cost.preferred_step_bytes = cost.bytes_per_step;
  cost.transfer_step_bytes = cost.bytes_per_step;
  cost.slab_text = "this rank's slab (" + std::to_string(max_slab) + " tokens x " + std::to_string(dims) + " dims)";
  return plan_blocks(cost, memory_budget_of(options.memory, comm), comm).steps_per_block;
}

PackInput open_pack_input(const PackConfig& options, MPI_Comm comm) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  PackInput input;
  // Any element format: the output keeps the input's.
  TrajectoryInput opened =
      open_trajectory_input(comm, trajectory_input_of(options.input), {{options.input.dataset, "W", "--dataset"}});
  input.reader = std::move(opened.readers.front());
  input.dead_mask = std::move(opened.dead_mask);
  input.dead_mask_found = opened.dead_mask_found;
  require_a_token_per_rank(input.reader->shape().tokens, ranks, options.input.path);
  if (!input.dead_mask_found && rank == 0)
    std::fprintf(stderr, "latdisp pack: warning: %s; the output has no dead mask\n",
                 missing_dead_mask_text(options.input.path, options.input.dead_mask).c_str());
  return input;
}

// Collective: W (read `block_steps` steps at a time), the dead mask and the
// step numbers into a new HDF5 file at `path`.
void write_packed(const PackConfig& options, const PackInput& input, int64_t block_steps, const std::string& path,
                  MPI_Comm comm) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  const TrajectoryShape shape = input.reader->shape();
  const TokenRange slab = token_range(shape.tokens, rank, ranks);
  const int64_t max_slab = token_range(shape.tokens, 0, ranks).count;
  const std::vector<int64_t>& step_numbers = input.reader->step_numbers();
  TrajectoryFileLayout layout;
  layout.dataset = options.output_dataset;
  layout.type = input.reader->element_type();
  layout.shape = shape;
  layout.dead_mask = input.dead_mask_found ? "dead_mask" : "";
  layout.step_numbers = !step_numbers.empty();
  TrajectoryWriter file(comm, path, layout);
  if (input.dead_mask_found) file.write_dead_mask(slab, input.dead_mask.data() + slab.begin);
  if (!step_numbers.empty()) file.write_step_numbers(step_numbers);
  std::vector<uint8_t> block(static_cast<size_t>(block_steps * slab.count * shape.dims * input.reader->element_bytes()));
  for (int64_t first = 0; first < shape.steps; first += block_steps) {
    const int64_t count = std::min(block_steps, shape.steps - first);
    input.reader->read_steps(slab, first, count, max_slab, block.data());
    file.write_steps(slab, first, count, block.data());
  }
  file.close();
}

void print_pack_summary(const PackConfig& options, const PackInput& input, double seconds, int ranks) {
  const TrajectoryShape shape = input.reader->shape();
  const double megabytes =
      static_cast<double>(shape.steps * shape.tokens * shape.dims * input.reader->element_bytes()) / 1e6;
  std::printf(
      "latdisp pack: wrote %s: %s [%lld, %lld, %lld] %s values from %s '%s'%s%s; %.1f MB in "
      "%.2f s (%.0f MB/s), %d rank(s)\n",
      options.output.c_str(), options.output_dataset.c_str(), static_cast<long long>(shape.steps),
      static_cast<long long>(shape.tokens), static_cast<long long>(shape.dims),
      formats::element_type_name(input.reader->element_type()).c_str(), format_name(input.reader->format()),
      options.input.path.c_str(), input.dead_mask_found ? ", dead_mask" : "",
      input.reader->step_numbers().empty() ? "" : ", steps", megabytes, seconds,
      seconds > 0 ? megabytes / seconds : 0.0, ranks);
}

}  // namespace latdisp
