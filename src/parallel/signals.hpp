// SIGINT, SIGTERM and SIGUSR1: the handler records the signal and removes the
// registered temporaries at once (the launcher may follow with SIGKILL); the
// work stops at its next agreement point (collectively(), stop_if_signalled()),
// where every rank throws Error(kExitSignal).
#pragma once

#include <mpi.h>

#include <string>

namespace latdisp {

// Installs the handlers; called once at start-up, after MPI_Init.
void install_signal_handlers();

// The first stop signal this process received, 0 if none.
int received_signal();

// "stopped by SIGTERM ..." for the signal received.
std::string signal_stop_message(int signal);

// Collective: if any rank received a stop signal, every rank throws
// Error(kExitSignal). Cheap (one all-reduce); call it at block boundaries.
void stop_if_signalled(MPI_Comm comm);

// A file the handler removes if a stop signal arrives. Returns a slot for
// unregister_temporary, or -1 if the table is full (then only the normal
// error path removes it).
int register_temporary(const std::string& path);
void unregister_temporary(int slot);

// A last resort against a rank left waiting forever (a library call that
// failed on one rank and hangs on the others): unless disarmed within
// `seconds`, the process removes the registered temporaries, writes
// `message` to stderr and exits with `exit_code`. One timer per process.
void arm_exit_timer(int seconds, int exit_code, const std::string& message);
void disarm_exit_timer();

// How long a stopped rank may take to reach its next agreement point.
constexpr int kStopGraceSeconds = 10;

}  // namespace latdisp
