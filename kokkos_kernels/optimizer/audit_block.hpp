// The optimizer audit's per-coordinate kernel (docs/optimizer.md §4): for
// every coordinate of every step of a block, the intended update u, the
// realized Delta, the intended cells c, the class, and the replay of the
// update rule compared bit for bit with the recorded tensors. Views in, one
// outcome per coordinate out: no files, no MPI.
#pragma once

#include <Kokkos_Core.hpp>

#include <cstdint>

#include "kokkos_kernels/optimizer/adamw_rules.hpp"

namespace latdisp {
namespace optimizer {

// The classes of a coordinate, first match (docs/optimizer.md §4).
enum CoordinateClass : uint8_t {
  kStill = 0,
  kSwallowed,
  kSpurious,
  kReversed,
  kAmplified,
  kAttenuated,
  kExact,
  kNonfinite,
  kClassCount
};

// Outcome flags.
enum : uint32_t {
  kSubHalfCell = 1u << 0,     // 0 < |c| < 1/2
  kMoved = 1u << 1,           // Delta != 0 (finite)
  kDecayEligible = 1u << 2,   // finite W[t-1] != 0 in a step with lr*wd != 0
  kDecayNoop = 1u << 3,       // ... that the decay operation left bit-identical
  kMismatchW = 1u << 4,
  kMismatchExpAvg = 1u << 5,
  kMismatchExpAvgSq = 1u << 6,
  kHalfCellOrMore = 1u << 7,  // finite c with |c| >= 1/2
  kExpAvgShift = 8,           // 2 bits: 0 unchanged, 1 increased, 2 decreased, 3 not finite
  kExpAvgSqShift = 10,
  kClassShift = 12            // the class, one bit each: bit kClassShift + class
};

KOKKOS_FORCEINLINE_FUNCTION constexpr uint32_t class_flag(uint32_t cls) { return 1u << (kClassShift + cls); }

struct CoordinateOutcome {
  double u;      // intended update (double)
  double delta;  // realized update, correctly rounded to double
  double cells;  // |c| = |u| / U(W[t-1]) (0 when u == 0)
  uint32_t flags;
  uint8_t cls;
};

// A chunk's outcomes, one array per field (coordinate k of the chunk at
// index k), so the kernel's loop over a row's coordinates vectorises and the
// fold reads each field as a flat array. flags hold the class (class_flag).
struct ChunkOutcomes {
  Kokkos::View<double*, Kokkos::MemoryTraits<Kokkos::Unmanaged>> u, delta, cells;
  Kokkos::View<uint32_t*, Kokkos::MemoryTraits<Kokkos::Unmanaged>> flags;
};

// The settings of one audit, the same for every step.
struct AuditSettings {
  UpdateRule rule = UpdateRule::torch_lerp;
  TorchCapability capability = TorchCapability::avx2;
  int torch_threads = 1;
  int64_t tokens = 0;       // N of the whole tensor (the torch parameter's rows)
  int64_t first_token = 0;  // this slab's first token
  int64_t dims = 0;
};

// One block: `steps` + 1 consecutive snapshots t0 .. t0 + steps of the slab
// (C order: step, token, dim), the scalars of the block's steps 1 .. steps
// (entry i for snapshot t0 + 1 + i). Audits rows (i, n) = first_row ..
// first_row + rows - 1 of the block (row = i * slab + n) and writes the
// outcome of (row, d) at index (row - first_row) * dims + d: the caller folds
// a chunk of rows while its outcomes are still in cache. Each row runs one
// flat, branch-free loop over its coordinates (the vector lanes of torch's
// loops); only the elements of torch-mul-add's scalar tails take the general
// per-element path (docs/optimizer.md §5).
template <class F>
void audit_block(const AuditSettings& settings, int64_t first_row, int64_t rows, int64_t slab_tokens,
                 Kokkos::View<const typename F::bits_type*> w, Kokkos::View<const typename F::bits_type*> grad,
                 Kokkos::View<const typename F::bits_type*> exp_avg,
                 Kokkos::View<const typename F::bits_type*> exp_avg_sq, Kokkos::View<const StepScalars*> scalars,
                 const ChunkOutcomes& outcome);

// The intended cells alone, for the percentiles' second pass over the
// blocks (docs/optimizer.md §5): rows as audit_block's, from W, exp_avg and
// exp_avg_sq only; cells[(row - first_row) * dims + d] is the |c| that
// audit_block gives the coordinate where its u != 0, and -1 where u == 0 (no
// key). The same operations as audit_block's accounting, in the same order.
template <class F>
void block_cells(const AuditSettings& settings, int64_t first_row, int64_t rows, int64_t slab_tokens,
                 Kokkos::View<const typename F::bits_type*> w, Kokkos::View<const typename F::bits_type*> exp_avg,
                 Kokkos::View<const typename F::bits_type*> exp_avg_sq, Kokkos::View<const StepScalars*> scalars,
                 Kokkos::View<double*, Kokkos::MemoryTraits<Kokkos::Unmanaged>> cells);

// The accounting of `count` consecutive coordinates (a row's), as
// audit_block makes it: coordinate d's u, Delta, |c| and flags as
// account_flat gives them, its replay flags (flags[d] on entry) kept beside
// them, kDecayNoop only where the decay is eligible. bf16 coordinates go
// sixteen at a time through AVX-512 registers where the host has them
// (accounting_avx512.hpp); the same results (exposed for the tests). Host
// and device code: the AVX-512 part is compiled for the host only.
template <class F>
KOKKOS_FUNCTION void account_coordinates(const typename F::bits_type* w0, const typename F::bits_type* w1,
                         const typename F::bits_type* m0, const typename F::bits_type* m1,
                         const typename F::bits_type* v0, const typename F::bits_type* v1, int64_t count,
                         const StepScalars& s, double* u, double* delta, double* cells, uint32_t* flags);

// The per-coordinate accounting of one coordinate (exposed for the tests).
template <class F>
KOKKOS_INLINE_FUNCTION CoordinateOutcome account_coordinate(typename F::bits_type w0, typename F::bits_type w1,
                                                            typename F::bits_type m0, typename F::bits_type m1,
                                                            typename F::bits_type v0, typename F::bits_type v1,
                                                            const StepScalars& s);

}  // namespace optimizer
}  // namespace latdisp

#include "kokkos_kernels/optimizer/coordinate_accounting.hpp"
