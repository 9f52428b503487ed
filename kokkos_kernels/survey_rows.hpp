// The kernels of `survey` (docs/definitions.md §18): per row of an
// embedding block, whether it is all zeros or holds a non-finite value, a
// 64-bit hash of its bytes and the exact sum of its squares; and the
// L-infinity lattice distance of every row to each group representative.
// Rows are raw element bits of any format of formats/element_format.hpp,
// C order, `dims` values per row. They run on the host execution space: the
// rows arrive there from the reader.
#pragma once

#include <cstdint>

#include "kokkos_kernels/formats/element_format.hpp"

namespace latdisp {

// One entry per row of the block.
struct SurveyRowSummaries {
  uint8_t* zero = nullptr;       // every coordinate +0 or -0
  uint8_t* nonfinite = nullptr;  // some coordinate Inf or NaN
  uint64_t* hash = nullptr;      // of the row's bytes
  double* sum_squares = nullptr; // exact sum of squares, rounded once (finite rows)
};

void summarize_survey_rows(formats::ElementType type, const unsigned char* rows, int64_t count, int64_t dims,
                           const SurveyRowSummaries& out);

// For every row r with skip[r] == 0: nearest[r] = the representative at the
// smallest L-infinity lattice distance (ties: the lower index), distance[r]
// = that distance. Rows with skip[r] != 0 get -1 and -1. `representatives`
// holds `groups` finite rows (C order).
void nearest_survey_groups(formats::ElementType type, const unsigned char* rows, int64_t count, int64_t dims,
                           const unsigned char* representatives, int64_t groups, const uint8_t* skip,
                           int32_t* nearest, int64_t* distance);

// Between two finite rows: the L-infinity and L1 lattice distances and the
// count of dims at non-zero distance.
struct LatticePairDistance {
  int64_t linf = 0;
  int64_t l1 = 0;
  int64_t active_dims = 0;
};
LatticePairDistance survey_pair_distance(formats::ElementType type, const unsigned char* a, const unsigned char* b,
                                         int64_t dims);

// The 64-bit hash of a row's bytes that summarize_survey_rows uses.
uint64_t survey_row_hash(const unsigned char* row, int64_t bytes);

}  // namespace latdisp
