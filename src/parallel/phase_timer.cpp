#include "parallel/phase_timer.hpp"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include "parallel/clock.hpp"

namespace latdisp {

static_assert(std::is_same_v<std::chrono::steady_clock, Clock>, "a timer runs on the clock of every timing");

namespace {

struct RuntimeStart {
  bool recorded = false;
  Clock::time_point process_started, main_entered, runtime_ready;
  double runtime_ready_cpu = 0;  // the main thread's CPU seconds by then
};

RuntimeStart& runtime_start() {
  static RuntimeStart start;
  return start;
}

// How long ago this process started: /proc/self/stat's start time (clock
// ticks since boot) against the boot-time clock now; 0 where unknown.
double seconds_since_process_start() {
  std::ifstream stat("/proc/self/stat");
  std::string text;
  if (!std::getline(stat, text)) return 0;
  // Fields after the command name (which may hold spaces) start at field 3.
  const size_t name_end = text.rfind(')');
  if (name_end == std::string::npos) return 0;
  std::istringstream fields(text.substr(name_end + 2));
  std::string skipped;
  for (int field = 3; field < 22; ++field) fields >> skipped;
  unsigned long long start_ticks = 0;  // field 22
  timespec now{};
  if (!(fields >> start_ticks) || clock_gettime(CLOCK_BOOTTIME, &now) != 0) return 0;
  const double since_boot = static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
  const double started = static_cast<double>(start_ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
  return std::max(0.0, since_boot - started);
}

// This thread's CPU seconds so far.
double thread_cpu_seconds() {
  timespec now{};
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now) != 0) return 0;
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

void record_runtime_start(Clock::time_point main_entered, Clock::time_point runtime_ready) {
  RuntimeStart& start = runtime_start();
  const double before_main = seconds_since_process_start() - seconds_since(main_entered);
  start.process_started = main_entered - std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(std::max(0.0, before_main)));
  start.main_entered = main_entered;
  start.runtime_ready = runtime_ready;
  start.runtime_ready_cpu = thread_cpu_seconds();
  start.recorded = true;
}

PhaseTimer::PhaseTimer(std::vector<std::string> phases, std::vector<std::string> concurrent, Origin origin)
    : m_concurrent_names(std::move(concurrent)), m_concurrent(m_concurrent_names.size(), 0.0) {
  if (phases.empty()) throw std::logic_error("PhaseTimer: no phases");
  m_names = {kStartupPhase, kInitPhase};
  m_names.insert(m_names.end(), phases.begin(), phases.end());
  m_seconds.assign(m_names.size(), 0.0);
  m_cpu_seconds.assign(m_names.size(), 0.0);
  const RuntimeStart& start = runtime_start();
  m_since = Clock::now();
  m_cpu_since = thread_cpu_seconds();
  if (origin == Origin::process_start && start.recorded) {
    m_seconds[0] = seconds_between(start.process_started, start.main_entered);
    m_seconds[1] = seconds_between(start.main_entered, start.runtime_ready);
    m_since = start.runtime_ready;  // the command's first phase runs from the runtime's start
    m_cpu_seconds[1] = start.runtime_ready_cpu;
    m_cpu_since = start.runtime_ready_cpu;  // start-up and init's CPU time, together in init
  }
  m_running = 2;
}

size_t PhaseTimer::index_of(const std::vector<std::string>& names, const std::string& name) const {
  const auto found = std::find(names.begin(), names.end(), name);
  if (found == names.end()) throw std::logic_error("PhaseTimer: '" + name + "' is not declared");
  return static_cast<size_t>(found - names.begin());
}

void PhaseTimer::enter(const std::string& phase) {
  const size_t next = index_of(m_names, phase);
  const Clock::time_point now = Clock::now();
  const double cpu_now = thread_cpu_seconds();
  m_seconds[m_running] += seconds_between(m_since, now);
  m_cpu_seconds[m_running] += cpu_now - m_cpu_since;
  m_since = now;
  m_cpu_since = cpu_now;
  m_running = next;
}

double PhaseTimer::seconds(const std::string& phase) const {
  const size_t index = index_of(m_names, phase);
  return m_seconds[index] + (index == m_running ? seconds_since(m_since) : 0.0);
}

void PhaseTimer::add_concurrent(const std::string& name, double seconds) {
  m_concurrent[index_of(m_concurrent_names, name)] += seconds;
}

std::vector<double> PhaseTimer::phase_seconds() const {
  std::vector<double> seconds = m_seconds;
  seconds[m_running] += seconds_since(m_since);
  return seconds;
}

std::vector<double> PhaseTimer::phase_cpu_seconds() const {
  std::vector<double> seconds = m_cpu_seconds;
  seconds[m_running] += thread_cpu_seconds() - m_cpu_since;
  return seconds;
}

namespace {

std::vector<PhaseSeconds> reduce_seconds(const std::vector<std::string>& names, const std::vector<double>& mine,
                                         const std::vector<double>& cpu, int rank, MPI_Comm comm) {
  const int count = static_cast<int>(mine.size());
  std::vector<double> max(mine.size()), sum(mine.size());
  MPI_Reduce(mine.data(), max.data(), count, MPI_DOUBLE, MPI_MAX, 0, comm);
  MPI_Reduce(mine.data(), sum.data(), count, MPI_DOUBLE, MPI_SUM, 0, comm);
  std::vector<PhaseSeconds> reduced;
  if (rank != 0) return reduced;
  for (size_t n = 0; n < names.size(); ++n) reduced.push_back({names[n], mine[n], max[n], sum[n], cpu[n]});
  return reduced;
}

}  // namespace

PhaseSummary summarize_phases(const PhaseTimer& timer, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  PhaseSummary summary;
  summary.phases = reduce_seconds(timer.phase_names(), timer.phase_seconds(), timer.phase_cpu_seconds(), rank, comm);
  summary.concurrent =
      reduce_seconds(timer.concurrent_names(), timer.concurrent_seconds(), timer.concurrent_seconds(), rank, comm);
  for (const PhaseSeconds& phase : summary.phases) summary.wall += phase.rank_0;
  return summary;
}

double PhaseSummary::rank_0(const std::string& name) const {
  for (const std::vector<PhaseSeconds>* list : {&phases, &concurrent})
    for (const PhaseSeconds& entry : *list)
      if (entry.name == name) return entry.rank_0;
  return 0;
}

double PhaseSummary::rank_0_sum(const std::vector<std::string>& names) const {
  double seconds = 0;
  for (const std::string& name : names) seconds += rank_0(name);
  return seconds;
}

std::string where_time_went(const PhaseSummary& summary) {
  std::vector<PhaseSeconds> phases = summary.phases;
  std::stable_sort(phases.begin(), phases.end(),
                   [](const PhaseSeconds& a, const PhaseSeconds& b) { return a.rank_0 > b.rank_0; });
  std::string line;
  char part[96];
  for (const PhaseSeconds& phase : phases) {
    if (summary.wall <= 0 || phase.rank_0 < 0.01 * summary.wall) continue;
    std::snprintf(part, sizeof part, "%s%s %.2f s (%.0f%%)", line.empty() ? "" : ", ", phase.name.c_str(), phase.rank_0,
                  100.0 * phase.rank_0 / summary.wall);
    line += part;
  }
  return line;
}

std::string where_time_went_line(const PhaseSummary& summary) {
  char head[96];
  std::snprintf(head, sizeof head, "where time went (rank 0, %.2f s since its start): ", summary.wall);
  return head + where_time_went(summary);
}

}  // namespace latdisp
