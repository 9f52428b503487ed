// The clock of every timing latdisp reports (monotonic), and seconds on it.
#pragma once

#include <chrono>

namespace latdisp {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace latdisp
