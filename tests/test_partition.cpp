#include <gtest/gtest.h>

#include "parallel/partition.hpp"

namespace latdisp {

TEST(TokenRange, CoversEveryTokenOnceAndIsNearEqual) {
  for (int64_t tokens : {1, 2, 3, 7, 10, 151936}) {
    for (int ranks = 1; ranks <= 7 && ranks <= tokens; ++ranks) {
      int64_t next = 0;
      for (int r = 0; r < ranks; ++r) {
        const TokenRange range = token_range(tokens, r, ranks);
        EXPECT_EQ(range.begin, next);
        EXPECT_TRUE(range.count == tokens / ranks || range.count == tokens / ranks + 1);
        // The remainder goes to the first ranks.
        EXPECT_EQ(range.count, tokens / ranks + (r < tokens % ranks ? 1 : 0));
        next += range.count;
      }
      EXPECT_EQ(next, tokens);
    }
  }
}

TEST(TokenRange, SixtyFourBitSizes) {
  const int64_t tokens = (int64_t(1) << 40) + 5;
  const TokenRange last = token_range(tokens, 6, 7);
  EXPECT_EQ(last.begin + last.count, tokens);
  EXPECT_GT(last.begin, int64_t(1) << 39);
}

TEST(TokenRange, RankOfTokenInvertsTheSplit) {
  for (int64_t tokens : {1, 2, 3, 7, 10, 1001}) {
    for (int ranks = 1; ranks <= 7 && ranks <= tokens; ++ranks) {
      for (int r = 0; r < ranks; ++r) {
        const TokenRange range = token_range(tokens, r, ranks);
        for (int64_t t = range.begin; t < range.begin + range.count; ++t) ASSERT_EQ(rank_of_token(tokens, t, ranks), r);
      }
    }
  }
  const int64_t tokens = (int64_t(1) << 40) + 5;
  EXPECT_EQ(rank_of_token(tokens, tokens - 1, 7), 6);
  EXPECT_EQ(rank_of_token(tokens, token_range(tokens, 3, 7).begin, 7), 3);
}

}  // namespace latdisp
