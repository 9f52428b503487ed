// The latdisp executable: the runtime environment, then the command line.
#include "app/cli.hpp"
#include "parallel/environment.hpp"
#include "parallel/errors.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

int main(int argc, char** argv) {
  int code = 0;
  try {
    latdisp::Environment environment(argc, argv);
    code = latdisp::run_cli(argc, argv, MPI_COMM_WORLD);
    environment.shut_down(code);
  } catch (const std::exception& e) {
    // Only a start-up too short of memory (ulimit -v) gets here; run_cli catches the rest.
    const char* rank = std::getenv("OMPI_COMM_WORLD_RANK");
    if (rank == nullptr || std::strcmp(rank, "0") == 0)
      std::fprintf(stderr, "latdisp: error: cannot start: %s (is the memory limit, ulimit -v, too low?)\n",
                   latdisp::is_allocation_failure(e) ? "out of memory" : e.what());
    // Libraries half started cannot shut down cleanly (HDF5's exit handler loops): leave now.
    std::fflush(stderr);
    std::_Exit(latdisp::kExitUsage);
  }
  return code;
}
