#include "app/cli.hpp"

#include <cstdio>
#include <exception>
#include <new>

#include "app/run_analyze.hpp"
#include "app/run_blackholes.hpp"
#include "app/run_generate.hpp"
#include "app/run_inspect.hpp"
#include "app/run_optimizer.hpp"
#include "app/run_pack.hpp"
#include "app/run_separation.hpp"
#include "app/run_survey.hpp"
#include "config/options.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

int run_cli(int argc, const char* const* argv, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  try {
    const Command command = parse_command_line(argc, argv);
    if (command.help) {
      if (rank == 0) std::fputs(command.help_text.c_str(), command.usage_error ? stderr : stdout);
      return command.usage_error ? kExitUsage : kExitOk;
    }
    if (command.name == "analyze") return run_analyze(command.analyze, comm);
    if (command.name == "inspect") return run_inspect(command.inspect, comm);
    if (command.name == "separation") return run_separation(command.separation, comm);
    if (command.name == "blackholes") return run_blackholes(command.blackholes, comm);
    if (command.name == "pack") return run_pack(command.pack, comm);
    if (command.name == "survey") return run_survey(command.survey, comm);
    if (command.name == "optimizer") return run_optimizer(command.optimizer, comm);
    if (command.generate.matrix) return run_generate_matrix(command.generate, comm);
    return run_generate(command.generate, comm);
  } catch (const Error& e) {
    // Every rank reaches here with the same error (parsing is identical on all
    // ranks; everything else goes through collectively()).
    if (rank == 0) std::fprintf(stderr, "latdisp: error: %s\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    // Escaped collectively() on this rank alone: the others may be waiting in
    // a collective call and would wait forever. End the whole job instead.
    const bool out_of_memory = is_allocation_failure(e);
    std::fprintf(stderr, "latdisp: error: %s\n", out_of_memory ? kOutOfMemoryText : e.what());
    std::fflush(stderr);
    MPI_Abort(comm, out_of_memory ? kExitUsage : kExitInput);
    return kExitInput;
  }
}

}  // namespace latdisp
