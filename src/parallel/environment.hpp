// RAII for the parallel runtime: MPI first, then Kokkos; torn down in reverse.
#pragma once

#include <mpi.h>

#include <map>
#include <string>
#include <vector>

namespace latdisp {

class Environment {
 public:
  Environment(int& argc, char**& argv);
  ~Environment();  // shut_down(0) unless called
  // Kokkos, then MPI, torn down once the run ended with `exit_code` and its
  // files are in place: a fault in that teardown exits with `exit_code`
  // (guard_shutdown, parallel/signals.hpp).
  void shut_down(int exit_code);
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  int rank() const { return m_rank; }

 private:
  int m_rank = 0;
  bool m_shut_down = false;
  std::vector<char*> m_kokkos_arguments;
};

// The versions of latdisp and of the libraries it runs on, for the report.
std::map<std::string, std::string> library_versions();

}  // namespace latdisp
