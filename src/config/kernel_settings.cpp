#include "config/kernel_settings.hpp"

#include "parallel/errors.hpp"

namespace latdisp {

Arithmetic parse_arithmetic(const std::string& text) {
  if (text == "exact") return Arithmetic::exact;
  if (text == "seed") return Arithmetic::seed;
  fail(kExitUsage, "--arithmetic must be 'exact' or 'seed', not '" + text + "'");
}

bf16::ZeroUlp parse_zero_ulp(const std::string& text) {
  if (text == "min-normal") return bf16::ZeroUlp::min_normal;
  if (text == "min-subnormal") return bf16::ZeroUlp::min_subnormal;
  fail(kExitUsage, "--zero-ulp must be 'min-normal' or 'min-subnormal', not '" + text + "'");
}

ReadMethod parse_read_method(const std::string& text) {
  if (text == "auto") return ReadMethod::automatic;
  if (text == "map") return ReadMethod::map;
  if (text == "read") return ReadMethod::read;
  fail(kExitUsage, "--read-method must be auto, map or read, not '" + text + "'");
}

KernelSettings kernel_settings_of(const AnalyzeOptions& options) {
  KernelSettings settings;
  settings.arithmetic = parse_arithmetic(options.arithmetic);
  settings.epsilon = options.epsilon;
  settings.zero_ulp = parse_zero_ulp(options.zero_ulp);
  // A GPU wants many small work items; a CPU core fewer, longer ones.
  settings.tokens_per_item = options.tokens_per_item > 0 ? options.tokens_per_item : (kSeparateDeviceMemory ? 8 : 256);
  return settings;
}

}  // namespace latdisp
