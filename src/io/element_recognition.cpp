#include "io/element_recognition.hpp"

#include "parallel/errors.hpp"

namespace latdisp {

namespace {

std::string width_text(ElementType type) { return std::to_string(8 * formats::element_bytes(type)) + "-bit"; }

// The format an HDF5 `dtype` attribute declares; false if it names none.
bool declared_format(const std::string& declared, ElementType& type) {
  if (declared == "bfloat16") type = ElementType::bf16;
  else if (declared == "float16") type = ElementType::f16;
  else if (declared == "float32") type = ElementType::f32;
  else if (declared == "float8_e4m3fn") type = ElementType::f8e4m3;
  else if (declared == "float8_e5m2") type = ElementType::f8e5m2;
  else return false;
  return true;
}

bool is_fnuz(const std::string& name) {
  return name.find("fnuz") != std::string::npos || name.find("FNUZ") != std::string::npos;
}

[[noreturn]] void refuse_fnuz(const std::string& found, const std::string& what) {
  fail(kExitInput, what + " holds " + found +
                       ": the FNUZ variants (no negative zero, one NaN, another bias) are not the OCP formats "
                       "latdisp reads (f8e4m3 = E4M3FN, f8e5m2 = E5M2)");
}

}  // namespace

ElementType safetensors_element_type(const std::string& dtype, const std::string& what, const ElementRequest& request) {
  if (is_fnuz(dtype)) refuse_fnuz("dtype " + dtype, what);
  ElementType type = ElementType::bf16;
  if (dtype == "BF16") type = ElementType::bf16;
  else if (dtype == "F16") type = ElementType::f16;
  else if (dtype == "F32") type = ElementType::f32;
  else if (dtype == "F8_E4M3") type = ElementType::f8e4m3;
  else if (dtype == "F8_E5M2") type = ElementType::f8e5m2;
  else if (dtype == "U16" || dtype == "I16") return integer_element_type(16, dtype, "", what, request);
  else if ((dtype == "U8" || dtype == "I8") && !request.element_type)
    fail(kExitInput, what + " holds 8-bit integers (" + dtype + ") without a declared format: store it as F8_E4M3 " +
                         "or F8_E5M2, or name the format with --element-type f8e4m3|f8e5m2");
  else if (dtype == "U8" || dtype == "I8") return integer_element_type(8, dtype, "", what, request);
  else if (dtype == "U32" || dtype == "I32") return integer_element_type(32, dtype, "", what, request);
  else if (dtype == "U64" || dtype == "I64") return integer_element_type(64, dtype, "", what, request);
  else if (dtype == "F64")
    fail(kExitInput, what + " has dtype F64: float64 is none of the element formats latdisp reads (" +
                         formats::element_type_names() +
                         "), and latdisp does not convert it (a conversion would change what is measured)");
  else
    fail(kExitInput, what + " has dtype " + dtype + "; expected one of BF16, F16, F32, F8_E4M3, F8_E5M2 (or U16/I16 " +
                         "holding bf16 bits, U8/I8 with --element-type f8e4m3|f8e5m2)");
  require_float_matches(type, dtype, what, request);
  return type;
}

ElementType integer_element_type(int bits, const std::string& storage, const std::string& declared,
                                 const std::string& what, const ElementRequest& request) {
  const std::string stored = std::to_string(bits) + "-bit integers (" + storage + ")";
  if (bits != 8 && bits != 16)
    fail(kExitInput, what + " holds " + stored + ", none of the element formats latdisp reads (" +
                         formats::element_type_names() + "; bf16 bits are stored as 16-bit integers)");
  ElementType type = ElementType::bf16;
  bool known = false;
  if (request.element_type) {
    type = *request.element_type;
    known = true;
    if (8 * formats::element_bytes(type) != bits)
      fail(kExitInput, "--element-type " + formats::element_type_name(type) + " (" + width_text(type) +
                           ") does not match " + what + ", which holds " + stored);
  } else if (!declared.empty()) {
    if (is_fnuz(declared)) refuse_fnuz("attribute dtype = '" + declared + "'", what);
    if (!declared_format(declared, type))
      fail(kExitInput, what + " declares dtype = '" + declared + "', none of bfloat16, float16, float8_e4m3fn, " +
                           "float8_e5m2 (override with --element-type NAME)");
    if (8 * formats::element_bytes(type) != bits)
      fail(kExitInput, what + " declares dtype = '" + declared + "' (" + width_text(type) + ") but holds " + stored);
    known = true;
  } else if (bits == 16) {
    known = true;  // 16-bit integers hold bf16 bits unless said otherwise
  }
  if (!known)
    fail(kExitInput, what + " holds " + stored +
                         " without a declared format: give it the attribute dtype = 'float8_e4m3fn' or "
                         "'float8_e5m2', or name the format with --element-type f8e4m3|f8e5m2");
  return type;
}

void require_float_matches(ElementType found, const std::string& storage, const std::string& what,
                           const ElementRequest& request) {
  if (!request.element_type || *request.element_type == found) return;
  fail(kExitInput, "--element-type " + formats::element_type_name(*request.element_type) + " contradicts " + what +
                       ", stored as " + storage + " (" + formats::element_type_name(found) +
                       "); --element-type names the format of integer storage only");
}

void require_declared_matches(ElementType found, const std::string& storage, const std::string& declared,
                              const std::string& what) {
  if (declared.empty()) return;
  if (is_fnuz(declared)) refuse_fnuz("attribute dtype = '" + declared + "'", what);
  ElementType type = found;
  if (declared_format(declared, type) && type != found)
    fail(kExitInput, what + " declares dtype = '" + declared + "' (" + formats::element_type_name(type) + ", " +
                         width_text(type) + ") but holds " + storage + " (" + formats::element_type_name(found) +
                         ", " + width_text(found) + ")");
}

void require_requested_format(ElementType type, const std::string& what, const std::string& stored,
                              const ElementRequest& request) {
  if (request.any_format || type == ElementType::bf16) return;
  fail(kExitInput, what + " has " + stored + " (" + formats::element_type_name(type) +
                       " values); this command reads bf16 values only");
}

}  // namespace latdisp
