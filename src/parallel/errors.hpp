// Errors with the exit codes of docs/report.md §12, and the one mechanism that makes
// every rank agree on an error before the next collective call.
#pragma once

#include <mpi.h>

#include <functional>
#include <stdexcept>
#include <string>

namespace latdisp {

enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 1,
  kExitInput = 2,
  kExitOutput = 3,
  kExitStrict = 4,
  kExitSignal = 5,  // stopped by SIGINT, SIGTERM or SIGUSR1 (after a checkpoint, with --checkpoint-dir)
};

class Error : public std::runtime_error {
 public:
  Error(int exit_code, const std::string& message) : std::runtime_error(message), m_exit_code(exit_code) {}
  int exit_code() const { return m_exit_code; }

 private:
  int m_exit_code;
};

[[noreturn]] inline void fail(int exit_code, const std::string& message) { throw Error(exit_code, message); }

// Runs `body` on every rank of `comm`; if it throws on any rank, or any rank
// received a stop signal, every rank throws the same Error: the signal's if
// there was one, else the lowest failing rank's. Call it around anything that
// can fail on some ranks only, before the next collective.
void collectively(MPI_Comm comm, const std::function<void()>& body);

// The one message of a failed allocation (exit code kExitUsage).
constexpr const char* kOutOfMemoryText = "out of memory: lower --memory-budget or use more ranks";

// True for std::bad_alloc, the allocation failures libraries report in their
// own exception types (Kokkos' runtime_error), and errors whose reason is
// the system's ENOMEM (a refused mmap).
bool is_allocation_failure(const std::exception& e);

// Throws if an MPI call did not succeed.
void check_mpi(int status, const char* what);

}  // namespace latdisp
