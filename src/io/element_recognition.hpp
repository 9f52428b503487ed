// Which element format a stored tensor holds (docs/formats.md, "Element
// formats"): from a safetensors dtype, or from an HDF5 type and its `dtype`
// attribute, and the `--element-type` override for integer storage. What is
// none of the formats is refused with one message naming what was found.
#pragma once

#include <optional>
#include <string>

#include "kokkos_kernels/formats/element_type.hpp"

namespace latdisp {

using formats::ElementType;

// What a command asks of the element type of its input.
struct ElementRequest {
  // --element-type: the format of integer storage (it overrides a `dtype`
  // attribute); a float container must be of this format.
  std::optional<ElementType> element_type;
  // false: the command reads bf16 only, and any other format is refused.
  bool any_format = false;
};

// The format of a safetensors tensor of `dtype`: BF16, F16, F32, F8_E4M3,
// F8_E5M2; U16/I16 hold bf16 bits unless `request` says f16; U8/I8 need
// the request's 8-bit format. Throws Error(kExitInput) naming `what`.
ElementType safetensors_element_type(const std::string& dtype, const std::string& what, const ElementRequest& request);

// The format of integer storage of `bits` bits (8, 16, ...; `storage` names
// it, "uint16") with the declared `dtype` attribute (empty if none):
// 16 bits: bf16 unless declared or requested otherwise; 8 bits: what is
// declared or requested. Throws Error(kExitInput).
ElementType integer_element_type(int bits, const std::string& storage, const std::string& declared,
                                 const std::string& what, const ElementRequest& request);

// For a float container of format `found`: throws Error(kExitInput) if the
// request names another format.
void require_float_matches(ElementType found, const std::string& storage, const std::string& what,
                           const ElementRequest& request);

// For a float container of format `found` (`storage` names its type) with
// the `dtype` attribute `declared` (empty if none): throws
// Error(kExitInput) if it declares another format or an FNUZ variant.
// Declarations that name no format are left to the container's type.
void require_declared_matches(ElementType found, const std::string& storage, const std::string& declared,
                              const std::string& what);

// Throws Error(kExitInput) for a command that reads bf16 only when `type` is
// another format; `stored` says how ("dtype F32", "type float16").
void require_requested_format(ElementType type, const std::string& what, const std::string& stored,
                              const ElementRequest& request);

}  // namespace latdisp
