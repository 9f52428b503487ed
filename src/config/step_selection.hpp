// --steps: which snapshots of a trajectory a command walks (analyze,
// blackholes).
#pragma once

#include <cstdint>
#include <string>

namespace latdisp {

// The snapshot indices first, first + stride, ... up to last.
struct StepSelection {
  int64_t first = 0;
  int64_t last = -1;  // -1: the last step of the input
  int64_t stride = 1;
};

// "all", "A:B" or "A:B:K" (B inclusive). Throws Error(kExitUsage).
StepSelection parse_step_selection(const std::string& text);

}  // namespace latdisp
