#include "synthetic/generate.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "parallel/errors.hpp"
#include "io/hdf5_handles.hpp"
#include "parallel/memory.hpp"
#include "io/output_file.hpp"
#include "parallel/partition.hpp"
#include "synthetic/synthetic_trajectory.hpp"

namespace latdisp {

namespace {

constexpr int64_t kMaxTransferBytes = int64_t(1) << 30;

}  // namespace

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
    Hdf5Handle file;
    collectively(comm, [&] {
      const Hdf5Handle fapl = mpio_file_access(comm);
      Hdf5Handle fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
      file = Hdf5Handle(H5Fcreate(output.temporary_path().c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get()), H5Fclose);
      if (!file.valid()) fail(kExitOutput, "cannot create '" + options.output + "': " + hdf5_error_text());
    });
    Hdf5Handle values;
    Hdf5Handle mask;
    const Hdf5Handle bool_type = h5py_bool_type();
    collectively(comm, [&] {
      values = create_output_dataset(file.get(), options.dataset, H5T_STD_U16LE,
                                     {static_cast<hsize_t>(options.steps), static_cast<hsize_t>(options.tokens),
                                      static_cast<hsize_t>(options.dims)});
      mask =
          create_output_dataset(file.get(), options.dead_mask, bool_type.get(), {static_cast<hsize_t>(options.tokens)});
    });
    const Hdf5Handle transfer = collective_transfer();

    std::vector<uint8_t> dead(static_cast<size_t>(slab.count));
    for (int64_t n = 0; n < slab.count; ++n) dead[n] = token_is_dead(model, slab.begin + n) ? 1 : 0;
    collectively(comm, [&] {
      const hsize_t start[1] = {static_cast<hsize_t>(slab.begin)}, count[1] = {static_cast<hsize_t>(slab.count)};
      Hdf5Handle file_space(H5Dget_space(mask.get()), H5Sclose);
      H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
      Hdf5Handle memory_space(H5Screate_simple(1, count, nullptr), H5Sclose);
      check_hdf5_write(
          H5Dwrite(mask.get(), bool_type.get(), memory_space.get(), file_space.get(), transfer.get(), dead.data()),
          "writing the dead mask");
    });

    const int64_t row = options.dims;
    const int64_t step_values = slab.count * row;
    std::vector<uint16_t> block(static_cast<size_t>(block_steps * step_values));
    std::vector<uint16_t> current(static_cast<size_t>(step_values));
    for (int64_t first = 0; first < options.steps; first += block_steps) {
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
      collectively(comm, [&] {
        const hsize_t start[3] = {static_cast<hsize_t>(first), static_cast<hsize_t>(slab.begin), 0};
        const hsize_t extent[3] = {static_cast<hsize_t>(count), static_cast<hsize_t>(slab.count),
                                   static_cast<hsize_t>(row)};
        Hdf5Handle file_space(H5Dget_space(values.get()), H5Sclose);
        H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, extent, nullptr);
        Hdf5Handle memory_space(H5Screate_simple(3, extent, nullptr), H5Sclose);
        check_hdf5_write(H5Dwrite(values.get(), H5T_NATIVE_UINT16, memory_space.get(), file_space.get(), transfer.get(),
                                  block.data()),
                         "writing steps " + std::to_string(first) + ".." + std::to_string(first + count - 1));
      });
    }
    values.reset();
    mask.reset();
    collectively(comm, [&] {
      const herr_t status = H5Fclose(file.release());
      check_hdf5_write(status, "closing '" + options.output + "'");
    });
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
