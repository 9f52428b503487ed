// Huge pages for buffers that grow to megabytes and are then written all
// over (the distinct magnitudes' tables, the kept magnitude keys, the
// optimizer audit's blocks): filling one faults once per 2 MiB instead of
// once per 4 KiB page (a page fault costs microseconds in a virtual machine).
// Advice only: where the system has no transparent huge pages, ordinary
// pages, and nothing else changes.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

namespace latdisp {

constexpr size_t kHugePageBytes = size_t(2) << 20;

// Advises the whole huge pages inside [data, data + bytes).
inline void advise_huge_pages(void* data, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + kHugePageBytes - 1) & ~(kHugePageBytes - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(kHugePageBytes - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)data;
  (void)bytes;
#endif
}

// `bytes` rounded up to whole huge pages, aligned to one and advised;
// released with std::free.
inline void* allocate_huge_pages(size_t bytes) {
  const size_t rounded = (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
  void* p = std::aligned_alloc(kHugePageBytes, rounded);
  if (p == nullptr) throw std::bad_alloc();
  advise_huge_pages(p, rounded);
  return p;
}

// Allocations of kMinBytes or more are whole huge pages, aligned to one and
// advised; smaller ones are std::allocator's. kMinBytes bounds the rounding's
// waste (under a half with 4 MiB). Values are initialized as std::allocator's are.
template <class T, size_t kMinBytes = kHugePageBytes>
struct HugePageAllocator {
  static_assert(kMinBytes >= kHugePageBytes, "huge-page allocations are at least one huge page");
  using value_type = T;
  template <class U>
  struct rebind {
    using other = HugePageAllocator<U, kMinBytes>;
  };

  HugePageAllocator() = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U, kMinBytes>&) noexcept {}

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kMinBytes) return std::allocator<T>().allocate(n);
    return static_cast<T*>(allocate_huge_pages(bytes));
  }
  void deallocate(T* p, size_t n) noexcept {
    if (n * sizeof(T) < kMinBytes)
      std::allocator<T>().deallocate(p, n);
    else
      std::free(p);
  }
  template <class U>
  bool operator==(const HugePageAllocator<U, kMinBytes>&) const noexcept {
    return true;
  }
  template <class U>
  bool operator!=(const HugePageAllocator<U, kMinBytes>&) const noexcept {
    return false;
  }
};

template <class T>
using HugePageVector = std::vector<T, HugePageAllocator<T>>;

}  // namespace latdisp
