#include "config/save_dtype.hpp"

#include "parallel/errors.hpp"

namespace latdisp {

namespace {
constexpr const char* kNames[] = {"int8", "int16", "int32", "int64"};
}  // namespace

SaveDtype parse_save_dtype(const std::string& text) {
  if (text == "auto") return SaveDtype{};
  for (int w = bf16::kInt8; w <= bf16::kInt64; ++w)
    if (text == kNames[w]) return SaveDtype{false, static_cast<bf16::IntegerWidth>(w)};
  fail(kExitUsage, "--save-dtype must be auto, int8, int16, int32 or int64, not '" + text + "'");
}

bf16::IntegerWidth saved_width(const SaveDtype& requested, int32_t analysis_width) {
  if (!requested.automatic) return requested.width;
  if (analysis_width < 0) return bf16::kInt8;              // no finite x: nothing to hold
  if (analysis_width > bf16::kInt64) return bf16::kInt64;  // beyond int64: the rest are exceptions
  return static_cast<bf16::IntegerWidth>(analysis_width);
}

const char* integer_dtype_name(int32_t width) {
  return width >= bf16::kInt8 && width <= bf16::kInt64 ? kNames[width] : "";
}

}  // namespace latdisp
