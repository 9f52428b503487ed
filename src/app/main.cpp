// The latdisp executable: the runtime environment, then the command line.
#include "app/cli.hpp"
#include "parallel/environment.hpp"

int main(int argc, char** argv) {
  int code = 0;
  {
    latdisp::Environment environment(argc, argv);
    code = latdisp::run_cli(argc, argv, MPI_COMM_WORLD);
  }
  return code;
}
