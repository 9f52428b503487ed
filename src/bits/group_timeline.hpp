// The groups of bit-identical rows followed over the selected steps, one
// step at a time, keeping only the current groups (docs/definitions.md,
// "Black holes over time"): when each final group formed, and how long each
// initial group stayed intact. Plain host code, no MPI (rank 0 runs it).
#pragma once

#include <cstdint>
#include <vector>

namespace latdisp {

struct StepSummary {
  int64_t step = 0;
  int64_t groups = 0;
  int64_t members = 0;  // tokens in groups
  int64_t largest = 0;  // 0 when there is no group
  int64_t dead_members = 0;
};

// A group at the last step added.
struct FinalGroup {
  std::vector<int64_t> tokens;  // ascending
  int64_t formed_at = 0;        // first step of the trailing run in which all are identical
  int64_t dead_members = 0;
};

// A group at the first step added.
struct InitialGroup {
  std::vector<int64_t> tokens;  // ascending
  int64_t intact_until = 0;     // last step of the leading run in which all are identical
  int64_t dead_members = 0;
  // Per member (as `tokens`): the first selected step at which it was no
  // longer in the group's core, -1 if it never left. The core at a step is
  // the largest set of members still in it that share one group there (ties:
  // the set with the smallest token); who is not in it has left, for good.
  std::vector<int64_t> left_at;
};

class GroupTimeline {
 public:
  // `dead` holds 0/1 per token (empty: every token live).
  GroupTimeline(int64_t tokens, std::vector<uint8_t> dead);

  // The groups of the next selected step (steps increasing): disjoint lists
  // of ascending token ids, each of at least the minimum group size.
  void add_step(int64_t step, const std::vector<std::vector<int64_t>>& groups);

  const std::vector<StepSummary>& series() const { return m_series; }
  // Largest first, ties by smallest first token.
  std::vector<FinalGroup> final_groups() const;
  std::vector<InitialGroup> initial_groups() const;

 private:
  // A current group in an order in which links[i] = the first step of the
  // trailing run in which tokens[i - 1] and tokens[i] are identical, and the
  // run of any two members starts at the largest link between them.
  struct Chain {
    std::vector<int64_t> tokens;
    std::vector<int64_t> links;  // links[0] unused
  };
  struct TrackedInitial {
    InitialGroup group;
    bool intact = true;
  };

  void start(int64_t step, const std::vector<std::vector<int64_t>>& groups);
  void update_initial(int64_t step);
  void update_members(int64_t step, InitialGroup& group);
  std::vector<Chain> relink(int64_t step, const std::vector<std::vector<int64_t>>& groups);
  void summarize(int64_t step, const std::vector<std::vector<int64_t>>& groups);
  int64_t dead_members(const std::vector<int64_t>& tokens) const;

  std::vector<uint8_t> m_dead;
  std::vector<Chain> m_chains;
  std::vector<int64_t> m_chain_of;   // per token: its chain, or -1
  std::vector<int64_t> m_position;   // per token: its index in that chain
  std::vector<int64_t> m_new_group;  // per token, during add_step: its new group, or -1
  std::vector<TrackedInitial> m_initial;
  std::vector<StepSummary> m_series;
};

// The order of final and initial groups: larger first, then smaller first token.
bool group_order(const std::vector<int64_t>& a, const std::vector<int64_t>& b);

}  // namespace latdisp
