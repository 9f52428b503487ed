#include "survey/survey.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "kokkos_kernels/survey_rows.hpp"
#include "parallel/clock.hpp"
#include "parallel/errors.hpp"
#include "parallel/memory.hpp"
#include "parallel/partition.hpp"

namespace latdisp {

namespace {

struct Ranks {
  int rank = 0, size = 1;
  explicit Ranks(MPI_Comm comm) {
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
  }
};

// The local rows' values of every rank, in token order, on rank 0.
template <class T>
std::vector<T> gather_to_root(const std::vector<T>& local, int64_t tokens, MPI_Comm comm) {
  const Ranks r(comm);
  std::vector<int> counts(size_t(r.size)), displacements(size_t(r.size));
  for (int k = 0; k < r.size; ++k) {
    const TokenRange range = token_range(tokens, k, r.size);
    counts[size_t(k)] = int(range.count * int64_t(sizeof(T)));
    displacements[size_t(k)] = int(range.begin * int64_t(sizeof(T)));
  }
  std::vector<T> all(r.rank == 0 ? size_t(tokens) : 0);
  check_mpi(MPI_Gatherv(local.data(), int(local.size() * sizeof(T)), MPI_BYTE, all.data(), counts.data(),
                        displacements.data(), MPI_BYTE, 0, comm),
            "MPI_Gatherv");
  return all;
}

// Rows per block: the row bytes (twice with --compare) and the lattice
// positions of the distance pass fit the budget, and at most 64 MiB (larger
// blocks only cost memory traffic: the positions are written, then read
// once per four groups).
int64_t rows_per_block(const SurveyConfig& o, const EmbeddingLocation& loc, MPI_Comm comm) {
  const uint64_t budget = memory_budget_of(o.memory, comm, uint64_t(1) << 30);
  const uint64_t per_row = uint64_t(loc.row_bytes()) * (o.compare.empty() ? 1 : 2) + uint64_t(loc.dims) * 4 + 32;
  const uint64_t block_bytes = std::min<uint64_t>(budget, uint64_t(64) << 20);
  return int64_t(std::max<uint64_t>(1, block_bytes / per_row));
}

struct FirstPass {
  std::vector<uint8_t> zero, nonfinite, unchanged;
  std::vector<uint64_t> hash;
  std::vector<double> norm;
};

// Pass 1 over this rank's rows: zero, non-finite, hash, norm, unchanged.
FirstPass summarize_slab(const SurveyResult& s, const TokenRange& slab, int64_t block_rows) {
  FirstPass p;
  const size_t n = size_t(slab.count);
  p.zero.resize(n);
  p.nonfinite.resize(n);
  p.hash.resize(n);
  p.norm.resize(n);
  if (s.compare) p.unchanged.resize(n);
  const int64_t row_bytes = s.input.row_bytes();
  const EmbeddingRows rows(s.input);
  std::unique_ptr<EmbeddingRows> other(s.compare ? new EmbeddingRows(*s.compare) : nullptr);
  const int64_t block = std::min(block_rows, std::max<int64_t>(slab.count, 1));
  std::vector<unsigned char> bytes(size_t(block * row_bytes)), other_bytes(other ? bytes.size() : 0);
  for (int64_t done = 0; done < slab.count; done += block) {
    const int64_t count = std::min(block, slab.count - done);
    rows.read(slab.begin + done, count, bytes.data());
    SurveyRowSummaries out{&p.zero[size_t(done)], &p.nonfinite[size_t(done)], &p.hash[size_t(done)],
                           &p.norm[size_t(done)]};
    summarize_survey_rows(s.input.element_type, bytes.data(), count, s.input.dims, out);
    if (other) {
      other->read(slab.begin + done, count, other_bytes.data());
      for (int64_t i = 0; i < count; ++i)
        p.unchanged[size_t(done + i)] =
            std::memcmp(&bytes[size_t(i * row_bytes)], &other_bytes[size_t(i * row_bytes)], size_t(row_bytes)) == 0;
    }
  }
  for (size_t i = 0; i < n; ++i)
    p.norm[i] = p.nonfinite[i] ? std::numeric_limits<double>::quiet_NaN() : std::sqrt(p.norm[i]);
  return p;
}

// Rank 0: the groups of bit-identical finite rows. Equal hashes make a
// candidate bucket; its rows are read again and split by their bytes, so a
// hash collision never merges different rows. Largest first, ties by first token.
std::vector<std::vector<int64_t>> find_groups(const SurveyResult& s, const std::vector<uint64_t>& hash,
                                              int64_t block_rows) {
  std::vector<std::pair<uint64_t, int64_t>> keyed;
  for (size_t t = 0; t < hash.size(); ++t)
    if (!s.nonfinite[t]) keyed.push_back({hash[t] & s.hash_mask, int64_t(t)});
  std::sort(keyed.begin(), keyed.end());
  const EmbeddingRows rows(s.input);
  const int64_t row_bytes = s.input.row_bytes();
  std::vector<std::vector<int64_t>> groups;
  std::vector<unsigned char> bytes;
  for (size_t i = 0; i < keyed.size();) {
    size_t end = i + 1;
    while (end < keyed.size() && keyed[end].first == keyed[i].first) ++end;
    if (end - i >= 2) {
      std::map<std::string, std::vector<int64_t>> by_content;
      for (size_t k = i; k < end; k += size_t(block_rows)) {
        std::vector<int64_t> tokens;
        for (size_t e = k; e < end && tokens.size() < size_t(block_rows); ++e) tokens.push_back(keyed[e].second);
        bytes.resize(tokens.size() * size_t(row_bytes));
        rows.read_rows(tokens, bytes.data());
        for (size_t e = 0; e < tokens.size(); ++e)
          by_content[std::string(reinterpret_cast<const char*>(&bytes[e * size_t(row_bytes)]), size_t(row_bytes))]
              .push_back(tokens[e]);
      }
      for (auto& entry : by_content)
        if (entry.second.size() >= 2) groups.push_back(std::move(entry.second));
    }
    i = end;
  }
  std::sort(groups.begin(), groups.end(), [](const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
    return a.size() != b.size() ? a.size() > b.size() : a.front() < b.front();
  });
  return groups;
}

// Pass 2 over this rank's rows: the nearest reported group and its distance.
void measure_distances(const SurveyResult& s, const TokenRange& slab, int64_t block_rows,
                       const std::vector<int32_t>& group, const std::vector<uint8_t>& nonfinite,
                       const std::vector<unsigned char>& representatives, std::vector<int32_t>& nearest,
                       std::vector<int64_t>& distance, int64_t& measured, double& kernel_seconds) {
  nearest.assign(size_t(slab.count), -1);
  distance.assign(size_t(slab.count), -1);
  std::vector<uint8_t> skip(size_t(slab.count));
  for (int64_t i = 0; i < slab.count; ++i) {
    skip[size_t(i)] = nonfinite[size_t(slab.begin + i)] || group[size_t(slab.begin + i)] >= 0;
    measured += !skip[size_t(i)];
  }
  if (s.reported_groups == 0) return;
  const EmbeddingRows rows(s.input);
  const int64_t block = std::min(block_rows, std::max<int64_t>(slab.count, 1));
  std::vector<unsigned char> bytes(size_t(block * s.input.row_bytes()));
  for (int64_t done = 0; done < slab.count; done += block) {
    const int64_t count = std::min(block, slab.count - done);
    rows.read(slab.begin + done, count, bytes.data());
    const auto start = Clock::now();
    nearest_survey_groups(s.input.element_type, bytes.data(), count, s.input.dims, representatives.data(),
                          s.reported_groups, &skip[size_t(done)], &nearest[size_t(done)], &distance[size_t(done)]);
    kernel_seconds += seconds_since(start);
  }
}

// Rank 0: L-infinity, L1 and active dims between every pair of representatives.
void pair_distances(SurveyResult& s, const std::vector<unsigned char>& representatives) {
  const int64_t g = s.reported_groups, row_bytes = s.input.row_bytes();
  s.linf.assign(size_t(g * g), 0);
  s.l1.assign(size_t(g * g), 0);
  s.active_dims.assign(size_t(g * g), 0);
  for (int64_t a = 0; a < g; ++a)
    for (int64_t b = 0; b < g; ++b) {
      const LatticePairDistance d = survey_pair_distance(s.input.element_type, &representatives[size_t(a * row_bytes)],
                                                         &representatives[size_t(b * row_bytes)], s.input.dims);
      s.linf[size_t(a * g + b)] = d.linf;
      s.l1[size_t(a * g + b)] = d.l1;
      s.active_dims[size_t(a * g + b)] = d.active_dims;
    }
}

void open_inputs(SurveyResult& s, const SurveyConfig& o, MPI_Comm comm) {
  const Ranks r(comm);
  const std::string element_type = o.element_type ? formats::element_type_name(*o.element_type) : "";
  collectively(comm, [&] {
    s.input = locate_embedding(o.model, o.tensor, element_type);
    if (!o.compare.empty()) {
      s.compare = locate_embedding(o.compare, s.input.tensor, element_type);
      if (s.compare->rows != s.input.rows || s.compare->dims != s.input.dims ||
          s.compare->element_type != s.input.element_type)
        fail(kExitInput, "--compare '" + o.compare + "' holds '" + s.input.tensor + "' as " +
                             std::to_string(s.compare->rows) + " x " + std::to_string(s.compare->dims) + " " +
                             formats::element_type_name(s.compare->element_type) + ", not " +
                             std::to_string(s.input.rows) + " x " + std::to_string(s.input.dims) + " " +
                             formats::element_type_name(s.input.element_type) + " as in '" + o.model + "'");
    }
    const std::string tokenizer = o.no_tokenizer ? "" : !o.tokenizer.empty() ? o.tokenizer : s.input.tokenizer;
    if (r.rank == 0 && !tokenizer.empty()) s.tokenizer = read_tokenizer(tokenizer);
    require_a_token_per_rank(s.input.rows, r.size, o.model);
  });
}

}  // namespace

const std::vector<std::string>& survey_phases() {
  static const std::vector<std::string> phases = {"open",          "first_pass", "gather", "group", "share",
                                                  "distance_pass", "pairs",      "reduce", "write"};
  return phases;
}

SurveyResult survey_model(const SurveyConfig& o, PhaseTimer& phases, MPI_Comm comm) {
  const auto start = Clock::now();
  const Ranks r(comm);
  SurveyResult s;
  s.near = o.near;
  s.groups_max = o.groups_max;
  s.hash_mask = o.hash_bits >= 64 ? ~uint64_t(0) : (uint64_t(1) << o.hash_bits) - 1;
  s.ranks = r.size;
  open_inputs(s, o, comm);
  const int64_t tokens = s.input.rows;
  const TokenRange slab = token_range(tokens, r.rank, r.size);
  int64_t block_rows = 0;
  collectively(comm, [&] { block_rows = rows_per_block(o, s.input, comm); });
  s.block_rows = uint64_t(std::min(block_rows, token_range(tokens, 0, r.size).count));

  FirstPass pass;
  phases.enter("first_pass");
  auto phase = Clock::now();
  collectively(comm, [&] { pass = summarize_slab(s, slab, block_rows); });
  s.first_pass_seconds = seconds_since(phase);
  phases.enter("gather");
  s.zero = gather_to_root(pass.zero, tokens, comm);
  s.nonfinite = gather_to_root(pass.nonfinite, tokens, comm);
  s.norm = gather_to_root(pass.norm, tokens, comm);
  if (s.compare) s.unchanged = gather_to_root(pass.unchanged, tokens, comm);
  const std::vector<uint64_t> hash = gather_to_root(pass.hash, tokens, comm);

  // Rank 0 finds the groups and reads the representatives; every rank gets
  // the group of each token and the representatives' rows.
  std::vector<int32_t> group(size_t(tokens), -1);
  std::vector<unsigned char> representatives;
  phases.enter("group");
  phase = Clock::now();
  collectively(comm, [&] {
    if (r.rank != 0) return;
    s.groups = find_groups(s, hash, block_rows);
    s.reported_groups = std::min<int64_t>(o.groups_max, int64_t(s.groups.size()));
    std::vector<int64_t> firsts;
    for (int64_t g = 0; g < s.reported_groups; ++g) {
      for (int64_t t : s.groups[size_t(g)]) group[size_t(t)] = int32_t(g);
      firsts.push_back(s.groups[size_t(g)].front());
    }
    representatives.resize(firsts.size() * size_t(s.input.row_bytes()));
    EmbeddingRows(s.input).read_rows(firsts, representatives.data());
  });
  s.group_seconds = seconds_since(phase);
  phases.enter("share");
  check_mpi(MPI_Bcast(&s.reported_groups, 1, MPI_INT64_T, 0, comm), "MPI_Bcast");
  representatives.resize(size_t(s.reported_groups * s.input.row_bytes()));
  check_mpi(MPI_Bcast(group.data(), int(tokens), MPI_INT32_T, 0, comm), "MPI_Bcast");
  check_mpi(MPI_Bcast(representatives.data(), int(representatives.size()), MPI_BYTE, 0, comm), "MPI_Bcast");
  std::vector<uint8_t> nonfinite = s.nonfinite;
  nonfinite.resize(size_t(tokens));
  check_mpi(MPI_Bcast(nonfinite.data(), int(tokens), MPI_UINT8_T, 0, comm), "MPI_Bcast");

  std::vector<int32_t> nearest;
  std::vector<int64_t> distance;
  int64_t measured = 0;
  double kernel_seconds = 0;
  phases.enter("distance_pass");
  phase = Clock::now();
  collectively(comm, [&] {
    measure_distances(s, slab, block_rows, group, nonfinite, representatives, nearest, distance, measured,
                      kernel_seconds);
  });
  s.distance_pass_seconds = seconds_since(phase);
  phases.enter("gather");
  s.nearest = gather_to_root(nearest, tokens, comm);
  s.distance = gather_to_root(distance, tokens, comm);
  phases.enter("reduce");
  int64_t all_measured = 0;
  MPI_Reduce(&measured, &all_measured, 1, MPI_INT64_T, MPI_SUM, 0, comm);
  MPI_Reduce(&kernel_seconds, &s.distance_seconds, 1, MPI_DOUBLE, MPI_MAX, 0, comm);
  s.lattice_comparisons = all_measured * s.reported_groups * s.input.dims;
  phases.enter("pairs");
  if (r.rank == 0) {
    s.group = std::move(group);
    pair_distances(s, representatives);
  }
  phases.enter("reduce");
  const std::vector<uint64_t> peaks = gather_peak_rss(comm);
  if (r.rank == 0) s.peak_rss = *std::max_element(peaks.begin(), peaks.end());
  s.seconds = seconds_since(start);
  return s;
}

}  // namespace latdisp
