// GroupTimeline against a brute-force oracle written from the definitions
// (docs/definitions.md, "Black holes over time"): per step, the classes of
// equal rows; formed_at by scanning back from the last step, intact_until by
// scanning forward from the first.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include "bits/group_timeline.hpp"

namespace latdisp {

namespace {

using Groups = std::vector<std::vector<int64_t>>;
using Rows = std::vector<std::vector<int>>;  // rows[step][token]: one value stands for a whole row

Groups groups_of(const std::vector<int>& row, int64_t min_size) {
  std::map<int, std::vector<int64_t>> classes;
  for (size_t t = 0; t < row.size(); ++t) classes[row[t]].push_back(static_cast<int64_t>(t));
  Groups groups;
  for (auto& [value, tokens] : classes)
    if (static_cast<int64_t>(tokens.size()) >= min_size) groups.push_back(tokens);
  return groups;
}

bool identical_at(const Rows& rows, size_t step, const std::vector<int64_t>& tokens) {
  for (const int64_t t : tokens)
    if (rows[step][static_cast<size_t>(t)] != rows[step][static_cast<size_t>(tokens[0])]) return false;
  return true;
}

void sort_groups(Groups& groups) { std::sort(groups.begin(), groups.end(), group_order); }

// Runs the timeline over rows at the given steps and checks everything.
void check_against_oracle(const Rows& rows, const std::vector<int64_t>& steps, int64_t min_size,
                          const std::vector<uint8_t>& dead) {
  const int64_t tokens = static_cast<int64_t>(rows[0].size());
  GroupTimeline timeline(tokens, dead);
  for (const int64_t s : steps) timeline.add_step(s, groups_of(rows[static_cast<size_t>(s)], min_size));

  const auto dead_count = [&](const std::vector<int64_t>& g) {
    int64_t n = 0;
    for (const int64_t t : g) n += dead.empty() ? 0 : dead[static_cast<size_t>(t)];
    return n;
  };
  ASSERT_EQ(timeline.series().size(), steps.size());
  for (size_t k = 0; k < steps.size(); ++k) {
    const Groups groups = groups_of(rows[static_cast<size_t>(steps[k])], min_size);
    const StepSummary& s = timeline.series()[k];
    int64_t members = 0, largest = 0, dead_members = 0;
    for (const auto& g : groups) {
      members += static_cast<int64_t>(g.size());
      largest = std::max(largest, static_cast<int64_t>(g.size()));
      dead_members += dead_count(g);
    }
    EXPECT_EQ(s.step, steps[k]);
    EXPECT_EQ(s.groups, static_cast<int64_t>(groups.size()));
    EXPECT_EQ(s.members, members);
    EXPECT_EQ(s.largest, largest);
    EXPECT_EQ(s.dead_members, dead_members);
  }

  Groups last = groups_of(rows[static_cast<size_t>(steps.back())], min_size);
  sort_groups(last);
  const std::vector<FinalGroup> finals = timeline.final_groups();
  ASSERT_EQ(finals.size(), last.size());
  for (size_t g = 0; g < last.size(); ++g) {
    size_t k = steps.size() - 1;
    while (k > 0 && identical_at(rows, static_cast<size_t>(steps[k - 1]), last[g])) --k;
    EXPECT_EQ(finals[g].tokens, last[g]);
    EXPECT_EQ(finals[g].formed_at, steps[k]) << "final group " << g;
    EXPECT_EQ(finals[g].dead_members, dead_count(last[g]));
  }

  Groups first = groups_of(rows[static_cast<size_t>(steps.front())], min_size);
  sort_groups(first);
  const std::vector<InitialGroup> initials = timeline.initial_groups();
  ASSERT_EQ(initials.size(), first.size());
  for (size_t g = 0; g < first.size(); ++g) {
    size_t k = 0;
    while (k + 1 < steps.size() && identical_at(rows, static_cast<size_t>(steps[k + 1]), first[g])) ++k;
    EXPECT_EQ(initials[g].tokens, first[g]);
    EXPECT_EQ(initials[g].intact_until, steps[k]) << "initial group " << g;
    EXPECT_EQ(initials[g].dead_members, dead_count(first[g]));
  }
}

}  // namespace

// Tokens 1 and 2 are identical at steps 0-2; token 0 joins them at step 1
// only. At step 2 the group {1, 2} has been identical since step 0, though
// the group it sat in at step 1 formed at step 1.
// When each member left its initial group: the core is the largest set of
// staying members sharing one group (ties: the set with the smallest token).
TEST(GroupTimeline, MembersLeaveTheCore) {
  GroupTimeline timeline(6, {});
  timeline.add_step(0, {{0, 1, 2, 3, 4}});
  timeline.add_step(5, {{0, 1, 2}, {3, 4}});  // 3 and 4 split off
  timeline.add_step(9, {{0, 5}, {1, 2}});     // 0 goes with an outsider
  timeline.add_step(12, {{0, 1, 2}});         // 0 comes back: it left for good
  const std::vector<InitialGroup> initial = timeline.initial_groups();
  ASSERT_EQ(initial.size(), 1u);
  EXPECT_EQ(initial[0].left_at, (std::vector<int64_t>{9, -1, -1, 5, 5}));
  EXPECT_EQ(initial[0].intact_until, 0);
}

TEST(GroupTimeline, MembersLeaveOnATieTheSetWithoutTheSmallestToken) {
  GroupTimeline timeline(4, {});
  timeline.add_step(0, {{0, 1, 2, 3}});
  timeline.add_step(1, {{2, 3}, {0, 1}});
  timeline.add_step(2, {});  // no group at all: every staying member leaves
  EXPECT_EQ(timeline.initial_groups()[0].left_at, (std::vector<int64_t>{2, 2, 1, 1}));
}

TEST(GroupTimeline, SubgroupKeepsItsOwnHistory) {
  const Rows rows = {{5, 7, 7}, {7, 7, 7}, {5, 7, 7}};
  GroupTimeline timeline(3, {});
  for (int64_t s = 0; s < 3; ++s) timeline.add_step(s, groups_of(rows[static_cast<size_t>(s)], 2));
  const std::vector<FinalGroup> finals = timeline.final_groups();
  ASSERT_EQ(finals.size(), 1u);
  EXPECT_EQ(finals[0].tokens, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(finals[0].formed_at, 0);
  check_against_oracle(rows, {0, 1, 2}, 2, {});
}

TEST(GroupTimeline, SplitForOneStepAndReformed) {
  // Tokens 0-3 together, apart at step 2, together again from step 3.
  const Rows rows = {{1, 1, 1, 1, 9}, {1, 1, 1, 1, 8}, {1, 1, 2, 2, 7}, {3, 3, 3, 3, 6}, {3, 3, 3, 3, 5}};
  GroupTimeline timeline(5, {0, 1, 0, 1, 1});
  for (int64_t s = 0; s < 5; ++s) timeline.add_step(s, groups_of(rows[static_cast<size_t>(s)], 2));
  ASSERT_EQ(timeline.final_groups().size(), 1u);
  EXPECT_EQ(timeline.final_groups()[0].formed_at, 3);
  EXPECT_EQ(timeline.final_groups()[0].dead_members, 2);
  EXPECT_EQ(timeline.initial_groups()[0].intact_until, 1);
  // A stride that skips step 2 never sees the split.
  check_against_oracle(rows, {0, 2, 4}, 2, {});
  check_against_oracle(rows, {0, 4}, 2, {});
  check_against_oracle(rows, {1, 3}, 2, {});
}

TEST(GroupTimeline, NoGroupsAtSomeSteps) {
  const Rows rows = {{1, 2, 3}, {4, 4, 4}, {1, 2, 3}, {4, 4, 5}};
  check_against_oracle(rows, {0, 1, 2, 3}, 2, {});
  check_against_oracle(rows, {1, 3}, 2, {});
  check_against_oracle(rows, {1}, 2, {});
}

TEST(GroupTimeline, RandomTrajectoriesMatchTheOracle) {
  std::mt19937_64 random(12345);
  for (int trial = 0; trial < 3000; ++trial) {
    const int64_t tokens = 1 + static_cast<int64_t>(random() % 14);
    const size_t steps = 1 + random() % 12;
    const int alphabet = 1 + static_cast<int>(random() % 5);
    const double keep = 0.3 + 0.7 * static_cast<double>(random() % 100) / 100.0;
    Rows rows(steps, std::vector<int>(static_cast<size_t>(tokens)));
    for (auto& v : rows[0]) v = static_cast<int>(random() % static_cast<uint64_t>(alphabet));
    for (size_t s = 1; s < steps; ++s)
      for (size_t t = 0; t < rows[s].size(); ++t)
        rows[s][t] = static_cast<double>(random() % 1000) / 1000.0 < keep
                         ? rows[s - 1][t]
                         : static_cast<int>(random() % static_cast<uint64_t>(alphabet));
    std::vector<int64_t> selected;
    const size_t stride = 1 + random() % 3, first = random() % steps;
    for (size_t s = first; s < steps; s += stride) selected.push_back(static_cast<int64_t>(s));
    std::vector<uint8_t> dead;
    if (trial % 2) {
      for (int64_t t = 0; t < tokens; ++t) dead.push_back(static_cast<uint8_t>(random() % 2));
    }
    const int64_t min_size = 2 + static_cast<int64_t>(random() % 3);
    SCOPED_TRACE("trial " + std::to_string(trial));
    check_against_oracle(rows, selected, min_size, dead);
    if (::testing::Test::HasFailure()) return;
  }
}

}  // namespace latdisp
