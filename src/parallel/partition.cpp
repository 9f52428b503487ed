#include "parallel/partition.hpp"

namespace latdisp {

TokenRange token_range(int64_t tokens, int rank, int ranks) {
  const int64_t base = tokens / ranks;
  const int64_t remainder = tokens % ranks;
  const int64_t r = rank;
  const int64_t begin = r * base + (r < remainder ? r : remainder);
  const int64_t count = base + (r < remainder ? 1 : 0);
  return TokenRange{begin, count};
}

}  // namespace latdisp
