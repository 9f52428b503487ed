// The 1-D split of the token axis over MPI ranks: contiguous, near-equal
// blocks, the remainder spread over the first ranks.
#pragma once

#include <cstdint>
#include <string>

namespace latdisp {

struct TokenRange {
  int64_t begin;
  int64_t count;
};

// Throws Error(kExitUsage) "more ranks (R) than tokens (N) in 'SOURCE': use at
// most N ranks" unless every rank gets a token ("in 'SOURCE'" left out when
// `source` is empty).
void require_a_token_per_rank(int64_t tokens, int ranks, const std::string& source = "");

// Requires 0 <= rank < ranks and ranks <= tokens (require_a_token_per_rank).
TokenRange token_range(int64_t tokens, int rank, int ranks);

// The rank whose token_range holds `token` (0 <= token < tokens).
int rank_of_token(int64_t tokens, int64_t token, int ranks);

}  // namespace latdisp
