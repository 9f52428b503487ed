#include "app/run_separation.hpp"

#include <cstdio>
#include <utility>
#include <vector>

#include "bits/separation.hpp"
#include "io/token_groups.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

int run_separation(const SeparationConfig& options, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  std::vector<TokenGroup> groups = load_token_groups(options.groups.file, options.groups.tokens, comm);
  const SeparationResult result = separate_groups(options.matrix, std::move(groups), options.max_groups, comm);
  if (rank == 0) std::fputs((options.json ? separation_json(result) : separation_text(result)).c_str(), stdout);
  return kExitOk;
}

}  // namespace latdisp
