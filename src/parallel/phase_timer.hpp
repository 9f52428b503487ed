// Where a command's wall time went (docs/operations.md §10, "Where time went"): one clock per
// process cut into named phases. Exactly one phase runs at any moment, from
// the process's start on, so a rank's phases add up to its wall time by
// construction; work done beside the phases (a reading thread's busy time)
// is added separately and overlaps them. Each streaming command declares
// its phases once, in order: every rank then reduces the same arrays.
#pragma once

#include <mpi.h>

#include <chrono>
#include <string>
#include <vector>

namespace latdisp {

// The first two phases of every command, before the command itself starts:
// the process's start up to main (loading the executable and its
// libraries), and the runtime's start (MPI, then Kokkos).
inline constexpr const char* kStartupPhase = "startup";
inline constexpr const char* kInitPhase = "init";

// Records when main began and when the runtime was ready (Environment does,
// once). Without it, a timer starts at its own construction.
// On the clock of every timing (parallel/clock.hpp; not included here, so
// that its names stay out of every file that sees a timer).
void record_runtime_start(std::chrono::steady_clock::time_point main_entered,
                          std::chrono::steady_clock::time_point runtime_ready);

class PhaseTimer {
 public:
  enum class Origin {
    now,            // the first of the command's phases runs from now; startup and init stay 0
    process_start,  // startup and init as recorded, the first phase from the runtime's start on
  };
  // `phases`: the command's own phases in report order (kStartupPhase and
  // kInitPhase come first by themselves); `concurrent`: the names of work
  // done beside them. Origin::process_start is a command's, run from main;
  // without a recorded runtime start it is Origin::now.
  PhaseTimer(std::vector<std::string> phases, std::vector<std::string> concurrent = {}, Origin origin = Origin::now);

  // Ends the running phase and runs `phase` (its seconds add to any it had).
  // Throws std::logic_error for a phase not declared.
  void enter(const std::string& phase);
  const std::string& running() const { return m_names[m_running]; }
  // Seconds of `phase` so far (the running one up to now).
  double seconds(const std::string& phase) const;
  // Adds work done beside the phases, e.g. on another thread.
  void add_concurrent(const std::string& name, double seconds);

  const std::vector<std::string>& phase_names() const { return m_names; }
  const std::vector<std::string>& concurrent_names() const { return m_concurrent_names; }
  // Every phase's seconds in phase_names() order, the running one up to now.
  std::vector<double> phase_seconds() const;
  // The CPU seconds of the timer's thread in each phase, likewise: on a
  // loaded machine the work done, where wall time also counts the waits for
  // a core (and for other ranks).
  std::vector<double> phase_cpu_seconds() const;
  const std::vector<double>& concurrent_seconds() const { return m_concurrent; }

 private:
  size_t index_of(const std::vector<std::string>& names, const std::string& name) const;

  std::vector<std::string> m_names;
  std::vector<double> m_seconds;
  std::vector<double> m_cpu_seconds;
  std::vector<std::string> m_concurrent_names;
  std::vector<double> m_concurrent;
  size_t m_running = 0;
  std::chrono::steady_clock::time_point m_since;  // the running phase's start
  double m_cpu_since = 0;                         // and the thread's CPU seconds then
};

// Runs `phase` for a scope, then the phase that ran before.
class PhaseScope {
 public:
  PhaseScope(PhaseTimer& timer, const std::string& phase) : m_timer(timer), m_before(timer.running()) {
    m_timer.enter(phase);
  }
  ~PhaseScope() { m_timer.enter(m_before); }
  PhaseScope(const PhaseScope&) = delete;
  PhaseScope& operator=(const PhaseScope&) = delete;

 private:
  PhaseTimer& m_timer;
  std::string m_before;
};

// One phase (or concurrent work) over the ranks.
struct PhaseSeconds {
  std::string name;
  double rank_0 = 0, max = 0, sum = 0;
  double cpu_rank_0 = 0;  // rank 0's CPU seconds in it (a phase; concurrent work: its wall seconds)
};

// A timer's phases reduced to rank 0 (valid there only).
struct PhaseSummary {
  std::vector<PhaseSeconds> phases;
  std::vector<PhaseSeconds> concurrent;
  double wall = 0;  // rank 0's phases added up: its seconds since its process started
  // Rank 0's seconds of `name` (a phase or concurrent work; 0 if none).
  double rank_0(const std::string& name) const;
  // Rank 0's seconds of several phases added up.
  double rank_0_sum(const std::vector<std::string>& names) const;
};

// Collective: the phases so far on rank 0, their maximum and their sum over
// the ranks of `comm`.
PhaseSummary summarize_phases(const PhaseTimer& timer, MPI_Comm comm);

// "where time went": the phases of rank 0 that took at least 1% of its wall
// time, largest first, e.g. "kernel 1.20 s (60%), wait 0.40 s (20%), ...".
std::string where_time_went(const PhaseSummary& summary);

// Every text report's line of it, with rank 0's wall time: "where time went
// (rank 0, 2.00 s since its start): kernel 1.20 s (60%), ...".
std::string where_time_went_line(const PhaseSummary& summary);

}  // namespace latdisp
