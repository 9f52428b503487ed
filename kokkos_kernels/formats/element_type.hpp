// The element formats latdisp reads, as a runtime value and as traits types
// (docs/definitions.md §17): the traits (bits type, exponent
// width, bias, stored mantissa bits, specials), ElementType, its names and
// sizes, and the one dispatch point from a runtime type to a templated pass.
// Free of Kokkos, so that the readers (io/) can name a format; the lattice
// rules over the traits are in element_format.hpp.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace latdisp {
namespace formats {

// How a format encodes what is not finite.
enum class Specials : int {
  ieee,        // the all-ones exponent field is Inf (mantissa 0) or NaN
  nan_only_fn  // OCP "FN": no Inf; only S.1..1.1..1 is NaN, the top binade is normal
};

// --- the traits ---------------------------------------------------------------
struct BF16 {
  using bits_type = uint16_t;
  static constexpr int total_bits = 16, exponent_bits = 8, bias = 127, mantissa_bits = 7;
  static constexpr Specials specials = Specials::ieee;
  static constexpr const char* name = "bf16";
};
struct F16 {
  using bits_type = uint16_t;
  static constexpr int total_bits = 16, exponent_bits = 5, bias = 15, mantissa_bits = 10;
  static constexpr Specials specials = Specials::ieee;
  static constexpr const char* name = "f16";
};
struct F32 {
  using bits_type = uint32_t;
  static constexpr int total_bits = 32, exponent_bits = 8, bias = 127, mantissa_bits = 23;
  static constexpr Specials specials = Specials::ieee;
  static constexpr const char* name = "f32";
};
struct F8E4M3 {  // OCP E4M3FN
  using bits_type = uint8_t;
  static constexpr int total_bits = 8, exponent_bits = 4, bias = 7, mantissa_bits = 3;
  static constexpr Specials specials = Specials::nan_only_fn;
  static constexpr const char* name = "f8e4m3";
};
struct F8E5M2 {  // OCP E5M2
  using bits_type = uint8_t;
  static constexpr int total_bits = 8, exponent_bits = 5, bias = 15, mantissa_bits = 2;
  static constexpr Specials specials = Specials::ieee;
  static constexpr const char* name = "f8e5m2";
};

// --- the runtime element type -------------------------------------------------------
enum class ElementType : int { bf16 = 0, f16 = 1, f32 = 2, f8e4m3 = 3, f8e5m2 = 4 };
constexpr int kElementTypeCount = 5;

// The one dispatch point: calls `f(Traits{})` with the traits type of `type`.
template <class Function>
decltype(auto) dispatch_element_type(ElementType type, Function&& f) {
  switch (type) {
    case ElementType::bf16: return f(BF16{});
    case ElementType::f16: return f(F16{});
    case ElementType::f32: return f(F32{});
    case ElementType::f8e4m3: return f(F8E4M3{});
    case ElementType::f8e5m2: return f(F8E5M2{});
  }
  throw std::logic_error("latdisp: unknown element type");
}

// "bf16", "f16", "f32", "f8e4m3", "f8e5m2".
inline std::string element_type_name(ElementType type) {
  return dispatch_element_type(type, [](auto traits) { return std::string(decltype(traits)::name); });
}
inline int element_bytes(ElementType type) {
  return dispatch_element_type(type, [](auto traits) { return decltype(traits)::total_bits / 8; });
}
// The ElementType named `name` (a name of element_type_name); false if none.
inline bool parse_element_type(const std::string& name, ElementType& type) {
  for (int i = 0; i < kElementTypeCount; ++i) {
    if (element_type_name(static_cast<ElementType>(i)) == name) {
      type = static_cast<ElementType>(i);
      return true;
    }
  }
  return false;
}
// "bf16, f16, f32, f8e4m3, f8e5m2", for messages and --help.
inline std::string element_type_names() {
  std::string names;
  for (int i = 0; i < kElementTypeCount; ++i) {
    if (i > 0) names += ", ";
    names += element_type_name(static_cast<ElementType>(i));
  }
  return names;
}

}  // namespace formats
}  // namespace latdisp
