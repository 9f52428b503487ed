// SIGUSR1, SIGTERM and SIGINT as requests to stop at the next safe point (a
// step-block boundary) rather than killing the process: Slurm's time-limit
// warning (--signal=B:USR1@N, forwarded by the job script) and its TERM.
#pragma once

#include <string>

namespace latdisp {

// While alive, the three signals only record that they arrived; the handlers
// that were there before come back on destruction.
class StopSignalHandlers {
 public:
  StopSignalHandlers();
  ~StopSignalHandlers();
  StopSignalHandlers(const StopSignalHandlers&) = delete;
  StopSignalHandlers& operator=(const StopSignalHandlers&) = delete;
};

// The first stop signal received on this process since the handlers were
// installed, or 0.
int stop_signal_received();

// "SIGUSR1", "SIGTERM", "SIGINT" or "signal N".
std::string signal_name(int signal_number);

}  // namespace latdisp
