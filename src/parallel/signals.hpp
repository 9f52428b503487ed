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

}  // namespace latdisp
