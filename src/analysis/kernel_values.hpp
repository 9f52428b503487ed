// A part of a step block as the kernels read it (docs/architecture.md §4,
// "Step blocks"): on a host backend the stream's values in place (its buffer,
// the mapped file, or the staging buffer of direct reads); where the device
// has memory of its own, copied first into one device buffer, the only
// buffer of values the analysis and the save pass allocate themselves.
#pragma once

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <utility>

#include "analysis/view_labels.hpp"
#include "io/step_stream.hpp"
#include "kokkos_kernels/block_analysis.hpp"

namespace latdisp {

class KernelValues {
 public:
  // Room on the device for `max_steps` steps of `tokens` x `dims` values of
  // `type` (none on a host backend).
  KernelValues(const char* label, int64_t max_steps, int64_t tokens, int64_t dims, formats::ElementType type)
      : m_tokens(tokens),
        m_dims(dims),
        m_type(type),
        m_device(uninitialized(label), kSeparateDeviceMemory ? static_cast<size_t>(max_steps * step_bytes()) : 0) {}

  // The part's values where the kernel reads them. Where the device has its
  // own memory, the part is the stream's whole read block (blocks are neither
  // mapped nor direct there): contiguous steps, copied.
  RawBlockValues operator()(const StepPart& part) const {
    RawBlockValues block;
    block.steps = part.steps;
    block.tokens = m_tokens;
    block.dims = m_dims;
    block.type = m_type;
    block.data = part.values;
    block.step_stride = part.step_stride;
    if (kSeparateDeviceMemory) {
      const std::pair<size_t, size_t> bytes(0, static_cast<size_t>(part.steps * step_bytes()));
      const Kokkos::View<const uint8_t*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> host(
          static_cast<const uint8_t*>(part.values), bytes.second);
      Kokkos::deep_copy(Kokkos::subview(m_device, bytes), host);
      block.data = m_device.data();
    }
    return block;
  }

 private:
  int64_t step_bytes() const { return m_tokens * m_dims * formats::element_bytes(m_type); }

  int64_t m_tokens, m_dims;
  formats::ElementType m_type;
  Kokkos::View<uint8_t*, DeviceMemory> m_device;
};

}  // namespace latdisp
