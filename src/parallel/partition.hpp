// The 1-D split of the token axis over MPI ranks: contiguous, near-equal
// blocks, the remainder spread over the first ranks.
#pragma once

#include <cstdint>

namespace latdisp {

struct TokenRange {
  int64_t begin;
  int64_t count;
};

// Requires 0 <= rank < ranks and ranks <= tokens (checked by the caller).
TokenRange token_range(int64_t tokens, int rank, int ranks);

// The rank whose token_range holds `token` (0 <= token < tokens).
int rank_of_token(int64_t tokens, int64_t token, int ranks);

}  // namespace latdisp
