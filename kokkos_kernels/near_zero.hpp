// The near-zero kernel (docs/definitions.md §19): one pass over a step block,
// apart from the displacement kernel, that sorts every coordinate's exact x
// by where it started (the binade of b = W[t]) and by how it met zero (sign
// change, from zero, to zero), for every element format.
#pragma once

#include <Kokkos_Core.hpp>
#include <Kokkos_ScatterView.hpp>

#include <cstdint>

#include "kokkos_kernels/block_analysis.hpp"
#include "kokkos_kernels/near_zero_tally.hpp"

namespace latdisp {

struct NearZeroViews {
  using Memory = DeviceMemory;
  // bins(population, start bin, BinField): counts.
  using Bins = Kokkos::View<int64_t***, Kokkos::LayoutRight, Memory>;
  // kinds(population, transition, f): f < kZeroKinds the coordinates of kind f,
  // f = kZeroKinds + k those of kind k with |x| > 1024.
  using Kinds = Kokkos::View<int64_t***, Kokkos::LayoutRight, Memory>;
  // maxima(population, i): the bits of the largest |x| (a non-negative double)
  // of start bin i < kStartBins, then of kind i - kStartBins; 0 if none.
  using Maxima = Kokkos::View<uint64_t**, Kokkos::LayoutRight, Memory>;
  // items(transition, item): the exact sums of |x|.
  using Items = Kokkos::View<NearZeroItem**, Kokkos::LayoutRight, Memory>;
};
constexpr int kKindFields = 2 * kZeroKinds;
constexpr int kMaximaSlots = kStartBins + kZeroKinds;

// The near-zero outputs of one step block, allocated once for the largest
// block; every run overwrites them (the first `transitions` rows of kinds
// and items, all of bins and maxima).
struct NearZeroBlockOutputs {
  NearZeroBlockOutputs(int64_t max_transitions, int64_t items_per_transition);
  NearZeroViews::Bins bins;
  NearZeroViews::Kinds kinds;
  NearZeroViews::Maxima maxima;
  NearZeroViews::Items items;
};

// Work items of the near-zero kernel per transition (its own, coarser than
// the displacement kernel's: its sums are wider).
int64_t near_zero_items_per_transition(int64_t tokens);

// Runs the kernel over every transition of `block` (the displacement
// kernel's block; any element format), under `settings`' epsilon and zero
// rule (always the exact arithmetic).
void near_zero_block(const RawBlockValues& block, const TokenFlags& dead, const KernelSettings& settings,
                     NearZeroBlockOutputs& outputs);

}  // namespace latdisp
