#include "bits/identical_rows.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <unordered_map>

#include "kokkos_kernels/hash64.hpp"
#include "kokkos_kernels/hash_rows.hpp"
#include "parallel/clock.hpp"
#include "parallel/errors.hpp"
#include "parallel/exchange.hpp"

namespace latdisp {

namespace {

struct Communicator {
  MPI_Comm comm;
  int rank = 0;
  int ranks = 1;
  explicit Communicator(MPI_Comm c) : comm(c) {
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &ranks);
  }
};

// One row's hash on its way to the hash's owner: 16 bytes, the block step
// in the top bits of `where` (routing moves one record per row).
constexpr int kTokenBits = 40;
struct HashedRow {
  uint64_t hash;
  uint64_t where;
  int64_t step() const { return static_cast<int64_t>(where >> kTokenBits); }
  int64_t token() const { return static_cast<int64_t>(where & ((uint64_t(1) << kTokenBits) - 1)); }
};
HashedRow hashed_row(uint64_t hash, int64_t step, int64_t token) {
  return {hash, static_cast<uint64_t>(step) << kTokenBits | static_cast<uint64_t>(token)};
}

// A set of tokens (at one block step) whose rows may all be equal; its
// members are compared against a pivot member until every class is exact.
struct Candidates {
  int64_t step;
  int64_t bucket;  // index of the hash bucket it came from (this rank's)
  std::vector<int64_t> tokens;
};

}  // namespace

struct RowSearchBuffers::Impl {
  std::vector<uint64_t> hashes;
  std::vector<uint32_t> owners;
  std::vector<HashedRow> send;
  Received<HashedRow> received;
};
RowSearchBuffers::RowSearchBuffers() : m_impl(std::make_unique<Impl>()) {}
RowSearchBuffers::~RowSearchBuffers() = default;

namespace {

// Stage 1: hash this rank's rows; stage 2: send each (hash, step, token) to
// the owner of the hash (counted first, so each record is written once).
const Received<HashedRow>& hash_and_route(const SlabBlock& block, uint64_t mask, const Communicator& c,
                                          RowSearchBuffers::Impl& buffers, RowSearchStats& stats) {
  Clock::time_point start = Clock::now();
  const size_t rows = static_cast<size_t>(block.steps * block.slab.count);
  std::vector<uint64_t>& hashes = buffers.hashes;
  hashes.resize(rows);
  hash_rows(HostRows(block.values, rows, static_cast<size_t>(block.dims)), mask, HostRowHashes(hashes.data(), rows));
  stats.hash_seconds += seconds_since(start);

  start = Clock::now();
  std::vector<uint32_t>& owners = buffers.owners;
  owners.resize(rows);
  std::vector<int64_t> counts(static_cast<size_t>(c.ranks), 0);
  for (size_t i = 0; i < rows; ++i) ++counts[owners[i] = static_cast<uint32_t>(hash_owner(hashes[i], c.ranks))];
  std::vector<int64_t> next(static_cast<size_t>(c.ranks), 0);
  for (size_t r = 1; r < next.size(); ++r) next[r] = next[r - 1] + counts[r - 1];
  std::vector<HashedRow>& send = buffers.send;
  send.resize(rows);
  for (int64_t s = 0, i = 0; s < block.steps; ++s)
    for (int64_t t = 0; t < block.slab.count; ++t, ++i)
      send[static_cast<size_t>(next[owners[i]]++)] = hashed_row(hashes[i], s, block.slab.begin + t);
  exchange_records(send, counts, c.comm, buffers.received);
  stats.route_seconds += seconds_since(start);
  return buffers.received;
}

// Counts equal hashes of one step in an open-addressing table (most hashes
// are unique: only rows whose hash recurs are sorted afterwards).
class HashCounter {
 public:
  void reset(size_t entries) {
    size_t slots = 16;
    while (slots < 2 * entries) slots *= 2;
    m_mask = slots - 1;
    m_keys.resize(slots);
    m_counts.assign(slots, 0);
  }
  uint32_t& count(uint64_t hash) {
    size_t slot = static_cast<size_t>(splitmix64(hash)) & m_mask;
    while (m_counts[slot] != 0 && m_keys[slot] != hash) slot = (slot + 1) & m_mask;
    m_keys[slot] = hash;
    return m_counts[slot];
  }

 private:
  size_t m_mask = 0;
  std::vector<uint64_t> m_keys;
  std::vector<uint32_t> m_counts;
};

// One step's rows as they arrived: a run from each source rank.
using RowRuns = std::vector<std::pair<const HashedRow*, const HashedRow*>>;

// The rows of one step whose hash occurs at least min_size times, sorted
// by (hash, token), appended to `classes` as runs of equal hashes.
void step_candidates(int64_t step, const RowRuns& runs, int64_t min_size, HashCounter& counter,
                     std::vector<Candidates>& classes, RowSearchStats& stats) {
  size_t rows = 0;
  for (const auto& [first, last] : runs) rows += static_cast<size_t>(last - first);
  if (static_cast<int64_t>(rows) < min_size) return;
  counter.reset(rows);
  for (const auto& [first, last] : runs)
    for (const HashedRow* row = first; row < last; ++row) ++counter.count(row->hash);
  std::vector<std::pair<uint64_t, int64_t>> repeated;
  for (const auto& [first, last] : runs)
    for (const HashedRow* row = first; row < last; ++row)
      if (counter.count(row->hash) >= static_cast<uint32_t>(min_size)) repeated.push_back({row->hash, row->token()});
  std::sort(repeated.begin(), repeated.end());
  for (size_t i = 0; i < repeated.size();) {
    size_t j = i + 1;
    while (j < repeated.size() && repeated[j].first == repeated[i].first) ++j;
    Candidates candidates{step, stats.candidate_buckets, {}};
    for (size_t k = i; k < j; ++k) candidates.tokens.push_back(repeated[k].second);
    stats.candidate_buckets += 1;
    stats.candidate_rows += static_cast<int64_t>(j - i);
    classes.push_back(std::move(candidates));
    i = j;
  }
}

// Stage 3 (on the owner): per step, the runs of equal hashes with at least
// min_size rows become candidate classes; the rest cannot hold a group.
// Each source sent its rows in step order, so a step is one run per source.
std::vector<Candidates> candidate_classes(const Received<HashedRow>& rows, int64_t steps, int64_t min_size,
                                          RowSearchStats& stats) {
  const Clock::time_point start = Clock::now();
  const size_t sources = rows.offsets.size() - 1;
  std::vector<const HashedRow*> cursor, end;
  for (size_t r = 0; r < sources; ++r) {
    cursor.push_back(rows.records.data() + rows.offsets[r]);
    end.push_back(rows.records.data() + rows.offsets[r + 1]);
  }
  std::vector<Candidates> classes;
  HashCounter counter;
  RowRuns runs(sources);
  for (int64_t s = 0; s < steps; ++s) {
    for (size_t r = 0; r < sources; ++r) {
      const HashedRow* first = cursor[r];
      while (cursor[r] < end[r] && cursor[r]->step() == s) ++cursor[r];
      runs[r] = {first, cursor[r]};
    }
    step_candidates(s, runs, min_size, counter, classes, stats);
  }
  stats.group_seconds += seconds_since(start);
  return classes;
}

// What an owner asks a home rank to do in a verification round.
enum TaskKind : int64_t { kCompare = 0, kShip = 1 };
struct VerifyTask {
  int64_t kind;
  int64_t step;
  int64_t token;  // kCompare: the member to compare; kShip: the pivot to send
  int64_t other;  // kCompare: the pivot; kShip: the rank that needs the pivot's row
  int64_t tag;    // kCompare: the owner's index of this comparison
};
// A home rank's answer: the sign of memcmp(member row, pivot row).
struct VerifyReply {
  int64_t tag;
  int64_t order;
};

// One round's comparisons on the owner: outstanding[tag] = (class, member).
struct VerifyRound {
  std::vector<std::vector<VerifyTask>> tasks;  // per home rank
  std::vector<std::pair<size_t, int64_t>> outstanding;
  std::vector<int64_t> pivots;  // per class
};

// The pivot of a class: a pseudo-random member (so the three-way split takes
// about log(distinct rows) rounds whatever the order of rows and tokens).
int64_t choose_pivot(const std::vector<int64_t>& tokens, int64_t round) {
  int64_t best = tokens.front();
  uint64_t best_key = ~uint64_t(0);
  for (const int64_t t : tokens) {
    const uint64_t key = splitmix64(static_cast<uint64_t>(t) ^ splitmix64(static_cast<uint64_t>(round)));
    if (key < best_key || (key == best_key && t < best)) best = t, best_key = key;
  }
  return best;
}

// Stage 4a (owner): every member but the pivot is compared with the pivot on
// its home rank; the pivot's home ships the pivot's row to the other homes.
VerifyRound plan_round(const std::vector<Candidates>& classes, int64_t round, int64_t tokens, const Communicator& c) {
  VerifyRound plan;
  plan.tasks.resize(static_cast<size_t>(c.ranks));
  std::vector<int64_t> shipped_to(static_cast<size_t>(c.ranks), -1);  // last class shipped to each rank
  for (size_t k = 0; k < classes.size(); ++k) {
    const Candidates& cls = classes[k];
    const int64_t pivot = choose_pivot(cls.tokens, round);
    plan.pivots.push_back(pivot);
    const int pivot_home = rank_of_token(tokens, pivot, c.ranks);
    for (const int64_t t : cls.tokens) {
      if (t == pivot) continue;
      const int home = rank_of_token(tokens, t, c.ranks);
      const int64_t tag = static_cast<int64_t>(plan.outstanding.size());
      plan.outstanding.push_back({k, t});
      plan.tasks[static_cast<size_t>(home)].push_back({kCompare, cls.step, t, pivot, tag});
      if (home != pivot_home && shipped_to[static_cast<size_t>(home)] != static_cast<int64_t>(k)) {
        shipped_to[static_cast<size_t>(home)] = static_cast<int64_t>(k);
        plan.tasks[static_cast<size_t>(pivot_home)].push_back({kShip, cls.step, pivot, home, -1});
      }
    }
  }
  return plan;
}

const uint16_t* local_row(const SlabBlock& block, int64_t step, int64_t token) {
  return block.values + (step * block.slab.count + (token - block.slab.begin)) * block.dims;
}

// A shipped row: (step, token) in 8 uint16 words, then the row.
constexpr int64_t kRowHeader = 8;

// Stage 4b (pivot homes): send the requested pivot rows; returns the rows
// this rank received, by (step, token).
std::unordered_map<int64_t, const uint16_t*> ship_pivot_rows(const SlabBlock& block, const Received<VerifyTask>& tasks,
                                                             const Communicator& c, std::vector<uint16_t>& storage) {
  std::vector<std::vector<uint16_t>> outgoing(static_cast<size_t>(c.ranks));
  for (const VerifyTask& task : tasks.records) {
    if (task.kind != kShip) continue;
    std::vector<uint16_t>& out = outgoing[static_cast<size_t>(task.other)];
    const int64_t header[2] = {task.step, task.token};
    const size_t at = out.size();
    out.resize(at + static_cast<size_t>(kRowHeader + block.dims));
    std::memcpy(&out[at], header, sizeof header);
    std::memcpy(&out[at + kRowHeader], local_row(block, task.step, task.token), static_cast<size_t>(block.dims) * 2);
  }
  storage = exchange_records(outgoing, c.comm).records;
  std::unordered_map<int64_t, const uint16_t*> rows;
  const size_t record = static_cast<size_t>(kRowHeader + block.dims);
  for (size_t at = 0; at + record <= storage.size(); at += record) {
    int64_t header[2];
    std::memcpy(header, &storage[at], sizeof header);
    rows[header[0] * block.tokens + header[1]] = &storage[at + kRowHeader];
  }
  return rows;
}

// Stage 4c (member homes): compare each member's row with its pivot's row,
// answering the owner that asked.
Received<VerifyReply> compare_members(const SlabBlock& block, const Received<VerifyTask>& tasks,
                                      const std::unordered_map<int64_t, const uint16_t*>& shipped,
                                      const Communicator& c) {
  std::vector<std::vector<VerifyReply>> replies(static_cast<size_t>(c.ranks));
  for (int source = 0; source < c.ranks; ++source)
    for (int64_t i = tasks.offsets[source]; i < tasks.offsets[source + 1]; ++i) {
      const VerifyTask& task = tasks.records[static_cast<size_t>(i)];
      if (task.kind != kCompare) continue;
      const bool pivot_here = task.other >= block.slab.begin && task.other < block.slab.begin + block.slab.count;
      const uint16_t* pivot =
          pivot_here ? local_row(block, task.step, task.other) : shipped.at(task.step * block.tokens + task.other);
      const int order =
          std::memcmp(local_row(block, task.step, task.token), pivot, static_cast<size_t>(block.dims) * 2);
      replies[static_cast<size_t>(source)].push_back({task.tag, order < 0 ? -1 : (order > 0 ? 1 : 0)});
    }
  return exchange_records(replies, c.comm);
}

// Stage 4d (owner): split each class into the members below, equal to and
// above its pivot. Equal parts are exact groups; the others are compared
// again if they can still hold a group.
std::vector<Candidates> refine_classes(const std::vector<Candidates>& classes, const VerifyRound& round,
                                       const Received<VerifyReply>& replies, int64_t min_size,
                                       std::vector<Candidates>& exact, std::vector<uint8_t>& collided) {
  std::vector<std::vector<int64_t>> parts(classes.size() * 3);  // below, equal, above
  for (size_t k = 0; k < classes.size(); ++k) parts[3 * k + 1].push_back(round.pivots[k]);
  for (const VerifyReply& reply : replies.records) {
    const auto& [k, token] = round.outstanding[static_cast<size_t>(reply.tag)];
    parts[3 * k + static_cast<size_t>(reply.order + 1)].push_back(token);
  }
  std::vector<Candidates> unresolved;
  for (size_t k = 0; k < classes.size(); ++k) {
    const Candidates& cls = classes[k];
    if (!parts[3 * k].empty() || !parts[3 * k + 2].empty()) collided[static_cast<size_t>(cls.bucket)] = 1;
    for (size_t p = 0; p < 3; ++p) {
      std::vector<int64_t>& tokens = parts[3 * k + p];
      if (static_cast<int64_t>(tokens.size()) < min_size) continue;
      std::sort(tokens.begin(), tokens.end());
      (p == 1 ? exact : unresolved).push_back({cls.step, cls.bucket, std::move(tokens)});
    }
  }
  return unresolved;
}

// Stage 4: verification rounds until no class is left unresolved on any rank.
std::vector<Candidates> verify_classes(const SlabBlock& block, std::vector<Candidates> classes, int64_t min_size,
                                       const Communicator& c, RowSearchStats& stats) {
  const Clock::time_point start = Clock::now();
  std::vector<Candidates> exact;
  std::vector<uint8_t> collided(static_cast<size_t>(stats.candidate_buckets), 0);
  for (int64_t round = 0;; ++round) {
    int64_t pending = static_cast<int64_t>(classes.size());
    MPI_Allreduce(MPI_IN_PLACE, &pending, 1, MPI_INT64_T, MPI_SUM, c.comm);
    if (pending == 0) break;
    stats.verify_rounds = std::max(stats.verify_rounds, round + 1);
    const VerifyRound plan = plan_round(classes, round, block.tokens, c);
    const Received<VerifyTask> tasks = exchange_records(plan.tasks, c.comm);
    std::vector<uint16_t> storage;
    const std::unordered_map<int64_t, const uint16_t*> shipped = ship_pivot_rows(block, tasks, c, storage);
    const Received<VerifyReply> replies = compare_members(block, tasks, shipped, c);
    classes = refine_classes(classes, plan, replies, min_size, exact, collided);
  }
  for (const uint8_t flag : collided) stats.collision_buckets += flag;
  stats.verify_seconds += seconds_since(start);
  return exact;
}

// Stage 5: every owner's exact groups to rank 0, by block step, ordered by
// first token. Records: [step, size, tokens...].
std::vector<StepGroups> gather_groups(const std::vector<Candidates>& exact, int64_t steps, const Communicator& c) {
  std::vector<int64_t> flat;
  for (const Candidates& group : exact) {
    flat.insert(flat.end(), {group.step, static_cast<int64_t>(group.tokens.size())});
    flat.insert(flat.end(), group.tokens.begin(), group.tokens.end());
  }
  std::vector<std::vector<int64_t>> outgoing(static_cast<size_t>(c.ranks));
  outgoing[0] = std::move(flat);
  const std::vector<int64_t> all = exchange_records(outgoing, c.comm).records;
  std::vector<StepGroups> groups(static_cast<size_t>(c.rank == 0 ? steps : 0));
  for (size_t i = 0; i < all.size();) {
    const size_t n = static_cast<size_t>(all[i + 1]);
    groups[static_cast<size_t>(all[i])].emplace_back(all.begin() + static_cast<std::ptrdiff_t>(i + 2),
                                                     all.begin() + static_cast<std::ptrdiff_t>(i + 2 + n));
    i += n + 2;
  }
  for (StepGroups& step : groups)
    std::sort(step.begin(), step.end(), [](const auto& a, const auto& b) { return a.front() < b.front(); });
  return groups;
}

}  // namespace

int hash_owner(uint64_t hash, int ranks) {
  // The high word of mix * ranks: uniform over ranks, without a division.
  return static_cast<int>((static_cast<unsigned __int128>(splitmix64(hash)) * static_cast<uint64_t>(ranks)) >> 64);
}

void RowSearchStats::add(const RowSearchStats& other) {
  candidate_buckets += other.candidate_buckets;
  candidate_rows += other.candidate_rows;
  collision_buckets += other.collision_buckets;
  verify_rounds = std::max(verify_rounds, other.verify_rounds);
  hash_seconds += other.hash_seconds;
  route_seconds += other.route_seconds;
  group_seconds += other.group_seconds;
  verify_seconds += other.verify_seconds;
}

std::vector<StepGroups> find_identical_rows(const SlabBlock& block, const RowSearchSettings& settings,
                                            RowSearchBuffers& buffers, RowSearchStats& stats, MPI_Comm comm) {
  const Communicator c(comm);
  // The same on every rank, so every rank throws.
  if (block.tokens >= (int64_t(1) << kTokenBits) || block.steps >= (int64_t(1) << (64 - kTokenBits - 1)))
    fail(kExitUsage, "blackholes handles at most 2^40 tokens and 2^23 steps per block");
  RowSearchStats local;
  const Received<HashedRow>& routed = hash_and_route(block, settings.hash_mask, c, buffers.impl(), local);
  std::vector<Candidates> classes = candidate_classes(routed, block.steps, settings.min_size, local);
  const std::vector<Candidates> exact = verify_classes(block, std::move(classes), settings.min_size, c, local);
  std::vector<StepGroups> groups = gather_groups(exact, block.steps, c);
  stats.add(local);
  return groups;
}

}  // namespace latdisp
