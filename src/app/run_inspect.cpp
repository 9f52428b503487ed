#include "app/run_inspect.hpp"

#include <cstdint>
#include <cstdio>
#include <vector>

#include "bits/inspect.hpp"
#include "io/token_groups.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

int run_inspect(const InspectConfig& options, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  std::vector<int64_t> dims;
  dims = parse_index_list(options.dims, "--dims");
  const std::vector<TokenGroup> groups = load_token_groups(options.groups.file, options.groups.tokens, comm);
  const InspectTable table = inspect_matrix(options.matrix, groups, dims, comm);
  if (rank == 0) std::fputs((options.json ? inspect_json(table) : inspect_text(table)).c_str(), stdout);
  return kExitOk;
}

}  // namespace latdisp
