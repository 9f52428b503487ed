#include "bits/group_timeline.hpp"

#include <algorithm>
#include <utility>

namespace latdisp {

namespace {
constexpr int64_t kNoLink = -1;  // before a chain's first token (steps are >= 0)
}  // namespace

bool group_order(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  return a.size() != b.size() ? a.size() > b.size() : a.front() < b.front();
}

GroupTimeline::GroupTimeline(int64_t tokens, std::vector<uint8_t> dead)
    : m_dead(std::move(dead)),
      m_chain_of(static_cast<size_t>(tokens), -1),
      m_position(static_cast<size_t>(tokens), 0),
      m_new_group(static_cast<size_t>(tokens), -1) {
  if (m_dead.empty()) m_dead.assign(static_cast<size_t>(tokens), 0);
}

int64_t GroupTimeline::dead_members(const std::vector<int64_t>& tokens) const {
  int64_t dead = 0;
  for (const int64_t t : tokens) dead += m_dead[static_cast<size_t>(t)];
  return dead;
}

void GroupTimeline::add_step(int64_t step, const std::vector<std::vector<int64_t>>& groups) {
  if (m_series.empty()) {
    start(step, groups);
  } else {
    for (size_t g = 0; g < groups.size(); ++g)
      for (const int64_t t : groups[g]) m_new_group[static_cast<size_t>(t)] = static_cast<int64_t>(g);
    update_initial(step);
    std::vector<Chain> next = relink(step, groups);
    for (const Chain& chain : m_chains)
      for (const int64_t t : chain.tokens) m_chain_of[static_cast<size_t>(t)] = -1;
    for (const std::vector<int64_t>& group : groups)
      for (const int64_t t : group) m_new_group[static_cast<size_t>(t)] = -1;
    m_chains = std::move(next);
  }
  for (size_t c = 0; c < m_chains.size(); ++c)
    for (size_t i = 0; i < m_chains[c].tokens.size(); ++i) {
      m_chain_of[static_cast<size_t>(m_chains[c].tokens[i])] = static_cast<int64_t>(c);
      m_position[static_cast<size_t>(m_chains[c].tokens[i])] = static_cast<int64_t>(i);
    }
  summarize(step, groups);
}

// The first step: every group is identical since this step.
void GroupTimeline::start(int64_t step, const std::vector<std::vector<int64_t>>& groups) {
  for (const std::vector<int64_t>& group : groups) {
    Chain chain{group, std::vector<int64_t>(group.size(), step)};
    chain.links[0] = kNoLink;
    m_chains.push_back(std::move(chain));
    m_initial.push_back({{group, step, dead_members(group), std::vector<int64_t>(group.size(), -1)}, true});
  }
}

// An initial group stays intact while all its members share one group.
void GroupTimeline::update_initial(int64_t step) {
  for (TrackedInitial& initial : m_initial) {
    update_members(step, initial.group);
    if (!initial.intact) continue;
    const std::vector<int64_t>& tokens = initial.group.tokens;
    const int64_t first = m_new_group[static_cast<size_t>(tokens.front())];
    initial.intact = first >= 0 && std::all_of(tokens.begin(), tokens.end(),
                                               [&](int64_t t) { return m_new_group[static_cast<size_t>(t)] == first; });
    if (initial.intact) initial.group.intact_until = step;
  }
}

// Members still in an initial group's core leave it at `step` unless they are
// in the largest set of them that shares one group now (ties: the set holding
// the smallest member, which comes first as members are ascending).
void GroupTimeline::update_members(int64_t step, InitialGroup& group) {
  std::vector<int64_t> sizes;  // per new group, the staying members in it
  int64_t core = -1;
  for (size_t i = 0; i < group.tokens.size(); ++i) {
    const int64_t g = m_new_group[static_cast<size_t>(group.tokens[i])];
    if (group.left_at[i] >= 0 || g < 0) continue;
    if (static_cast<size_t>(g) >= sizes.size()) sizes.resize(static_cast<size_t>(g) + 1, 0);
    sizes[static_cast<size_t>(g)] += 1;
  }
  int64_t best = 0;
  for (size_t i = 0; i < group.tokens.size(); ++i) {  // the first member of the largest set wins ties
    const int64_t g = m_new_group[static_cast<size_t>(group.tokens[i])];
    if (group.left_at[i] >= 0 || g < 0) continue;
    if (sizes[static_cast<size_t>(g)] > best) best = sizes[static_cast<size_t>(g)], core = g;
  }
  for (size_t i = 0; i < group.tokens.size(); ++i)
    if (group.left_at[i] < 0 && (best < 2 || m_new_group[static_cast<size_t>(group.tokens[i])] != core))
      group.left_at[i] = step;
}

// The chains of the new groups. Members of one old chain keep their order,
// and the link between two of them becomes the largest old link between them
// (they were identical exactly that long); pieces from different old chains,
// and members that were in no group, were not identical at the previous step,
// so the links that join them are this step.
std::vector<GroupTimeline::Chain> GroupTimeline::relink(int64_t step, const std::vector<std::vector<int64_t>>& groups) {
  std::vector<Chain> next(groups.size());
  std::vector<int64_t> last_chain(groups.size(), -1), last_position(groups.size(), -1);
  const auto append = [&](int64_t g, int64_t token, int64_t link) {
    Chain& target = next[static_cast<size_t>(g)];
    target.tokens.push_back(token);
    target.links.push_back(target.tokens.size() == 1 ? kNoLink : link);
  };
  // Indices of the old chain's links with no larger link after them: the
  // largest link in positions from..i is the first of them at or after from.
  std::vector<int64_t> maxima;
  for (size_t c = 0; c < m_chains.size(); ++c) {
    const Chain& chain = m_chains[c];
    maxima.clear();
    for (int64_t i = 0; i < static_cast<int64_t>(chain.tokens.size()); ++i) {
      const int64_t link = chain.links[static_cast<size_t>(i)];
      while (!maxima.empty() && chain.links[static_cast<size_t>(maxima.back())] <= link) maxima.pop_back();
      maxima.push_back(i);
      const int64_t g = m_new_group[static_cast<size_t>(chain.tokens[static_cast<size_t>(i)])];
      if (g < 0) continue;
      int64_t joined = step;
      if (last_chain[static_cast<size_t>(g)] == static_cast<int64_t>(c)) {
        const int64_t from = last_position[static_cast<size_t>(g)] + 1;
        joined = chain.links[static_cast<size_t>(*std::lower_bound(maxima.begin(), maxima.end(), from))];
      }
      append(g, chain.tokens[static_cast<size_t>(i)], joined);
      last_chain[static_cast<size_t>(g)] = static_cast<int64_t>(c);
      last_position[static_cast<size_t>(g)] = i;
    }
  }
  for (size_t g = 0; g < groups.size(); ++g)
    for (const int64_t t : groups[g])
      if (m_chain_of[static_cast<size_t>(t)] < 0) append(static_cast<int64_t>(g), t, step);
  return next;
}

void GroupTimeline::summarize(int64_t step, const std::vector<std::vector<int64_t>>& groups) {
  StepSummary summary;
  summary.step = step;
  summary.groups = static_cast<int64_t>(groups.size());
  for (const std::vector<int64_t>& group : groups) {
    summary.members += static_cast<int64_t>(group.size());
    summary.largest = std::max(summary.largest, static_cast<int64_t>(group.size()));
    summary.dead_members += dead_members(group);
  }
  m_series.push_back(summary);
}

std::vector<FinalGroup> GroupTimeline::final_groups() const {
  std::vector<FinalGroup> groups;
  for (const Chain& chain : m_chains) {
    FinalGroup group;
    group.tokens = chain.tokens;
    std::sort(group.tokens.begin(), group.tokens.end());
    group.formed_at = m_series.empty() ? 0 : m_series.front().step;
    for (size_t i = 1; i < chain.links.size(); ++i) group.formed_at = std::max(group.formed_at, chain.links[i]);
    group.dead_members = dead_members(group.tokens);
    groups.push_back(std::move(group));
  }
  std::sort(groups.begin(), groups.end(),
            [](const FinalGroup& a, const FinalGroup& b) { return group_order(a.tokens, b.tokens); });
  return groups;
}

std::vector<InitialGroup> GroupTimeline::initial_groups() const {
  std::vector<InitialGroup> groups;
  for (const TrackedInitial& initial : m_initial) groups.push_back(initial.group);
  std::sort(groups.begin(), groups.end(),
            [](const InitialGroup& a, const InitialGroup& b) { return group_order(a.tokens, b.tokens); });
  return groups;
}

}  // namespace latdisp
