#include "convert/pack.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

#include "io/block_plan.hpp"
#include "io/element_storage.hpp"
#include "io/hdf5_handles.hpp"
#include "io/hdf5_output_file.hpp"
#include "io/output_file.hpp"
#include "io/trajectory_reader.hpp"
#include "parallel/errors.hpp"
#include "parallel/memory.hpp"
#include "parallel/partition.hpp"

namespace latdisp {

namespace {

// The dataset of training step numbers analyze reports as input.steps.
const char* const kStepsDataset = "steps";

}  // namespace

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
  ElementRequest request;
  request.any_format = true;  // the output keeps the input's format
  input.reader = open_trajectory(comm, options.input.path, options.input.dataset, options.input.dead_mask, input.dead_mask,
                                 input.dead_mask_found, request);
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
  Hdf5OutputFile file(comm, path);
  hid_t values = -1, mask = -1, steps = -1;
  const Hdf5Handle bool_type = h5py_bool_type();
  const formats::ElementType type = input.reader->element_type();
  const Hdf5Handle value_type = hdf5_element_type(type);
  collectively(comm, [&] {
    values = file.keep(create_output_dataset(
        file.get(), options.output_dataset, value_type.get(),
        {static_cast<hsize_t>(shape.steps), static_cast<hsize_t>(shape.tokens), static_cast<hsize_t>(shape.dims)}));
    if (write_element_attribute(values, type) < 0)
      fail(kExitOutput, "cannot write the dtype attribute of '" + options.output_dataset + "': " + hdf5_error_text());
    if (input.dead_mask_found)
      mask = file.keep(
          create_output_dataset(file.get(), "dead_mask", bool_type.get(), {static_cast<hsize_t>(shape.tokens)}));
    if (!step_numbers.empty())
      steps = file.keep(
          create_output_dataset(file.get(), kStepsDataset, H5T_STD_I64LE, {static_cast<hsize_t>(shape.steps)}));
  });
  file.reserve_space();
  if (input.dead_mask_found)
    file.write_box(mask, bool_type.get(), {static_cast<hsize_t>(slab.begin)}, {static_cast<hsize_t>(slab.count)},
                   input.dead_mask.data() + slab.begin, "the dead mask");
  if (!step_numbers.empty())
    file.write_box(steps, H5T_NATIVE_INT64, {0}, {rank == 0 ? static_cast<hsize_t>(shape.steps) : 0},
                   step_numbers.data(), "the step numbers");
  std::vector<uint8_t> block(static_cast<size_t>(block_steps * slab.count * shape.dims * input.reader->element_bytes()));
  for (int64_t first = 0; first < shape.steps; first += block_steps) {
    const int64_t count = std::min(block_steps, shape.steps - first);
    input.reader->read_steps(slab, first, count, max_slab, block.data());
    file.write_box(values, value_type.get(), {static_cast<hsize_t>(first), static_cast<hsize_t>(slab.begin), 0},
                   {static_cast<hsize_t>(count), static_cast<hsize_t>(slab.count), static_cast<hsize_t>(shape.dims)},
                   block.data(), "steps " + std::to_string(first) + ".." + std::to_string(first + count - 1));
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
