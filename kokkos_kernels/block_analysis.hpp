// The displacement kernel: for one block of consecutive steps of a rank's
// token slab, classify every coordinate of every transition, tally counts and
// extremes per work item (one transition x a run of tokens) and write the
// magnitude of every (transition, token) row.
#pragma once

#include <Kokkos_Core.hpp>

#include <cstdint>

#include "kokkos_kernels/bf16_lattice.hpp"
#include "kokkos_kernels/displacement_tally.hpp"
#include "kokkos_kernels/formats/element_type.hpp"
#include "kokkos_kernels/motion.hpp"

namespace latdisp {

using ExecutionSpace = Kokkos::DefaultExecutionSpace;
using DeviceMemory = ExecutionSpace::memory_space;
// A GPU: blocks are copied to the device and results back.
constexpr bool kSeparateDeviceMemory = !Kokkos::SpaceAccessibility<Kokkos::HostSpace, DeviceMemory>::accessible;
// The tokens of a work item that analyze takes unless told (--tokens-per-item):
// a device wants many small items for its threads; on the host an item's
// fixed costs (its tallies, and the near-zero counts read back once an item)
// shrink with larger ones: 1024 against 256 took 2-6% off the kernel phase
// for every format on the project's 2-core VM (generated and trained files).
// A block holds (its steps - 1) x ceil(slab tokens / 1024) items, plenty for
// OpenMP's threads unless the slab is thin and the blocks short.
constexpr int64_t kDefaultTokensPerItem = kSeparateDeviceMemory ? 8 : 1024;

// The kernel's views in the memory of execution space `Space`.
template <class Space>
struct BlockViews {
  using Memory = typename Space::memory_space;
  // values(step, token, dim): raw bfloat16 bits of a block of steps; each
  // row contiguous, steps a stride apart (a buffer, or the slab of a mapped
  // file whose steps hold every token).
  using Values = Kokkos::View<const uint16_t***, Kokkos::LayoutStride, Memory>;
  using Flags = Kokkos::View<const uint8_t*, Memory>;
  using Tallies = Kokkos::View<ItemTally**, Kokkos::LayoutRight, Memory>;
  using Magnitudes = Kokkos::View<double**, Kokkos::LayoutRight, Memory>;
};
using BlockValues = BlockViews<ExecutionSpace>::Values;
using TokenFlags = BlockViews<ExecutionSpace>::Flags;
using ItemTallies = BlockViews<ExecutionSpace>::Tallies;
using RowMagnitudes = BlockViews<ExecutionSpace>::Magnitudes;

enum class Arithmetic : int { exact = 0, seed = 1 };

struct KernelSettings {
  Arithmetic arithmetic = Arithmetic::exact;
  double epsilon = 1e-6;
  bf16::ZeroUlp zero_ulp = bf16::ZeroUlp::min_normal;
  int64_t tokens_per_item = 64;
  // Rows with 0 < m <= hop_radius are hops, larger ones thermal; in the
  // driving arithmetic's precision (seed: a float32 value).
  double hop_radius = 0.0;
};

// Marks a row whose magnitude is not finite (some x in it is not).
KOKKOS_INLINE_FUNCTION double nonfinite_magnitude() { return 0.0 / 0.0; }

// Runs the kernel on `values` (transitions = values.extent(0) - 1). When
// `includes_final_step` is set, the ULP statistics also cover the block's last
// step (the last step of W). tallies(transition, item) must hold
// block_items_per_transition(tokens, settings.tokens_per_item) items per
// transition, magnitudes(transition, token) the block's tokens.
// Every row is counted in its regime (kCountFrozenRows ..); `events`, when
// not empty (sized like magnitudes), receives each row's RowEvents.
int64_t block_items_per_transition(int64_t tokens, int64_t tokens_per_item);

void analyze_block(const BlockValues& values, const TokenFlags& dead, bool includes_final_step,
                   const KernelSettings& settings, const ItemTallies& tallies, const RowMagnitudes& magnitudes,
                   const RowEventViews& events = RowEventViews());

// A block of steps of any element format: `data` (in the kernel's memory)
// holds (steps, tokens, dims) values of `type`, each row contiguous, steps
// `step_stride` values apart.
struct RawBlockValues {
  const void* data = nullptr;
  int64_t steps = 0;
  int64_t step_stride = 0;
  int64_t tokens = 0;
  int64_t dims = 0;
  formats::ElementType type = formats::ElementType::bf16;
};

struct NearZeroBlockOutputs;  // kokkos_kernels/near_zero.hpp

// The one dispatch point from the runtime element type to the kernel: bf16
// through analyze_block (its lattice lanes), the others through the exact
// rules of formats/lattice_rules.hpp coordinate by coordinate (the exact
// arithmetic only). Arguments as analyze_block. With `near_zero`, the same
// pass also fills the near-zero breakdown of the block (docs/definitions.md
// §19, always on the exact x), sized for tallies' work items.
void analyze_raw_block(const RawBlockValues& block, const TokenFlags& dead, bool includes_final_step,
                       const KernelSettings& settings, const ItemTallies& tallies, const RowMagnitudes& magnitudes,
                       const RowEventViews& events = RowEventViews(), NearZeroBlockOutputs* near_zero = nullptr);

// The same kernel on the host execution space (for device/host comparisons).
using HostSpace = Kokkos::DefaultHostExecutionSpace;
void analyze_block_on_host(const BlockViews<HostSpace>::Values& values, const BlockViews<HostSpace>::Flags& dead,
                           bool includes_final_step, const KernelSettings& settings,
                           const BlockViews<HostSpace>::Tallies& tallies,
                           const BlockViews<HostSpace>::Magnitudes& magnitudes,
                           const MotionViews<HostSpace>::Events& events = MotionViews<HostSpace>::Events());

}  // namespace latdisp
