#include "parallel/stop_signals.hpp"

#include <csignal>

namespace latdisp {

namespace {

constexpr int kStopSignals[] = {SIGUSR1, SIGTERM, SIGINT};
volatile std::sig_atomic_t g_received = 0;
struct sigaction g_previous[3];

extern "C" void record_stop_signal(int signal_number) {
  if (g_received == 0) g_received = signal_number;
}

}  // namespace

StopSignalHandlers::StopSignalHandlers() {
  g_received = 0;
  struct sigaction action {};
  action.sa_handler = record_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // reads and MPI calls in flight simply continue
  for (int i = 0; i < 3; ++i) sigaction(kStopSignals[i], &action, &g_previous[i]);
}

StopSignalHandlers::~StopSignalHandlers() {
  for (int i = 0; i < 3; ++i) sigaction(kStopSignals[i], &g_previous[i], nullptr);
}

int stop_signal_received() { return g_received; }

std::string signal_name(int signal_number) {
  switch (signal_number) {
    case SIGUSR1:
      return "SIGUSR1";
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    default:
      return "signal " + std::to_string(signal_number);
  }
}

}  // namespace latdisp
