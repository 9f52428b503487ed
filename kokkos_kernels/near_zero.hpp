// The near-zero breakdown's outputs of one step block (docs/definitions.md
// §19): every coordinate's exact x sorted by where it started (the binade of
// b = W[t]) and by how it met zero (sign change, from zero, to zero), for
// every element format. The displacement kernel fills them in its one pass
// over the block (analyze_raw_block, kokkos_kernels/near_zero_fold.hpp).
#pragma once

#include <Kokkos_Core.hpp>

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
  // items(transition, item): the exact sums of |x| of each of the
  // displacement kernel's work items.
  using Items = Kokkos::View<NearZeroItem**, Kokkos::LayoutRight, Memory>;
};
constexpr int kKindFields = 2 * kZeroKinds;
constexpr int kMaximaSlots = kStartBins + kZeroKinds;

// The near-zero outputs of one step block, allocated once for the largest
// block; every kernel run that is given them overwrites them (the first
// `transitions` rows of kinds and items, all of bins and maxima).
struct NearZeroBlockOutputs {
  // items_per_transition: the kernel's (block_items_per_transition).
  NearZeroBlockOutputs(int64_t max_transitions, int64_t items_per_transition);
  NearZeroViews::Bins bins;
  NearZeroViews::Kinds kinds;
  NearZeroViews::Maxima maxima;
  NearZeroViews::Items items;
};

}  // namespace latdisp
