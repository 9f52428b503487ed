// `latdisp inspect`: the bit-level view of a few dims of a few tokens (one
// representative per group), with pairwise differences and the true ULP
// distance on the ordered lattice of the matrix's element format
// (docs/definitions.md §17).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bits/element_patterns.hpp"
#include "io/token_groups.hpp"

namespace latdisp {

// "1|01110101|1100000" for bf16 0xBAE0: sign|exponent|mantissa with the
// format's field widths.
std::string format_bits(const PatternRules& rules, uint32_t bits);
std::string format_bits(uint16_t bits);  // bf16
// "%+.6e" of the exact value, or "+inf", "-inf", "nan".
std::string format_value(const PatternRules& rules, uint32_t bits);
std::string format_value(uint16_t bits);  // bf16
// Signed distance from a to b in lattice cells: position(b) - position(a);
// correct across zero (+0 and -0 share a position) and across binades. Inf
// sits one cell past the largest finite value; none for NaN.
std::optional<int64_t> ulp_distance(const PatternRules& rules, uint32_t a, uint32_t b);
std::optional<int64_t> ulp_distance(uint16_t a, uint16_t b);  // bf16

// The differences of one pair of values, second minus first.
struct PairDifference {
  bool sign_differs = false;
  int exponent_difference = 0;
  int64_t mantissa_difference = 0;
  int64_t raw_difference = 0;  // the unsigned patterns, as the notebook computed for bf16
  std::optional<int64_t> ulp;  // the true lattice distance
};
PairDifference pair_difference(const PatternRules& rules, uint32_t first, uint32_t second);
PairDifference pair_difference(uint16_t first, uint16_t second);  // bf16

struct InspectTable {
  std::string matrix;  // description of the source
  PatternRules rules = pattern_rules(formats::ElementType::bf16);
  std::vector<std::string> group_names;
  std::vector<int64_t> group_sizes;
  std::vector<int64_t> representatives;
  std::vector<int64_t> dims;
  std::vector<uint32_t> bits;  // patterns, [dim index][group index]
  uint32_t at(size_t dim_index, size_t group) const { return bits[dim_index * group_names.size() + group]; }
};

// Collective: reads the representatives' rows (rank 0) and fills the table
// on every rank. Throws Error(kExitInput) for bad groups or dims.
InspectTable inspect_matrix(const std::string& matrix_location, const std::vector<TokenGroup>& groups,
                            const std::vector<int64_t>& dims, MPI_Comm comm);

std::string inspect_text(const InspectTable& table);
std::string inspect_json(const InspectTable& table);

}  // namespace latdisp
