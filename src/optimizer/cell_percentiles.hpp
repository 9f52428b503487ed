// The exact percentiles 50, 90, 99, 99.9 of the intended cells |c| over the
// coordinates with u != 0 (numpy's linear method), for all, live and dead
// tokens: a distributed radix select over the kept keys (docs/optimizer.md §4).
#pragma once

#include <mpi.h>

#include <array>
#include <optional>

#include "analysis/spillable_keys.hpp"

namespace latdisp {

constexpr double kCellPercentiles[4] = {50, 90, 99, 99.9};

// Collective; keys are magnitude_key(|c|, dead). Every rank gets the result.
std::array<std::array<std::optional<double>, 4>, 3> cell_percentiles(const SpillableKeys& keys, MPI_Comm comm);

}  // namespace latdisp
