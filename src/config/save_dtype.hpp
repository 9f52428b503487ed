// The integer type of the saved delta_W_prime (--save-dtype).
#pragma once

#include <cstdint>
#include <string>

#include "kokkos_kernels/bf16_lattice.hpp"

namespace latdisp {

// auto (the smallest type that holds every integer x) or a fixed width.
struct SaveDtype {
  bool automatic = true;
  bf16::IntegerWidth width = bf16::kInt64;  // when not automatic
};

// "auto", "int8" .. "int64". Throws Error(kExitUsage).
SaveDtype parse_save_dtype(const std::string& text);

// The width delta_W_prime is saved in, given the analysis' integer width
// (bf16::IntegerWidth of every integer x; -1 if no x is finite).
bf16::IntegerWidth saved_width(const SaveDtype& requested, int32_t analysis_width);

// "int8" .. "int64"; "" for kNoInteger.
const char* integer_dtype_name(int32_t width);

// Bytes per element of an integer width (kInt8 .. kInt64).
inline int integer_bytes(bf16::IntegerWidth width) { return 1 << static_cast<int>(width); }

}  // namespace latdisp
