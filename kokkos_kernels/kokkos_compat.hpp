// The few spots where Kokkos 3.4 (Debian's Trilinos) and Kokkos 4.x differ.
#pragma once

#include <Kokkos_Core.hpp>

#include <cstdint>

namespace latdisp {
namespace kmath {

#if KOKKOS_VERSION >= 40000
KOKKOS_INLINE_FUNCTION double sqrt(double x) { return Kokkos::sqrt(x); }
#else
KOKKOS_INLINE_FUNCTION double sqrt(double x) { return Kokkos::Experimental::sqrt(x); }
#endif

// floor for float32 without a math library call: exact for every float.
KOKKOS_INLINE_FUNCTION float floor(float x) {
  if (!(x - x == 0.0f)) return x;                     // Inf, NaN
  if (x >= 8388608.0f || x <= -8388608.0f) return x;  // already an integer
  const float truncated = static_cast<float>(static_cast<int32_t>(x));
  return truncated > x ? truncated - 1.0f : truncated;
}

// The index of the lowest set bit of x != 0.
KOKKOS_INLINE_FUNCTION int lowest_set_bit(uint64_t x) {
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
  return __ffsll(static_cast<long long>(x)) - 1;
#else
  return __builtin_ctzll(x);
#endif
}

}  // namespace kmath
}  // namespace latdisp
