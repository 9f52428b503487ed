// Small helpers shared by the MPI tests.
#pragma once

#include <mpi.h>

#include <string>

namespace latdisp {
namespace testing {

inline int world_rank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

inline int world_size() {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

// A path in the tests' build directory.
inline std::string test_file(const std::string& name) { return std::string(LATDISP_TEST_DATA_DIR) + "/" + name; }

}  // namespace testing
}  // namespace latdisp
