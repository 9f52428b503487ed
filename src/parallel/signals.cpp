#include "parallel/signals.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "parallel/errors.hpp"

namespace latdisp {

namespace {

std::atomic<int> g_signal{0};
std::atomic<bool> g_deferred{false};

// Fixed storage: the handler may only read memory that is never reallocated.
constexpr int kTemporarySlots = 32;
constexpr size_t kPathBytes = 4096;
struct TemporarySlot {
  std::atomic<bool> used{false};
  char path[kPathBytes];
};
TemporarySlot g_temporaries[kTemporarySlots];

void remove_registered_temporaries() {
  for (TemporarySlot& slot : g_temporaries)
    if (slot.used.load(std::memory_order_acquire)) unlink(slot.path);
}

// What the exit timer does when it fires.
std::atomic<int> g_timer_exit_code{kExitSignal};
char g_timer_message[2048];
std::atomic<size_t> g_timer_message_length{0};

// This process's rank in the job, from the launcher's environment (the
// handlers cannot ask MPI): rank 0 speaks for the job.
int g_rank = 0;

// Writes a message that every rank may have to give when it ends on its own:
// rank 0 at once, the others after a pause, so that when the whole job ends
// (the launcher stops the others once one exits) it is said once.
void write_job_message(const char* text, size_t length) {
  if (g_rank != 0) {
    timespec pause{2, 0};
    while (nanosleep(&pause, &pause) != 0 && errno == EINTR) {
    }
  }
  if (length > 0 && write(STDERR_FILENO, text, length) < 0) return;
}

// The message of a stop signal whose ranks could not stop together in time.
char g_stop_messages[3][512];
size_t g_stop_message_lengths[3] = {0, 0, 0};
int stop_message_index(int signal) { return signal == SIGINT ? 0 : signal == SIGTERM ? 1 : 2; }

extern "C" void on_exit_timer(int) {
  remove_registered_temporaries();
  write_job_message(g_timer_message, g_timer_message_length.load());
  _exit(g_timer_exit_code.load());
}

extern "C" void on_stop_signal(int signal) {
  const int saved_errno = errno;
  remove_registered_temporaries();
  int expected = 0;
  // A second stop signal (a second Ctrl-C, or the launcher insisting) ends the
  // process at once; the temporaries are already gone.
  if (!g_signal.compare_exchange_strong(expected, signal)) _exit(kExitSignal);
  // A rank waiting on another that will never answer still stops (later when
  // it first finishes its block and writes a checkpoint).
  const int index = stop_message_index(signal);
  g_timer_message_length.store(0);
  std::memcpy(g_timer_message, g_stop_messages[index], g_stop_message_lengths[index]);
  g_timer_message_length.store(g_stop_message_lengths[index]);
  g_timer_exit_code.store(kExitSignal);
  alarm(g_deferred.load() ? kDeferredStopGraceSeconds : kStopGraceSeconds);
  errno = saved_errno;
}

// SIGBUS from reading a mapped input whose pages went away (the file was
// truncated while latdisp read it): a message and exit kExitInput, not a
// crash report (io/step_mapping.hpp).
char g_bus_error_message[] =
    "latdisp: error: an input file shrank or became unreadable while its mapped step block was being read "
    "(bus error); rerun once the file is complete, or with --read-method read\n";

extern "C" void on_bus_error(int) {
  remove_registered_temporaries();
  write_job_message(g_bus_error_message, sizeof g_bus_error_message - 1);
  _exit(kExitInput);
}

// How many bytes snprintf left in a buffer of `capacity` bytes, given what it returned.
size_t formatted_length(int returned, size_t capacity) {
  return returned > 0 ? std::min(static_cast<size_t>(returned), capacity - 1) : 0;
}

void prepare_stop_messages() {
  for (int signal : {SIGINT, SIGTERM, SIGUSR1}) {
    const int index = stop_message_index(signal);
    const int length = std::snprintf(
        g_stop_messages[index], sizeof g_stop_messages[index],
        "latdisp: error: stopped by %s; the ranks could not stop together in time (a read, or a rank, that does not "
        "answer); files not yet complete were removed\n",
        signal_name(signal).c_str());
    g_stop_message_lengths[index] = formatted_length(length, sizeof g_stop_messages[index]);
  }
}

// A fault in the libraries' shutdown, after the run's outcome is decided
// and its files are in place (guard_shutdown): a note, and that outcome's
// exit code instead of a crash report.
std::atomic<int> g_shutdown_exit_code{kExitOk};
char g_shutdown_note[256];
std::atomic<size_t> g_shutdown_note_length{0};

extern "C" void on_shutdown_fault(int) {
  [[maybe_unused]] const ssize_t written = write(STDERR_FILENO, g_shutdown_note, g_shutdown_note_length.load());
  _exit(g_shutdown_exit_code.load());
}

}  // namespace

void install_signal_handlers() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"})
    if (const char* rank = std::getenv(name)) {
      g_rank = std::atoi(rank);
      break;
    }
  prepare_stop_messages();
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // reads and writes in progress carry on
  for (int signal : {SIGINT, SIGTERM, SIGUSR1}) sigaction(signal, &action, nullptr);
  struct sigaction timer {};
  timer.sa_handler = on_exit_timer;
  sigemptyset(&timer.sa_mask);
  sigaction(SIGALRM, &timer, nullptr);
  struct sigaction bus {};
  bus.sa_handler = on_bus_error;
  sigemptyset(&bus.sa_mask);
  sigaction(SIGBUS, &bus, nullptr);
}

void guard_shutdown(int exit_code) {
  g_shutdown_exit_code.store(exit_code);
  const int length = std::snprintf(g_shutdown_note, sizeof g_shutdown_note,
                                   "latdisp: note: a library faulted while rank %d shut down, after the run had "
                                   "ended; it exits with the run's code, %d\n",
                                   g_rank, exit_code);
  g_shutdown_note_length.store(formatted_length(length, sizeof g_shutdown_note));
  struct sigaction fault {};
  fault.sa_handler = on_shutdown_fault;
  sigemptyset(&fault.sa_mask);
  for (int signal : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT}) sigaction(signal, &fault, nullptr);
}

int received_signal() { return g_signal.load(); }

std::string signal_name(int signal) {
  return signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : signal == SIGUSR1 ? "SIGUSR1" : "a signal";
}

std::string signal_stop_message(int signal) {
  const std::string note =
      signal == SIGUSR1 ? " (a checkpoint request: without --checkpoint-dir it stops the run)" : "";
  return "stopped by " + signal_name(signal) + note + "; files not yet complete were removed";
}

DeferredSignalStops::DeferredSignalStops() { g_deferred.store(true); }
DeferredSignalStops::~DeferredSignalStops() { g_deferred.store(false); }
bool signal_stops_deferred() { return g_deferred.load(); }

void stop_if_signalled(MPI_Comm comm) {
  int signal = received_signal();
  MPI_Allreduce(MPI_IN_PLACE, &signal, 1, MPI_INT, MPI_MAX, comm);
  if (signal != 0) fail(kExitSignal, signal_stop_message(signal));
}

int register_temporary(const std::string& path) {
  if (path.size() >= kPathBytes) return -1;
  for (int i = 0; i < kTemporarySlots; ++i) {
    TemporarySlot& slot = g_temporaries[i];
    if (slot.used.load()) continue;
    std::memcpy(slot.path, path.c_str(), path.size() + 1);
    slot.used.store(true, std::memory_order_release);
    return i;
  }
  return -1;
}

void arm_exit_timer(int seconds, int exit_code, const std::string& message) {
  if (received_signal() != 0) return;  // the stop signal's own timer runs
  const size_t length = std::min(message.size(), sizeof g_timer_message);
  g_timer_message_length.store(0);
  std::memcpy(g_timer_message, message.data(), length);
  g_timer_message_length.store(length);
  g_timer_exit_code.store(exit_code);
  alarm(static_cast<unsigned>(seconds));
}

void disarm_exit_timer() {
  if (received_signal() == 0) alarm(0);
}

void unregister_temporary(int slot) {
  if (slot >= 0 && slot < kTemporarySlots) g_temporaries[slot].used.store(false, std::memory_order_release);
}

}  // namespace latdisp
