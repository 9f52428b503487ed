// SIGINT, SIGTERM and SIGUSR1: the handler records the signal and removes the
// registered temporaries at once (the launcher may follow with SIGKILL); the
// work stops at its next agreement point (collectively(), stop_if_signalled()),
// where every rank throws Error(kExitSignal).
#pragma once

#include <mpi.h>

#include <string>

namespace latdisp {

// Installs the handlers (and one for SIGBUS, which a mapped input file cut
// short while being read raises: a message and exit kExitInput); called
// once at start-up, after MPI_Init.
void install_signal_handlers();

// From here on the process only shuts down: the run's outcome is decided
// (`exit_code`) and its files are in place. A fault after this (SIGSEGV,
// SIGBUS, SIGILL, SIGFPE, SIGABRT), such as the MPI library's rare one in
// its own threads while MPI_Finalize tears them down (docs/operations.md
// §5), writes a note and exits with `exit_code` instead of a crash.
void guard_shutdown(int exit_code);

// The first stop signal this process received, 0 if none.
int received_signal();

// "SIGUSR1", "SIGTERM", "SIGINT".
std::string signal_name(int signal);

// "stopped by SIGTERM ..." for the signal received.
std::string signal_stop_message(int signal);

// While alive (analyze --checkpoint-dir, during its step blocks), a stop
// signal is only recorded: collectively() does not stop for it, so the
// current block finishes and the checkpoint is written before the loop stops
// at its block boundary (analysis/checkpoint.hpp).
class DeferredSignalStops {
 public:
  DeferredSignalStops();
  ~DeferredSignalStops();
  DeferredSignalStops(const DeferredSignalStops&) = delete;
  DeferredSignalStops& operator=(const DeferredSignalStops&) = delete;
};
bool signal_stops_deferred();

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

// How long a stopped rank may take to reach its next agreement point; while
// stops are deferred, to finish its step block and write the checkpoint.
constexpr int kStopGraceSeconds = 10;
constexpr int kDeferredStopGraceSeconds = 120;

}  // namespace latdisp
