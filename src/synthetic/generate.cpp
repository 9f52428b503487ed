#include "synthetic/generate.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "io/block_plan.hpp"
#include "io/element_storage.hpp"
#include "io/hdf5_handles.hpp"
#include "io/hdf5_output_file.hpp"
#include "io/output_file.hpp"
#include "parallel/errors.hpp"
#include "parallel/memory.hpp"
#include "parallel/partition.hpp"
#include "parallel/signals.hpp"
#include "synthetic/synthetic_trajectory.hpp"

namespace latdisp {

// Collective: steps per written block, the same on every rank: the block
// (stored bytes) and the current step (as uint32_t bits, and the dead mask)
// of the largest slab, each block written whole.
int64_t generate_block_steps(const GenerateConfig& options, int64_t max_slab, MPI_Comm comm) {
  const formats::ElementType type = options.element_type;
  BlockCost cost;
  cost.steps = options.steps;
  cost.bytes_per_step =
      static_cast<uint64_t>(std::max<int64_t>(1, max_slab * options.dims * formats::element_bytes(type)));
  cost.fixed_bytes = static_cast<uint64_t>(max_slab * (options.dims * 4 + 1));
  cost.baseline_bytes = current_rss_bytes();
  cost.preferred_step_bytes = cost.bytes_per_step;
  cost.transfer_step_bytes = cost.bytes_per_step;
  cost.slab_text =
      "this rank's slab (" + std::to_string(max_slab) + " tokens x " + std::to_string(options.dims) + " dims)";
  cost.fixed_text = " and the step being generated";
  return plan_blocks(cost, memory_budget_of(options.memory, comm), comm).steps_per_block;
}

namespace {

// Steps [first, first + count) of the slab into `block`; `current` holds the
// step before `first` and is left at the block's last step.
// The values are kept as uint32_t bits and stored as the format's bytes
// (little-endian: the low bytes of each).
void generate_steps(const TrajectoryModel& model, formats::ElementType type, const TokenRange& slab, int64_t dims,
                    const std::vector<uint8_t>& dead, int64_t first, int64_t count, std::vector<uint32_t>& current,
                    std::vector<uint8_t>& block) {
  const size_t value_bytes = static_cast<size_t>(formats::element_bytes(type));
  for (int64_t step = first; step < first + count; ++step) {
    for (int64_t n = 0; n < slab.count; ++n) {
      const int64_t token = slab.begin + n;
      uint32_t* values_now = &current[static_cast<size_t>(n * dims)];
      for (int64_t d = 0; d < dims; ++d)
        values_now[d] = step == 0 ? initial_bits(type, model, token, d)
                                  : next_bits(type, model, values_now[d], step - 1, token, d, dead[n] != 0);
    }
    uint8_t* out = block.data() + static_cast<size_t>((step - first) * slab.count * dims) * value_bytes;
    for (size_t i = 0; i < current.size(); ++i)
      for (size_t k = 0; k < value_bytes; ++k) out[i * value_bytes + k] = static_cast<uint8_t>(current[i] >> (8 * k));
  }
}

}  // namespace

// Collective: the trajectory of `model` into a new HDF5 file at `path`.
void write_trajectory(const GenerateConfig& options, const TrajectoryModel& model, int64_t block_steps,
                      const std::string& path, MPI_Comm comm) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  const TokenRange slab = token_range(options.tokens, rank, ranks);
  const formats::ElementType type = options.element_type;
  const Hdf5Handle value_type = hdf5_element_type(type);
  Hdf5OutputFile file(comm, path);
  const Hdf5Handle bool_type = h5py_bool_type();
  hid_t values = -1, mask = -1;
  collectively(comm, [&] {
    values = file.keep(create_output_dataset(file.get(), options.dataset, value_type.get(),
                                             {static_cast<hsize_t>(options.steps), static_cast<hsize_t>(options.tokens),
                                              static_cast<hsize_t>(options.dims)}));
    if (write_element_attribute(values, type) < 0)
      fail(kExitOutput, "cannot write the dtype attribute of '" + options.dataset + "': " + hdf5_error_text());
    mask = file.keep(
        create_output_dataset(file.get(), options.dead_mask, bool_type.get(), {static_cast<hsize_t>(options.tokens)}));
  });
  file.reserve_space();
  std::vector<uint8_t> dead(static_cast<size_t>(slab.count));
  for (int64_t n = 0; n < slab.count; ++n) dead[n] = token_is_dead(model, slab.begin + n) ? 1 : 0;
  file.write_box(mask, bool_type.get(), {static_cast<hsize_t>(slab.begin)}, {static_cast<hsize_t>(slab.count)},
                 dead.data(), "the dead mask");
  std::vector<uint8_t> block(static_cast<size_t>(block_steps * slab.count * options.dims * formats::element_bytes(type)));
  std::vector<uint32_t> current(static_cast<size_t>(slab.count * options.dims));
  for (int64_t first = 0; first < options.steps; first += block_steps) {
    stop_if_signalled(comm);
    const int64_t count = std::min(block_steps, options.steps - first);
    generate_steps(model, type, slab, options.dims, dead, first, count, current, block);
    file.write_box(values, value_type.get(), {static_cast<hsize_t>(first), static_cast<hsize_t>(slab.begin), 0},
                   {static_cast<hsize_t>(count), static_cast<hsize_t>(slab.count), static_cast<hsize_t>(options.dims)},
                   block.data(), "steps " + std::to_string(first) + ".." + std::to_string(first + count - 1));
  }
  file.close();
}

void print_generate_summary(const GenerateConfig& options) {
  using formats::ElementType;
  const ElementType type = options.element_type;
  const std::string stored = type == ElementType::bf16  ? "bfloat16 bits (uint16)"
                             : type == ElementType::f16 ? "f16 (float16)"
                             : type == ElementType::f32 ? "f32 (float32)"
                                                        : formats::element_type_name(type) + " bits (uint8)";
  std::printf("latdisp generate: wrote %s: %s [%lld, %lld, %lld] %s, %s, seed %llu%s\n", options.output.c_str(),
              options.dataset.c_str(), static_cast<long long>(options.steps),
              static_cast<long long>(options.tokens), static_cast<long long>(options.dims), stored.c_str(), options.dead_mask.c_str(),
              static_cast<unsigned long long>(options.seed), options.special ? ", with special values" : "");
  if (options.decay_steps > 0)
    std::printf("latdisp generate: move size halving every %lld steps, floor %g\n",
                static_cast<long long>(options.decay_steps), options.floor);
}

}  // namespace latdisp
