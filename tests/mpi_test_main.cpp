// The one main of the MPI tests: MPI + Kokkos for the whole run, results
// printed by rank 0 only, and every rank exits with the same code.
#include <gtest/gtest.h>

#include "parallel/environment.hpp"

int main(int argc, char** argv) {
  int code = 0;
  {
    latdisp::Environment environment(argc, argv);
    ::testing::InitGoogleTest(&argc, argv);
    if (environment.rank() != 0) {
      auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
      delete listeners.Release(listeners.default_result_printer());
    }
    int local = RUN_ALL_TESTS();
    MPI_Allreduce(&local, &code, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  }
  return code;
}
