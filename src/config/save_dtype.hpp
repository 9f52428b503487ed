// The integer type of the saved delta_W_prime (--save-dtype).
#pragma once

#include <cstdint>
#include <string>

namespace latdisp {

// "int8" .. "int64" for --save-dtype, given the analysis' integer width
// (bf16::IntegerWidth; -1 if no finite x). Throws Error(kExitUsage).
std::string save_dtype_for(const std::string& requested, int32_t width);

}  // namespace latdisp
