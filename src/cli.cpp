#include "cli.hpp"

#include <cstdio>

#include "analyze.hpp"
#include "errors.hpp"
#include "generate.hpp"
#include "options.hpp"

namespace latdisp {

int run_cli(int argc, const char* const* argv, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  try {
    const Command command = parse_command_line(argc, argv);
    if (command.help) {
      if (rank == 0) std::fputs(command.help_text.c_str(), stdout);
      return kExitOk;
    }
    if (command.name == "analyze") return run_analyze(command.analyze, comm);
    return run_generate(command.generate, comm);
  } catch (const Error& e) {
    // Every rank reaches here with the same error (parsing is identical on all
    // ranks; everything else goes through collectively()).
    if (rank == 0) std::fprintf(stderr, "latdisp: error: %s\n", e.what());
    return e.exit_code();
  }
}

}  // namespace latdisp
