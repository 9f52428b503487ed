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
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  int rank() const { return m_rank; }

 private:
  int m_rank = 0;
  std::vector<char*> m_kokkos_arguments;
};

// The versions of latdisp and of the libraries it runs on, for the report.
std::map<std::string, std::string> library_versions();

}  // namespace latdisp
