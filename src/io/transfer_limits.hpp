// The most bytes one HDF5 or MPI-IO call moves: counts are C ints, and 1 GiB
// keeps every call well inside them.
#pragma once

#include <cstdint>

namespace latdisp {

constexpr int64_t kMaxTransferBytes = int64_t(1) << 30;

}  // namespace latdisp
