// A vector whose new elements of trivial types are left uninitialized: for
// buffers that are always written before they are read (the audit's step
// blocks and chunk outcomes), so that growing one costs no zero fill. Those
// of 4 MiB or more are in huge pages (parallel/huge_pages.hpp): a block's
// first read then takes one page fault per 2 MiB, not per 4 KiB.
#pragma once

#include <new>
#include <utility>
#include <vector>

#include "parallel/huge_pages.hpp"

namespace latdisp {

template <class T>
struct UninitializedAllocator : HugePageAllocator<T, 2 * kHugePageBytes> {
  template <class U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };

  UninitializedAllocator() = default;
  template <class U>
  UninitializedAllocator(const UninitializedAllocator<U>&) noexcept {}

  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;  // default-initialized: no value for a trivial type
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

template <class T>
using UninitializedBuffer = std::vector<T, UninitializedAllocator<T>>;

}  // namespace latdisp
