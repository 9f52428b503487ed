// The save kernels (docs/formats.md §8 and §19). For a block of steps of any
// element format: each coordinate's integer x in the saved integer type (0
// where x is an exception), the ULP of W[t] as bits of the input's format and
// the exponent crossing; and the exceptions themselves, with x correctly
// rounded and their kind. One implementation templated on the format traits
// (formats/element_type.hpp), instantiated through dispatch_element_type.
#pragma once

#include <Kokkos_Core.hpp>

#include <cstdint>

#include "kokkos_kernels/block_analysis.hpp"
#include "kokkos_kernels/formats/element_format.hpp"

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

// The encoded outputs of one coordinate: its integer, crossing and ULP (in
// the input's element format, `element_bytes` wide).
constexpr uint64_t encoded_bytes_per_coordinate(int integer_bytes, int element_bytes) {
  return static_cast<uint64_t>(integer_bytes) + 1 + static_cast<uint64_t>(element_bytes);
}

template <class T>
using BlockArray = Kokkos::View<T***, Kokkos::LayoutRight, DeviceMemory>;

struct EncodedBlock {
  // (transitions, tokens, dims) integers of the saved width, packed from the
  // start of this storage (room for int64 ones).
  Kokkos::View<int64_t*, DeviceMemory> integers;
  BlockArray<uint8_t> crossed;  // (transitions, tokens, dims) 0/1
  // (steps, tokens, dims) ULPs as bits of the input's format, packed from the
  // start of these 32-bit words (1, 2 or 4 bytes each).
  Kokkos::View<uint32_t*, DeviceMemory> ulps;
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

// The quiet NaN pattern of format F: the IEEE formats' all-ones exponent
// with the top mantissa bit, E4M3FN's S.1111.111 (its only NaN).
template <class F>
KOKKOS_INLINE_FUNCTION constexpr typename F::bits_type nan_bits() {
  using L = formats::Lattice<F>;
  return static_cast<typename F::bits_type>(F::specials == formats::Specials::nan_only_fn
                                                ? L::magnitude_mask
                                                : (L::exponent_mask << F::mantissa_bits) |
                                                      (uint32_t(1) << (F::mantissa_bits - 1)));
}

// The pattern of format F holding 2^k, for k from the smallest subnormal's
// exponent to the largest ULP's (every ULP of F is one of F's values).
template <class F>
KOKKOS_INLINE_FUNCTION typename F::bits_type power_of_two_bits(int k) {
  using L = formats::Lattice<F>;
  return static_cast<typename F::bits_type>(k >= 1 - F::bias ? uint32_t(k + F::bias) << F::mantissa_bits
                                                             : uint32_t(1) << (k - L::min_scale));
}

// U(b) as bits of format F for the exact arithmetic (NaN bits if undefined).
template <class F>
KOKKOS_INLINE_FUNCTION typename F::bits_type format_ulp_bits(typename F::bits_type b, formats::ZeroUlp zero_rule) {
  using L = formats::Lattice<F>;
  if (!L::is_finite(b)) return nan_bits<F>();
  return power_of_two_bits<F>(L::ulp_exponent(b, zero_rule));
}

// ULP of b as bfloat16 bits for the driving arithmetic (NaN bits if undefined).
KOKKOS_INLINE_FUNCTION uint16_t ulp_bits(uint16_t b, const KernelSettings& settings) {
  if (settings.arithmetic == Arithmetic::seed) return bf16::seed_ulp(b);
  return format_ulp_bits<formats::BF16>(b, static_cast<formats::ZeroUlp>(static_cast<int>(settings.zero_ulp)));
}

// Fills `out` for values' steps 0 .. steps-1 (in the kernel's memory; rows
// contiguous), its views sized for at least that block, and `table` with the
// block's exceptions (rows [0, table.count)), indexed in W from `first_step`
// and `first_token`, ordered by step, then token, then dim.
// `integer_width` is the saved bf16::IntegerWidth (kInt8 .. kInt64). The
// seed arithmetic is bf16's only.
void encode_block(const RawBlockValues& values, const KernelSettings& settings, bf16::IntegerWidth integer_width,
                  int64_t first_step, int64_t first_token, const EncodedBlock& out, ExceptionTable& table);

// The same for a block of bfloat16 bits.
void encode_block(const BlockValues& values, const KernelSettings& settings, bf16::IntegerWidth integer_width,
                  int64_t first_step, int64_t first_token, const EncodedBlock& out, ExceptionTable& table);

}  // namespace latdisp
