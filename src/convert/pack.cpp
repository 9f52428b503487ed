#include "convert/pack.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>

#include "io/hdf5_handles.hpp"
#include "io/hdf5_output_file.hpp"
#include "io/output_file.hpp"
#include "io/trajectory_reader.hpp"
#include "io/transfer_limits.hpp"
#include "parallel/errors.hpp"
#include "parallel/memory.hpp"
#include "parallel/partition.hpp"

namespace latdisp {

namespace {

// The dataset of training step numbers analyze reports as input.steps.
const char* const kStepsDataset = "steps";

// Collective: writes the box [start, start + count) of `dataset` from
// `values`; a box with a zero extent takes part selecting nothing.
void write_box(Hdf5OutputFile& file, hid_t dataset, hid_t memory_type, const std::vector<hsize_t>& start,
               const std::vector<hsize_t>& count, const void* values, const std::string& what) {
  Hdf5Handle file_space(H5Dget_space(dataset), H5Sclose);
  hsize_t total = 1;
  for (hsize_t c : count) total *= c;
  const hsize_t one[1] = {1};
  Hdf5Handle memory_space(total == 0 ? H5Screate_simple(1, one, nullptr)
                                     : H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr),
                          H5Sclose);
  if (total == 0) {
    H5Sselect_none(file_space.get());
    H5Sselect_none(memory_space.get());
  } else {
    H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
  }
  const Hdf5Handle transfer = collective_transfer();
  file.write(what, [&] {
    return H5Dwrite(dataset, memory_type, memory_space.get(), file_space.get(), transfer.get(), values);
  });
}

int64_t steps_per_block(const PackOptions& options, MPI_Comm comm, int64_t steps, int64_t step_bytes) {
  const uint64_t budget =
      options.memory_budget.empty() ? default_memory_budget(comm) : parse_byte_size(options.memory_budget);
  const uint64_t reserved = current_rss_bytes();
  const int64_t available = budget > reserved ? static_cast<int64_t>(budget - reserved) : 0;
  int64_t block = std::min<int64_t>({steps, available / step_bytes, kMaxTransferBytes / step_bytes});
  // Every rank makes the same number of collective transfers.
  MPI_Allreduce(MPI_IN_PLACE, &block, 1, MPI_INT64_T, MPI_MIN, comm);
  if (block < 1)
    fail(kExitUsage, "--memory-budget " + format_bytes(budget) + " is too small: one step of this rank's slab needs " +
                         format_bytes(static_cast<uint64_t>(step_bytes)) + " beside the " + format_bytes(reserved) +
                         " the process holds; raise the budget or use more ranks");
  return block;
}

}  // namespace

int run_pack(const PackOptions& options, MPI_Comm comm) {
  const auto start = std::chrono::steady_clock::now();
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  // The output is refused now if it cannot be written (or is an input), not after the reading.
  std::vector<std::string> inputs{options.input};
  const size_t colon = options.dead_mask.rfind(':');
  if (colon != std::string::npos && colon > 0) inputs.push_back(options.dead_mask.substr(0, colon));
  check_outputs(comm, {{"--output", options.output}}, inputs, options.overwrite);
  std::vector<uint8_t> dead_mask;
  bool dead_mask_found = false;
  const std::unique_ptr<TrajectoryReader> reader =
      open_trajectory(comm, options.input, options.dataset, options.dead_mask, dead_mask, dead_mask_found);
  const TrajectoryShape shape = reader->shape();
  if (ranks > shape.tokens)
    fail(kExitUsage, "more ranks (" + std::to_string(ranks) + ") than tokens (" + std::to_string(shape.tokens) +
                         ") in '" + options.input + "': use at most " + std::to_string(shape.tokens) + " ranks");
  if (!dead_mask_found && rank == 0)
    std::fprintf(stderr, "latdisp pack: warning: %s; the output has no dead mask\n",
                 missing_dead_mask_text(options.input, options.dead_mask).c_str());
  const TokenRange slab = token_range(shape.tokens, rank, ranks);
  const int64_t max_slab = token_range(shape.tokens, 0, ranks).count;
  const int64_t step_values = slab.count * shape.dims;
  const int64_t block_steps =
      steps_per_block(options, comm, shape.steps, std::max<int64_t>(1, max_slab * shape.dims * 2));
  const std::vector<int64_t>& step_numbers = reader->step_numbers();

  PendingOutput output(comm, options.output, options.overwrite, "--output");
  {
    Hdf5OutputFile file(comm, output.temporary_path());
    hid_t values = -1, mask = -1, steps = -1;
    const Hdf5Handle bool_type = h5py_bool_type();
    collectively(comm, [&] {
      values = file.keep(create_output_dataset(
          file.get(), options.output_dataset, H5T_STD_U16LE,
          {static_cast<hsize_t>(shape.steps), static_cast<hsize_t>(shape.tokens), static_cast<hsize_t>(shape.dims)}));
      if (dead_mask_found)
        mask = file.keep(
            create_output_dataset(file.get(), "dead_mask", bool_type.get(), {static_cast<hsize_t>(shape.tokens)}));
      if (!step_numbers.empty())
        steps = file.keep(
            create_output_dataset(file.get(), kStepsDataset, H5T_STD_I64LE, {static_cast<hsize_t>(shape.steps)}));
    });
    file.reserve_space();
    if (dead_mask_found)
      write_box(file, mask, bool_type.get(), {static_cast<hsize_t>(slab.begin)}, {static_cast<hsize_t>(slab.count)},
                dead_mask.data() + slab.begin, "the dead mask");
    if (!step_numbers.empty())
      write_box(file, steps, H5T_NATIVE_INT64, {0}, {rank == 0 ? static_cast<hsize_t>(shape.steps) : 0},
                step_numbers.data(), "the step numbers");

    std::vector<uint16_t> block(static_cast<size_t>(block_steps * step_values));
    for (int64_t first = 0; first < shape.steps; first += block_steps) {
      const int64_t count = std::min(block_steps, shape.steps - first);
      reader->read_steps(slab, first, count, max_slab, block.data());
      write_box(file, values, H5T_NATIVE_UINT16, {static_cast<hsize_t>(first), static_cast<hsize_t>(slab.begin), 0},
                {static_cast<hsize_t>(count), static_cast<hsize_t>(slab.count), static_cast<hsize_t>(shape.dims)},
                block.data(), "steps " + std::to_string(first) + ".." + std::to_string(first + count - 1));
    }
    file.close();
  }
  output.commit();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (rank == 0) {
    const double megabytes = static_cast<double>(shape.steps * shape.tokens * shape.dims * 2) / 1e6;
    std::printf(
        "latdisp pack: wrote %s: %s [%lld, %lld, %lld] bfloat16 bits (uint16) from %s '%s'%s%s; %.1f MB in "
        "%.2f s (%.0f MB/s), %d rank(s)\n",
        options.output.c_str(), options.output_dataset.c_str(), static_cast<long long>(shape.steps),
        static_cast<long long>(shape.tokens), static_cast<long long>(shape.dims), format_name(reader->format()),
        options.input.c_str(), dead_mask_found ? ", dead_mask" : "", step_numbers.empty() ? "" : ", steps", megabytes,
        seconds, seconds > 0 ? megabytes / seconds : 0.0, ranks);
  }
  return kExitOk;
}

}  // namespace latdisp
