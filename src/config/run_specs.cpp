#include "config/run_specs.hpp"

#include <algorithm>

#include "parallel/memory.hpp"

namespace latdisp {

uint64_t memory_budget_of(const MemorySpec& memory, MPI_Comm comm, uint64_t default_cap) {
  if (memory.budget_bytes) return *memory.budget_bytes;
  return std::min(default_cap, default_memory_budget(comm));
}

}  // namespace latdisp
