#include "synthetic/generate.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "io/hdf5_handles.hpp"
#include "io/hdf5_output_file.hpp"
#include "io/output_file.hpp"
#include "io/transfer_limits.hpp"
#include "parallel/errors.hpp"
#include "parallel/memory.hpp"
#include "parallel/partition.hpp"
#include "parallel/signals.hpp"
#include "synthetic/synthetic_trajectory.hpp"

namespace latdisp {

int run_generate(const GenerateOptions& options, MPI_Comm comm) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  if (ranks > options.tokens)
    fail(kExitUsage, "more ranks (" + std::to_string(ranks) + ") than tokens (" + std::to_string(options.tokens) +
                         "): use at most " + std::to_string(options.tokens) + " ranks");
  const TrajectoryModel model{options.seed, options.dead_fraction, options.special, options.decay_steps, options.floor};
  const TokenRange slab = token_range(options.tokens, rank, ranks);
  const int64_t max_slab = token_range(options.tokens, 0, ranks).count;
  const uint64_t budget =
      options.memory_budget.empty() ? default_memory_budget(comm) : parse_byte_size(options.memory_budget);
  const int64_t step_bytes = std::max<int64_t>(1, max_slab * options.dims * 2);
  // Two buffers' worth of steps: the block being written and its seed step.
  int64_t block_steps =
      std::min<int64_t>({options.steps, static_cast<int64_t>(budget / 2) / step_bytes, kMaxTransferBytes / step_bytes});
  if (block_steps < 1)
    fail(kExitUsage, "--memory-budget " + format_bytes(budget) + " is too small for one step of " +
                         format_bytes(static_cast<uint64_t>(step_bytes)));

  PendingOutput output(comm, options.output, options.overwrite, "--output");
  {
    Hdf5OutputFile file(comm, output.temporary_path());
    const Hdf5Handle bool_type = h5py_bool_type();
    hid_t values = -1, mask = -1;
    collectively(comm, [&] {
      values =
          file.keep(create_output_dataset(file.get(), options.dataset, H5T_STD_U16LE,
                                          {static_cast<hsize_t>(options.steps), static_cast<hsize_t>(options.tokens),
                                           static_cast<hsize_t>(options.dims)}));
      mask = file.keep(create_output_dataset(file.get(), options.dead_mask, bool_type.get(),
                                             {static_cast<hsize_t>(options.tokens)}));
    });
    file.reserve_space();
    const Hdf5Handle transfer = collective_transfer();

    std::vector<uint8_t> dead(static_cast<size_t>(slab.count));
    for (int64_t n = 0; n < slab.count; ++n) dead[n] = token_is_dead(model, slab.begin + n) ? 1 : 0;
    {
      const hsize_t start[1] = {static_cast<hsize_t>(slab.begin)}, count[1] = {static_cast<hsize_t>(slab.count)};
      Hdf5Handle file_space(H5Dget_space(mask), H5Sclose);
      H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
      Hdf5Handle memory_space(H5Screate_simple(1, count, nullptr), H5Sclose);
      file.write("the dead mask", [&] {
        return H5Dwrite(mask, bool_type.get(), memory_space.get(), file_space.get(), transfer.get(), dead.data());
      });
    }

    const int64_t row = options.dims;
    const int64_t step_values = slab.count * row;
    std::vector<uint16_t> block(static_cast<size_t>(block_steps * step_values));
    std::vector<uint16_t> current(static_cast<size_t>(step_values));
    for (int64_t first = 0; first < options.steps; first += block_steps) {
      stop_if_signalled(comm);
      const int64_t count = std::min(block_steps, options.steps - first);
      for (int64_t s = 0; s < count; ++s) {
        const int64_t step = first + s;
        for (int64_t n = 0; n < slab.count; ++n) {
          const int64_t token = slab.begin + n;
          uint16_t* values_now = &current[static_cast<size_t>(n * row)];
          for (int64_t d = 0; d < row; ++d)
            values_now[d] = step == 0 ? initial_value(model, token, d)
                                      : next_value(model, values_now[d], step - 1, token, d, dead[n] != 0);
        }
        std::copy(current.begin(), current.end(), block.begin() + s * step_values);
      }
      const hsize_t start[3] = {static_cast<hsize_t>(first), static_cast<hsize_t>(slab.begin), 0};
      const hsize_t extent[3] = {static_cast<hsize_t>(count), static_cast<hsize_t>(slab.count),
                                 static_cast<hsize_t>(row)};
      Hdf5Handle file_space(H5Dget_space(values), H5Sclose);
      H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, extent, nullptr);
      Hdf5Handle memory_space(H5Screate_simple(3, extent, nullptr), H5Sclose);
      file.write("steps " + std::to_string(first) + ".." + std::to_string(first + count - 1), [&] {
        return H5Dwrite(values, H5T_NATIVE_UINT16, memory_space.get(), file_space.get(), transfer.get(), block.data());
      });
    }
    file.close();
  }
  output.commit();
  if (rank == 0)
    std::printf("latdisp generate: wrote %s: %s [%lld, %lld, %lld] bfloat16 bits (uint16), %s, seed %llu%s\n",
                options.output.c_str(), options.dataset.c_str(), static_cast<long long>(options.steps),
                static_cast<long long>(options.tokens), static_cast<long long>(options.dims), options.dead_mask.c_str(),
                static_cast<unsigned long long>(options.seed), options.special ? ", with special values" : "");
  if (rank == 0 && options.decay_steps > 0)
    std::printf("latdisp generate: move size halving every %lld steps, floor %g\n",
                static_cast<long long>(options.decay_steps), options.floor);
  return kExitOk;
}

}  // namespace latdisp
