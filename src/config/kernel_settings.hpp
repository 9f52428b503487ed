// The kernel settings of an analysis, from --arithmetic, --epsilon,
// --zero-ulp and --tokens-per-item (docs/definitions.md: seed arithmetic, ULP),
// and the names of their values.
#pragma once

#include <cstdint>
#include <string>

#include "io/block_source.hpp"
#include "kokkos_kernels/block_analysis.hpp"

namespace latdisp {

// "exact" or "seed". Throws Error(kExitUsage).
Arithmetic parse_arithmetic(const std::string& text);
// "min-normal" or "min-subnormal". Throws Error(kExitUsage).
bf16::ZeroUlp parse_zero_ulp(const std::string& text);
// "auto", "map" or "read". Throws Error(kExitUsage).
ReadMethod parse_read_method(const std::string& text);

// The names the options take and the reports print: "exact", "seed";
// "min-normal", "min-subnormal".
const char* arithmetic_name(Arithmetic arithmetic);
const char* zero_ulp_name(bf16::ZeroUlp zero_ulp);

// The backend's tokens per work item (--tokens-per-item 0): a GPU wants
// many small work items, a CPU core fewer, longer ones.
int64_t default_tokens_per_item();

// The defaults of --arithmetic, --epsilon, --zero-ulp and --tokens-per-item.
KernelSettings default_kernel_settings();

}  // namespace latdisp
