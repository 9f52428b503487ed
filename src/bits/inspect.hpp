// `latdisp inspect`: the bit-level view of a few dims of a few tokens (one
// representative per group), with pairwise differences and the true ULP
// distance on the ordered bfloat16 lattice.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/options.hpp"
#include "io/token_groups.hpp"

namespace latdisp {

// "1|01110101|1100000" for 0xBAE0.
std::string format_bits(uint16_t bits);
// "%+.6e" of the value, or "+inf", "-inf", "nan".
std::string format_value(uint16_t bits);
// Signed distance from a to b in lattice cells: position(b) - position(a);
// correct across zero (+0 and -0 share a position) and across binades. Inf
// sits one cell past the largest finite value; none for NaN.
std::optional<int64_t> ulp_distance(uint16_t a, uint16_t b);

// The differences of one pair of values, second minus first.
struct PairDifference {
  bool sign_differs = false;
  int exponent_difference = 0;
  int mantissa_difference = 0;
  int raw_difference = 0;      // uint16 bits, as the notebook computed
  std::optional<int64_t> ulp;  // the true lattice distance
};
PairDifference pair_difference(uint16_t first, uint16_t second);

struct InspectTable {
  std::string matrix;  // description of the source
  std::vector<std::string> group_names;
  std::vector<int64_t> group_sizes;
  std::vector<int64_t> representatives;
  std::vector<int64_t> dims;
  std::vector<uint16_t> bits;  // [dim index][group index]
  uint16_t at(size_t dim_index, size_t group) const { return bits[dim_index * group_names.size() + group]; }
};

// Collective: reads the representatives' rows (rank 0) and fills the table
// on every rank. Throws Error(kExitInput) for bad groups or dims.
InspectTable inspect_matrix(const std::string& matrix_location, const std::vector<TokenGroup>& groups,
                            const std::vector<int64_t>& dims, MPI_Comm comm);

std::string inspect_text(const InspectTable& table);
std::string inspect_json(const InspectTable& table);

// Collective: the `inspect` subcommand. Returns the exit code.
int run_inspect(const InspectOptions& options, MPI_Comm comm);

}  // namespace latdisp
