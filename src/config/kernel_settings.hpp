// The kernel settings of an analysis, from --arithmetic, --epsilon,
// --zero-ulp and --tokens-per-item (docs/definitions.md: seed arithmetic, ULP).
#pragma once

#include <string>

#include "config/options.hpp"
#include "io/block_source.hpp"
#include "kokkos_kernels/block_analysis.hpp"

namespace latdisp {

// "exact" or "seed". Throws Error(kExitUsage).
Arithmetic parse_arithmetic(const std::string& text);
// "min-normal" or "min-subnormal". Throws Error(kExitUsage).
bf16::ZeroUlp parse_zero_ulp(const std::string& text);
// "auto", "map" or "read". Throws Error(kExitUsage).
ReadMethod parse_read_method(const std::string& text);

// The settings the options ask for; tokens per item 0 picks the backend's default.
KernelSettings kernel_settings_of(const AnalyzeOptions& options);

}  // namespace latdisp
