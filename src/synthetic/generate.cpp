#include "synthetic/generate.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "io/block_plan.hpp"
#include "io/output_file.hpp"
#include "io/trajectory_writer.hpp"
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
  TrajectoryFileLayout layout;
  layout.dataset = options.dataset;
  layout.type = type;
  layout.shape = TrajectoryShape{options.steps, options.tokens, options.dims};
  layout.dead_mask = options.dead_mask;
  TrajectoryWriter file(comm, path, layout);
  std::vector<uint8_t> dead(static_cast<size_t>(slab.count));
  for (int64_t n = 0; n < slab.count; ++n) dead[n] = token_is_dead(model, slab.begin + n) ? 1 : 0;
  file.write_dead_mask(slab, dead.data());
  std::vector<uint8_t> block(static_cast<size_t>(block_steps * slab.count * options.dims * formats::element_bytes(type)));
  std::vector<uint32_t> current(static_cast<size_t>(slab.count * options.dims));
  for (int64_t first = 0; first < options.steps; first += block_steps) {
    stop_if_signalled(comm);
    const int64_t count = std::min(block_steps, options.steps - first);
    generate_steps(model, type, slab, options.dims, dead, first, count, current, block);
    file.write_steps(slab, first, count, block.data());
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
