// The save kernel: for a block of steps, each coordinate's integer x in the
// chosen dtype (or the kind of exception that keeps it out of the dense
// array), the ULP of W[t] as bfloat16 bits, and the exponent crossing.
#pragma once

#include <Kokkos_Core.hpp>

#include <cstdint>

#include "kokkos_kernels/block_analysis.hpp"

namespace latdisp {

// Why a coordinate is not (only) in the dense integer array.
enum ExceptionKind : uint8_t {
  kNoException = 0,
  kExceptionAlmost = 1,  // classes of docs/definitions.md §5
  kExceptionHalf = 2,
  kExceptionNonInteger = 3,
  kExceptionNonfinite = 4,
  kExceptionOutOfRange = 5,  // an integer the dtype cannot hold
};

struct EncodedBlock {
  Kokkos::View<int64_t***, Kokkos::LayoutRight, DeviceMemory> integers;  // (transitions, tokens, dims)
  Kokkos::View<uint8_t***, Kokkos::LayoutRight, DeviceMemory> kinds;     // ExceptionKind
  Kokkos::View<uint8_t***, Kokkos::LayoutRight, DeviceMemory> crossed;   // 0/1
  Kokkos::View<uint16_t***, Kokkos::LayoutRight, DeviceMemory> ulps;     // (steps, tokens, dims) bf16 bits
};

// ULP of b as bfloat16 bits for the driving arithmetic (NaN bits if undefined).
KOKKOS_INLINE_FUNCTION uint16_t ulp_bits(uint16_t b, const KernelSettings& settings) {
  if (settings.arithmetic == Arithmetic::seed) return bf16::seed_ulp(b);
  if (!bf16::is_finite(b)) return 0x7FC0;
  const int k = bf16::ulp_exponent(b, settings.zero_ulp);  // in [-133, 120]
  return k >= -126 ? static_cast<uint16_t>((k + 127) << 7) : static_cast<uint16_t>(1u << (k + 133));
}

// Fills `out` for values(0 .. steps-1); `integer_width` is the dtype's
// bf16::IntegerWidth (kInt8 .. kInt64).
void encode_block(const BlockValues& values, const KernelSettings& settings, int integer_width,
                  const EncodedBlock& out);

}  // namespace latdisp
