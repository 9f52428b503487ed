// `latdisp separation`: pairwise ULP distances between groups' representative
// rows over every dim (dims split over ranks), and whether each group's
// members are bit-identical (members split over ranks), on the ordered lattice
// of the matrix's element format (docs/definitions.md §17).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kokkos_kernels/formats/element_type.hpp"
#include "io/token_groups.hpp"

namespace latdisp {

struct PairSeparation {
  size_t first = 0, second = 0;          // group indices
  int64_t active_dims = 0;               // dims with a non-zero distance
  std::vector<int64_t> active_dim_list;  // listed when at most kListedActiveDims
  std::map<int64_t, int64_t> histogram;  // |ULP distance| -> dims (active dims only)
  int64_t undefined_dims = 0;            // NaN on either side
  // The one distance shared by every active dim, or -1.
  int64_t common_distance() const { return histogram.size() == 1 ? histogram.begin()->first : -1; }
};

struct GroupSpread {
  int64_t size = 0;
  int64_t differing_members = 0;  // members whose row is not bit-identical to the representative's
  int64_t spread_ulp = 0;         // max over dims of (max - min) lattice position inside the group
  int64_t spread_dims = 0;        // dims where the members do not all agree
};

struct SeparationResult {
  std::string matrix;
  formats::ElementType element_type = formats::ElementType::bf16;
  int64_t cols = 0;
  std::vector<std::string> group_names;
  std::vector<int64_t> representatives;
  int64_t groups_in_file = 0;  // before --max-groups
  std::vector<GroupSpread> spreads;
  std::vector<PairSeparation> pairs;
  std::vector<int64_t> active_dims;      // union over pairs
  std::map<int64_t, int64_t> histogram;  // over all pairs
};

constexpr size_t kListedActiveDims = 32;

// Collective; the result is complete on rank 0 (groups trimmed to max_groups).
SeparationResult separate_groups(const std::string& matrix_location, std::vector<TokenGroup> groups, int64_t max_groups,
                                 MPI_Comm comm);

std::string separation_text(const SeparationResult& result);
std::string separation_json(const SeparationResult& result);

}  // namespace latdisp
