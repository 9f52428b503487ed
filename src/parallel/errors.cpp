#include "parallel/errors.hpp"

#include <cerrno>
#include <cstring>
#include <new>
#include <vector>

#include "parallel/signals.hpp"

namespace latdisp {

bool is_allocation_failure(const std::exception& e) {
  if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr) return true;
  // Kokkos reports a failed allocation as a runtime_error of its own words.
  const std::string text = e.what();
  return text.find("failed to allocate memory") != std::string::npos ||
         text.find("insufficient memory") != std::string::npos ||
         text.find(std::strerror(ENOMEM)) != std::string::npos;
}

void check_mpi(int status, const char* what) {
  if (status != MPI_SUCCESS) {
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(status, text, &length);
    fail(kExitInput, std::string(what) + ": " + std::string(text, length));
  }
}

namespace {

constexpr int kAgreementSeconds = 60;

// What this rank has to say after running a body: nothing, an error, or a stop signal.
struct Outcome {
  int exit_code = kExitOk;
  std::string message;
};

Outcome outcome_of(const std::function<void()>& body) {
  Outcome outcome;
  try {
    body();
  } catch (const Error& e) {
    // A mapping or buffer the system refused for want of memory is a budget problem, not bad input.
    outcome = is_allocation_failure(e) && e.exit_code() != kExitSignal
                  ? Outcome{kExitUsage, std::string(kOutOfMemoryText) + " (" + e.what() + ")"}
                  : Outcome{e.exit_code(), e.what()};
  } catch (const std::bad_alloc&) {
    outcome = {kExitUsage, kOutOfMemoryText};
  } catch (const std::exception& e) {
    outcome = is_allocation_failure(e) ? Outcome{kExitUsage, kOutOfMemoryText} : Outcome{kExitInput, e.what()};
  } catch (...) {
    outcome = {kExitInput, "an unexpected error (not a std::exception)"};
  }
  // A stop signal explains whatever else went wrong after it.
  const int signal = received_signal();
  if (signal != 0 && !signal_stops_deferred()) outcome = {kExitSignal, signal_stop_message(signal)};
  return outcome;
}

}  // namespace

void collectively(MPI_Comm comm, const std::function<void()>& body) {
  const Outcome outcome = outcome_of(body);
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  // MINLOC finds the most telling outcome (a signal, then an error) on the lowest rank.
  const int severity = outcome.exit_code == kExitSignal ? 0 : outcome.exit_code != kExitOk ? 1 : 2;
  struct {
    int severity;
    int rank;
  } mine{severity, rank}, chosen{};
  // A rank that failed waits a bounded time for the others: a library call
  // that failed here may have left them waiting inside it.
  const bool failed = outcome.exit_code != kExitOk && outcome.exit_code != kExitSignal;
  if (failed)
    arm_exit_timer(kAgreementSeconds, outcome.exit_code,
                   "latdisp: error: " + outcome.message + " (the other ranks did not answer within " +
                       std::to_string(kAgreementSeconds) + " s: the job is stopped)\n");
  MPI_Allreduce(&mine, &chosen, 1, MPI_2INT, MPI_MINLOC, comm);
  if (failed) disarm_exit_timer();
  if (chosen.severity == 2) return;

  int code_and_length[2] = {outcome.exit_code, static_cast<int>(outcome.message.size())};
  MPI_Bcast(code_and_length, 2, MPI_INT, chosen.rank, comm);
  std::vector<char> text(static_cast<size_t>(code_and_length[1]));
  if (rank == chosen.rank) text.assign(outcome.message.begin(), outcome.message.end());
  if (!text.empty()) MPI_Bcast(text.data(), code_and_length[1], MPI_CHAR, chosen.rank, comm);
  throw Error(code_and_length[0], std::string(text.begin(), text.end()));
}

}  // namespace latdisp
