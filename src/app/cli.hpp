// The `latdisp` command: parses the subcommand and runs it; turns errors into
// one message from rank 0 and an exit code.
#pragma once

#include <mpi.h>

namespace latdisp {

// Collective over `comm`. Returns the process exit code (docs/report.md §12).
int run_cli(int argc, const char* const* argv, MPI_Comm comm);

}  // namespace latdisp
