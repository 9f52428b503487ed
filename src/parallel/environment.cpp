#include "parallel/environment.hpp"

#include <Kokkos_Core.hpp>

#include <hdf5.h>

#include <cstdlib>
#include <cstring>
#include <thread>

#include <pthread.h>
#include <signal.h>

#include "parallel/clock.hpp"
#include "parallel/launcher_connection.hpp"
#include "parallel/phase_timer.hpp"
#include "parallel/signals.hpp"

namespace latdisp {
namespace {

// Open MPI settings latdisp picks for itself before MPI_Init, unless the
// user chose them (docs/operations.md §10):
// - MPI_Init probes the network messaging layers (UCX, PSM, OFI) before it
//   settles: 0.2 s on a workstation, longer than a small analysis. When
//   every rank is on this node (mpirun says so) or the process runs alone,
//   messages go through shared memory, which ob1 carries: pick ob1 there.
// - Each rank runs a reading thread beside its compute thread, so with one
//   rank per core the cores are shared two to one: a rank waiting at an
//   agreement point yields its core instead of spinning on it.
// - Under mpirun on one node, a rank takes the job's description from the
//   launcher in one message (PMIx's "hash" store) instead of mapping the
//   launcher's shared-memory store: about 1000 fewer page faults and 25-30 ms
//   less CPU time per rank at start-up.
void tune_open_mpi() {
  setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
  const char* world = std::getenv("OMPI_COMM_WORLD_SIZE");
  const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
  const bool one_node = world != nullptr && local != nullptr && std::strcmp(world, local) == 0;
  if (one_node) setenv("PMIX_MCA_gds", "hash", 0);
  if (std::getenv("OMPI_MCA_pml") != nullptr) return;
  const bool alone = world == nullptr && std::getenv("PMIX_RANK") == nullptr && std::getenv("SLURM_JOB_ID") == nullptr;
  if (one_node || alone) setenv("OMPI_MCA_pml", "ob1", 0);
}

// LATDISP_TEST_SHUTDOWN_FAULT=1 (the tests' fault injection): once MPI has
// shut down, a thread of this process faults (SIGSEGV), as the MPI
// library's own threads rarely do while the process ends (docs/operations.md
// §5). The guard ends the process in that thread.
void fault_in_shutdown_for_tests() {
  const char* fault = std::getenv("LATDISP_TEST_SHUTDOWN_FAULT");
  if (fault == nullptr || std::strcmp(fault, "1") != 0) return;
  std::thread([] { pthread_kill(pthread_self(), SIGSEGV); }).join();
}

}  // namespace

Environment::Environment(int& argc, char**& argv) {
  const Clock::time_point entered = Clock::now();
  tune_open_mpi();
  // Several threads may call MPI (a step block is read while the kernel runs
  // on the one before); without that, reads stay on this thread.
  int provided = MPI_THREAD_SINGLE;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  // MPI_Finalize's closing exchange with the launcher otherwise waits about
  // 40 ms for a delayed acknowledgement (parallel/launcher_connection.hpp).
  send_launcher_messages_at_once();
  MPI_Comm_rank(MPI_COMM_WORLD, &m_rank);
  // Errors become one message from rank 0, never an abort on one rank.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  // After MPI_Init, whose library may install handlers of its own.
  install_signal_handlers();
  // Kokkos sees only its own --kokkos-* arguments: on `--help` it would
  // print its own banner.
  m_kokkos_arguments.push_back(argv[0]);
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--kokkos-", 9) == 0) m_kokkos_arguments.push_back(argv[i]);
  int kokkos_argc = static_cast<int>(m_kokkos_arguments.size());
  Kokkos::initialize(kokkos_argc, m_kokkos_arguments.data());
  record_runtime_start(entered, Clock::now());
}

Environment::~Environment() { shut_down(0); }

void Environment::shut_down(int exit_code) {
  if (m_shut_down) return;
  m_shut_down = true;
  guard_shutdown(exit_code);
  Kokkos::finalize();
  MPI_Finalize();
  fault_in_shutdown_for_tests();
}

std::map<std::string, std::string> library_versions() {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  char mpi[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int length = 0;
  MPI_Get_library_version(mpi, &length);
  std::string mpi_text(mpi, static_cast<size_t>(length));
  if (const size_t line = mpi_text.find_first_of("\n,"); line != std::string::npos) mpi_text.resize(line);
  return {{"latdisp", LATDISP_VERSION},
          {"kokkos", std::to_string(KOKKOS_VERSION / 10000) + "." + std::to_string(KOKKOS_VERSION / 100 % 100) + "." +
                         std::to_string(KOKKOS_VERSION % 100)},
          {"hdf5", std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release)},
          {"mpi", mpi_text}};
}

}  // namespace latdisp
