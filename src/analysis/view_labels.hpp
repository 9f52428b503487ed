// How the analysis allocates its Views: labelled, and left uninitialized
// where the first kernel or copy writes every element anyway (the largest of
// those in huge pages on the host).
#pragma once

#include <Kokkos_Core.hpp>

#include <cstdlib>
#include <memory>
#include <string>
#include <type_traits>

#include "parallel/huge_pages.hpp"

namespace latdisp {

inline auto uninitialized(const char* label) {
  return Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label));
}

// The memory under a View that host_pages_view allocated (empty where
// Kokkos did): the View is valid while this is kept.
using HostPages = std::shared_ptr<void>;

// An uninitialized View that a kernel writes all over before anything reads
// it (a step block's tallies, row magnitudes and row events). In host memory
// from 1 MiB up, whole huge pages (parallel/huge_pages.hpp), held by `pages`:
// the first block's kernel then faults once per 2 MiB, not once per 4 KiB
// (a fault costs microseconds in a virtual machine: at two ranks, where an
// FP8 block holds twice bf16's steps, that was a fifth of the FP8 kernel).
// Smaller Views, and Views in other memory spaces: Kokkos's allocation (the
// host ones are unmanaged Views, without a label for Kokkos' tools).
template <class View, class... Extents>
View host_pages_view(const char* label, HostPages& pages, Extents... extents) {
  constexpr size_t kMinBytes = size_t(1) << 20;  // bounds the rounding's waste
  if constexpr (std::is_same<typename View::memory_space, Kokkos::HostSpace>::value) {
    const size_t bytes = View::required_allocation_size(static_cast<size_t>(extents)...);
    if (bytes >= kMinBytes) {
      void* memory = allocate_huge_pages(bytes);
      pages = HostPages(memory, std::free);
      return View(static_cast<typename View::pointer_type>(memory), static_cast<size_t>(extents)...);
    }
  }
  pages.reset();
  return View(uninitialized(label), static_cast<size_t>(extents)...);
}

}  // namespace latdisp
