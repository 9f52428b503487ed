// How the analysis allocates its Views: labelled, and left uninitialized
// where the first kernel or copy writes every element anyway.
#pragma once

#include <Kokkos_Core.hpp>

#include <string>

namespace latdisp {

inline auto uninitialized(const char* label) {
  return Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label));
}

}  // namespace latdisp
