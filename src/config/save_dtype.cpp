#include "config/save_dtype.hpp"

#include "kokkos_kernels/bf16_lattice.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

std::string save_dtype_for(const std::string& requested, int32_t width) {
  if (requested != "auto") {
    if (requested != "int8" && requested != "int16" && requested != "int32" && requested != "int64")
      fail(kExitUsage, "--save-dtype must be auto, int8, int16, int32 or int64, not '" + requested + "'");
    return requested;
  }
  const char* names[] = {"int8", "int16", "int32", "int64"};
  if (width < 0) return "int8";              // no finite x: nothing to hold
  if (width > bf16::kInt64) return "int64";  // beyond int64: the rest are exceptions
  return names[width];
}

}  // namespace latdisp
