// The bit-level commands (inspect, separation) over every element format
// (docs/definitions.md §17): a pattern held as uint32 whatever its width, and
// the lattice rules of its format chosen once at run time, so the commands
// are written once for all formats.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "kokkos_kernels/formats/element_format.hpp"

namespace latdisp {

// The fields and lattice rules of one format, for patterns widened to uint32.
struct PatternRules {
  formats::ElementType type = formats::ElementType::bf16;
  int total_bits = 16, exponent_bits = 8, mantissa_bits = 7;
  int (*sign)(uint32_t) = nullptr;
  int (*exponent)(uint32_t) = nullptr;
  int64_t (*mantissa)(uint32_t) = nullptr;
  bool (*is_nan)(uint32_t) = nullptr;
  bool (*is_finite)(uint32_t) = nullptr;
  int64_t (*position)(uint32_t) = nullptr;  // Lattice<F>::lattice_position (finite values; Inf one past)
  double (*value)(uint32_t) = nullptr;      // the exact value of a finite pattern
};

inline PatternRules pattern_rules(formats::ElementType type) {
  return formats::dispatch_element_type(type, [type](auto traits) {
    using F = decltype(traits);
    using L = formats::Lattice<F>;
    using B = typename F::bits_type;
    PatternRules r;
    r.type = type;
    r.total_bits = F::total_bits;
    r.exponent_bits = F::exponent_bits;
    r.mantissa_bits = F::mantissa_bits;
    r.sign = [](uint32_t b) { return L::sign_bit(B(b)); };
    r.exponent = [](uint32_t b) { return L::exponent_field(B(b)); };
    r.mantissa = [](uint32_t b) { return int64_t(L::mantissa_field(B(b))); };
    r.is_nan = [](uint32_t b) { return L::is_nan(B(b)); };
    r.is_finite = [](uint32_t b) { return L::is_finite(B(b)); };
    r.position = [](uint32_t b) { return L::lattice_position(B(b)); };
    r.value = [](uint32_t b) { return L::to_double(B(b)); };
    return r;
  });
}

// Elements of `element_bytes` (1, 2 or 4, native order, as the readers give
// them) widened to uint32 patterns.
inline std::vector<uint32_t> widen_patterns(const std::vector<unsigned char>& bytes, int element_bytes) {
  std::vector<uint32_t> out(bytes.size() / static_cast<size_t>(element_bytes));
  for (size_t i = 0; i < out.size(); ++i) {
    const unsigned char* at = bytes.data() + i * static_cast<size_t>(element_bytes);
    if (element_bytes == 1) {
      out[i] = at[0];
    } else if (element_bytes == 2) {
      uint16_t v;
      std::memcpy(&v, at, 2);
      out[i] = v;
    } else {
      std::memcpy(&out[i], at, 4);
    }
  }
  return out;
}

}  // namespace latdisp
