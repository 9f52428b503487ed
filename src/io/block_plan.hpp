// How many steps a streaming pass holds at once: the one block planner of
// every command that walks a trajectory step block by step block (analyze and
// its save pass, blackholes --steps, pack, generate). Each command states what
// a step of its block costs (`BlockCost`); the plan is the largest block that
// fits the memory budget beside what the pass holds for the whole run,
// capped at about kPreferredBlockBytes of values (docs/architecture.md §4).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>

namespace latdisp {

// What MPI, HDF5 and Kokkos allocate after start-up besides the buffers a
// plan counts (measured: 4-7 MiB over the resident size at the start, for
// slabs of 1500 to 3000 tokens x 64 dims at 1 and 2 ranks). The collective
// read buffer grows with the block and is counted per step instead.
constexpr uint64_t kLibraryMarginBytes = uint64_t(8) << 20;

// The size of a block of values a plan aims for when the budget allows more:
// larger blocks gain nothing (each read or exchange's latency is amortized
// long before) and touch fresh pages on every read; a reused buffer stays
// resident.
constexpr uint64_t kPreferredBlockBytes = uint64_t(64) << 20;

// What one step of a block costs a rank, and what the pass holds beside the
// blocks for the whole run.
struct BlockCost {
  int64_t steps = 0;                  // the pass's steps: no block holds more
  int64_t min_steps = 1;              // fewer do not make a block (2: a transition)
  uint64_t bytes_per_step = 0;        // every buffer a block holds, per step
  uint64_t fixed_bytes = 0;           // held for the whole run, beyond the baseline and kLibraryMarginBytes
  uint64_t baseline_bytes = 0;        // resident before the pass
  uint64_t preferred_step_bytes = 0;  // a step's values, weighed against kPreferredBlockBytes (0: no cap)
  uint64_t transfer_step_bytes = 0;   // one step's bytes in one read or write call (0: no cap)
  // Held too if the blocks still get min(steps, optional_min_steps) steps,
  // else the pass goes without (analyze: the row magnitudes in memory).
  uint64_t optional_bytes = 0;
  int64_t optional_min_steps = 16;
  // In the message when the budget is too small: whose steps ("this rank's
  // slab (N tokens x D dims)") and what the fixed bytes hold besides the
  // process and the library buffers (" and the magnitude tables").
  std::string slab_text = "this rank's slab";
  std::string fixed_text;
};

struct BlockPlan {
  int64_t steps_per_block = 0;
  bool optional_held = false;   // cost.optional_bytes is held in memory
  uint64_t reserved_bytes = 0;  // baseline + kLibraryMarginBytes + fixed
  // Room for the values the pass keeps beside its blocks, from this rank's
  // own plan (before any agreement): the optional bytes where it holds them,
  // else what the budget leaves beside the reserve and its own block.
  uint64_t spare_bytes = 0;
};

// This rank's plan alone. Throws Error(kExitUsage) if not even min_steps fit.
BlockPlan plan_blocks(const BlockCost& cost, uint64_t budget);

// Collective: every rank's plan under one agreement (every rank makes the
// same number of collective reads and writes): the smallest block, capped
// at `max_steps` when positive; the optional bytes held only if every rank
// holds them. Throws Error(kExitUsage) on every rank if any rank's budget is
// too small.
BlockPlan plan_blocks(const BlockCost& cost, uint64_t budget, MPI_Comm comm, int64_t max_steps = 0);

}  // namespace latdisp
