// The save kernels (docs/formats.md, saved tensors). For a block of steps:
// each coordinate's integer x in the saved integer type (0 where x is an
// exception), the ULP of W[t] as bfloat16 bits and the exponent crossing; and
// the exceptions themselves, with x correctly rounded and their kind.
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

// The encoded outputs of one coordinate: its integer, crossing and ULP.
constexpr uint64_t encoded_bytes_per_coordinate(int integer_bytes) {
  return static_cast<uint64_t>(integer_bytes) + 1 + 2;
}

template <class T>
using BlockArray = Kokkos::View<T***, Kokkos::LayoutRight, DeviceMemory>;

struct EncodedBlock {
  // (transitions, tokens, dims) integers of the saved width, packed from the
  // start of this storage (room for int64 ones).
  Kokkos::View<int64_t*, DeviceMemory> integers;
  BlockArray<uint8_t> crossed;  // (transitions, tokens, dims) 0/1
  BlockArray<uint16_t> ulps;    // (steps, tokens, dims) bf16 bits
};

// A block's exceptions, rows [0, count) used. Allocated when made (a View
// default-constructed and assigned later crashes with some Kokkos 4
// snapshots); encode_block replaces it by a larger one as needed.
struct ExceptionTable {
  explicit ExceptionTable(int64_t capacity);
  KOKKOS_INLINE_FUNCTION int64_t capacity() const { return static_cast<int64_t>(kind.extent(0)); }

  Kokkos::View<int64_t* [3], Kokkos::LayoutRight, DeviceMemory> index;  // step, token, dim (of W)
  Kokkos::View<double*, DeviceMemory> value;                            // x correctly rounded, NaN if undefined
  Kokkos::View<int8_t*, DeviceMemory> kind;                             // ExceptionKind
  int64_t count = 0;
};

// ULP of b as bfloat16 bits for the driving arithmetic (NaN bits if undefined).
KOKKOS_INLINE_FUNCTION uint16_t ulp_bits(uint16_t b, const KernelSettings& settings) {
  if (settings.arithmetic == Arithmetic::seed) return bf16::seed_ulp(b);
  if (!bf16::is_finite(b)) return 0x7FC0;
  const int k = bf16::ulp_exponent(b, settings.zero_ulp);  // in [-133, 120]
  return k >= -126 ? static_cast<uint16_t>((k + 127) << 7) : static_cast<uint16_t>(1u << (k + 133));
}

// Fills `out` for values(0 .. steps-1), its views sized for at least that
// block, and `table` with the block's exceptions (rows [0, table.count)),
// indexed in W from `first_step` and `first_token`, ordered by step, then
// token, then dim. `integer_width` is the saved bf16::IntegerWidth (kInt8 ..
// kInt64).
void encode_block(const BlockValues& values, const KernelSettings& settings, bf16::IntegerWidth integer_width,
                  int64_t first_step, int64_t first_token, const EncodedBlock& out, ExceptionTable& table);

}  // namespace latdisp
