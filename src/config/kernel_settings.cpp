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

const char* arithmetic_name(Arithmetic arithmetic) { return arithmetic == Arithmetic::seed ? "seed" : "exact"; }

const char* zero_ulp_name(bf16::ZeroUlp zero_ulp) {
  return zero_ulp == bf16::ZeroUlp::min_subnormal ? "min-subnormal" : "min-normal";
}

int64_t default_tokens_per_item() { return kDefaultTokensPerItem; }

KernelSettings default_kernel_settings() {
  KernelSettings settings;
  settings.tokens_per_item = default_tokens_per_item();
  return settings;
}

}  // namespace latdisp
