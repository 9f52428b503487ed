// The extent of a trajectory W: steps x tokens x dims.
#pragma once

#include <cstdint>

namespace latdisp {

struct TrajectoryShape {
  int64_t steps = 0;
  int64_t tokens = 0;
  int64_t dims = 0;
};

}  // namespace latdisp
