#include "analysis/analysis_result.hpp"

#include "kokkos_kernels/bf16_lattice.hpp"

namespace latdisp {

std::string verdict_of(const PopulationTally& tally) {
  if (tally.counts[kCountNonInteger] > 0) return "GENERAL_QUARTERS";
  if (tally.counts[kCountHalf] > 0) return "HALF_INTEGERS";
  if (tally.counts[kCountAlmost] > 0) return "ROUNDING";
  return "PERFECT";
}

std::string dtype_of_width(int32_t width) {
  switch (width) {
    case bf16::kInt8:
      return "int8";
    case bf16::kInt16:
      return "int16";
    case bf16::kInt32:
      return "int32";
    case bf16::kInt64:
      return "int64";
    default:
      return "";
  }
}

}  // namespace latdisp
