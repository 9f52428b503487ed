#include "analysis/analysis_result.hpp"

#include "kokkos_kernels/bf16_lattice.hpp"

namespace latdisp {

std::string verdict_of(const PopulationTally& tally) {
  if (tally.counts[kCountNonInteger] > 0) return "GENERAL_QUARTERS";
  if (tally.counts[kCountHalf] > 0) return "HALF_INTEGERS";
  if (tally.counts[kCountAlmost] > 0) return "ROUNDING";
  return "PERFECT";
}

}  // namespace latdisp
