// A host scalar reference of the two kernels, written from the definitions
// (docs/definitions.md): one coordinate at a time, every coordinate through
// the general bit rules of bf16_lattice.hpp (themselves checked against an
// exact oracle in tests/test_bf16_lattice.cpp), none of the kernels' fast
// paths, and magnitudes summed in numpy's recursive pairwise order.
#pragma once

#include <cstdint>
#include <vector>

#include "kernel_harness.hpp"

namespace latdisp {
namespace kernel_reference {

struct AnalysisReference {
  int64_t items_per_transition = 0;
  std::vector<ItemTally> tallies;  // [transition * items_per_transition + item]
  std::vector<double> magnitudes;  // [transition * tokens + token], NaN for non-finite rows
  const ItemTally& tally(int64_t t, int64_t item) const {
    return tallies[static_cast<size_t>(t * items_per_transition + item)];
  }
};

// A point where a kernel may depart from docs/definitions.md; the default
// follows the definition.
struct Conventions {
  // The exact side of the disagreement count is the report's own x, under the
  // zero rule in force (docs/definitions.md §14); false: the min-normal x.
  bool disagreements_use_report_zero_rule = true;
};

// What analyze_block writes for `block` (items of settings.tokens_per_item
// tokens; the ULPs of the last step too when `includes_final_step`).
AnalysisReference reference_analyze_block(const kernel_harness::HostBlock& block, bool includes_final_step,
                                          const KernelSettings& settings, const Conventions& conventions = {});

struct EncodeReference {
  std::vector<int64_t> integers;  // (transitions, tokens, dims)
  std::vector<uint8_t> kinds;     // ExceptionKind
  std::vector<uint8_t> crossed;   // 0/1
  std::vector<uint16_t> ulps;     // (steps, tokens, dims), bfloat16 bits
  std::vector<double> values;     // x of each exception, correctly rounded (NaN if undefined); 0 elsewhere
};

// What encode_block writes for `block` with delta_W_prime of
// bf16::IntegerWidth `integer_width`.
EncodeReference reference_encode_block(const kernel_harness::HostBlock& block, const KernelSettings& settings,
                                       int integer_width);

// numpy's pairwise summation of a[0..n) (the recursive form of its reduction
// loop): the order in which the kernel must add a row's squares.
double numpy_pairwise_sum(const double* a, int64_t n);

}  // namespace kernel_reference
}  // namespace latdisp
