// The few spots where Kokkos 3.4 (Debian's Trilinos) and Kokkos 4.x differ.
#pragma once

#include <Kokkos_Core.hpp>

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

}  // namespace kmath
}  // namespace latdisp
