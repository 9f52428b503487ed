#include "parallel/partition.hpp"

#include "parallel/errors.hpp"

namespace latdisp {

void require_a_token_per_rank(int64_t tokens, int ranks, const std::string& source) {
  if (ranks > tokens)
    fail(kExitUsage, "more ranks (" + std::to_string(ranks) + ") than tokens (" + std::to_string(tokens) + ")" +
                         (source.empty() ? "" : " in '" + source + "'") + ": use at most " + std::to_string(tokens) +
                         " ranks");
}

TokenRange token_range(int64_t tokens, int rank, int ranks) {
  const int64_t base = tokens / ranks;
  const int64_t remainder = tokens % ranks;
  const int64_t r = rank;
  const int64_t begin = r * base + (r < remainder ? r : remainder);
  const int64_t count = base + (r < remainder ? 1 : 0);
  return TokenRange{begin, count};
}

int rank_of_token(int64_t tokens, int64_t token, int ranks) {
  const int64_t base = tokens / ranks;
  const int64_t remainder = tokens % ranks;
  const int64_t in_long_ranks = remainder * (base + 1);  // the first `remainder` ranks hold base + 1
  if (token < in_long_ranks) return static_cast<int>(token / (base + 1));
  return static_cast<int>(remainder + (token - in_long_ranks) / base);
}

}  // namespace latdisp
