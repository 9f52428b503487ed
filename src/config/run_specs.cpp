#include "config/run_specs.hpp"

#include <algorithm>

#include "parallel/memory.hpp"

namespace latdisp {

TrajectoryInputSpec trajectory_input_of(const InputSpec& input) {
  TrajectoryInputSpec spec;
  spec.path = input.path;
  spec.dead_mask = input.dead_mask;
  spec.request.any_format = true;
  spec.request.element_type = input.element_type;
  spec.skip_incomplete = input.skip_incomplete;
  return spec;
}

uint64_t memory_budget_of(const MemorySpec& memory, MPI_Comm comm, uint64_t default_cap) {
  if (memory.budget_bytes) return *memory.budget_bytes;
  return std::min(default_cap, default_memory_budget(comm));
}

}  // namespace latdisp
