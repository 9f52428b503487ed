#include "bits/separation.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "io/matrix_source.hpp"
#include "bits/element_patterns.hpp"
#include "parallel/errors.hpp"
#include "parallel/partition.hpp"

namespace latdisp {

namespace {

constexpr int64_t kBatchBytes = int64_t(16) << 20;

std::string list_text(const std::vector<int64_t>& values) {
  std::string text;
  for (size_t i = 0; i < values.size(); ++i) text += (i ? ", " : "") + std::to_string(values[i]);
  return text;
}

std::string histogram_text(const std::map<int64_t, int64_t>& histogram) {
  std::string text;
  for (const auto& [distance, count] : histogram)
    text += (text.empty() ? "" : ", ") + std::to_string(distance) + " ULP (x" + std::to_string(count) + ")";
  return text;
}

void broadcast_large(uint32_t* data, int64_t count, MPI_Comm comm) {
  for (int64_t done = 0; done < count; done += INT_MAX / 2) {
    const int n = static_cast<int>(std::min<int64_t>(INT_MAX / 2, count - done));
    check_mpi(MPI_Bcast(data + done, n, MPI_UINT32_T, 0, comm), "broadcasting representative rows");
  }
}

template <typename T>
void allreduce_large(T* data, int64_t count, MPI_Datatype type, MPI_Op op, MPI_Comm comm) {
  for (int64_t done = 0; done < count; done += INT_MAX / 2) {
    const int n = static_cast<int>(std::min<int64_t>(INT_MAX / 2, count - done));
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, data + done, n, type, op, comm), "reducing group spreads");
  }
}

// Rows of `tokens` as patterns widened to uint32 (docs/definitions.md §17).
std::vector<uint32_t> read_patterns(const MatrixSource& matrix, const std::vector<int64_t>& tokens) {
  std::vector<unsigned char> bytes(tokens.size() * static_cast<size_t>(matrix.cols()) *
                                   static_cast<size_t>(matrix.element_bytes()));
  matrix.read_rows(tokens, bytes.data());
  return widen_patterns(bytes, matrix.element_bytes());
}

// The representatives' rows (one per group, in group order), read by rank 0
// in id order and broadcast.
std::vector<uint32_t> read_representative_rows(const MatrixSource& matrix, const std::vector<int64_t>& representatives,
                                               MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  const size_t G = representatives.size();
  const int64_t D = matrix.cols();
  std::vector<uint32_t> reps(G * static_cast<size_t>(D));
  collectively(comm, [&] {
    if (rank != 0) return;
    std::vector<size_t> order(G);
    for (size_t g = 0; g < G; ++g) order[g] = g;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return representatives[a] < representatives[b]; });
    std::vector<int64_t> sorted;
    for (size_t g : order) sorted.push_back(representatives[g]);
    const std::vector<uint32_t> sorted_rows = read_patterns(matrix, sorted);
    for (size_t i = 0; i < G; ++i)
      std::copy_n(sorted_rows.begin() + static_cast<std::ptrdiff_t>(i * D), D,
                  reps.begin() + static_cast<std::ptrdiff_t>(order[i] * D));
  });
  broadcast_large(reps.data(), static_cast<int64_t>(reps.size()), comm);
  return reps;
}

// Per group and dim, the lowest and highest lattice position of its members,
// and how many members differ from the representative.
struct MemberBounds {
  std::vector<int64_t> low, high;  // group-major, G x D
  std::vector<int64_t> differing;  // per group
};

// Folds one member's row into the bounds of group g (rows equal to the
// representative's change nothing).
void add_member(const PatternRules& rules, const uint32_t* row, const uint32_t* rep, size_t g, int64_t D,
                MemberBounds& bounds) {
  if (std::memcmp(row, rep, static_cast<size_t>(D) * sizeof(uint32_t)) == 0) return;
  ++bounds.differing[g];
  for (int64_t d = 0; d < D; ++d) {
    const int64_t p = rules.position(row[d]);
    const size_t at = g * static_cast<size_t>(D) + static_cast<size_t>(d);
    bounds.low[at] = std::min(bounds.low[at], p);
    bounds.high[at] = std::max(bounds.high[at], p);
  }
}

// Members (all but the representative) split over ranks in id order, read in
// batches and compared with their representative; reduced on every rank.
MemberBounds member_bounds(const MatrixSource& matrix, const std::vector<TokenGroup>& groups,
                           const std::vector<uint32_t>& reps, MPI_Comm comm) {
  const PatternRules rules = pattern_rules(matrix.element_type());
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  const int64_t D = matrix.cols();
  std::vector<std::pair<int64_t, int32_t>> members;  // (token, group)
  for (size_t g = 0; g < groups.size(); ++g)
    for (size_t i = 1; i < groups[g].tokens.size(); ++i)
      members.push_back({groups[g].tokens[i], static_cast<int32_t>(g)});
  std::sort(members.begin(), members.end());
  const TokenRange mine = token_range(static_cast<int64_t>(members.size()), rank, ranks);
  MemberBounds bounds;
  bounds.low.resize(reps.size());
  for (size_t i = 0; i < reps.size(); ++i) bounds.low[i] = rules.position(reps[i]);
  bounds.high = bounds.low;
  bounds.differing.assign(groups.size(), 0);
  collectively(comm, [&] {
    const int64_t batch = std::max<int64_t>(1, kBatchBytes / (D * int64_t(sizeof(uint32_t))));
    std::vector<uint32_t> rows;
    for (int64_t done = 0; done < mine.count; done += batch) {
      const int64_t n = std::min(batch, mine.count - done);
      std::vector<int64_t> tokens(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) tokens[i] = members[static_cast<size_t>(mine.begin + done + i)].first;
      rows = read_patterns(matrix, tokens);
      for (int64_t i = 0; i < n; ++i) {
        const size_t g = static_cast<size_t>(members[static_cast<size_t>(mine.begin + done + i)].second);
        add_member(rules, &rows[static_cast<size_t>(i * D)], &reps[g * static_cast<size_t>(D)], g, D, bounds);
      }
    }
  });
  allreduce_large(bounds.low.data(), static_cast<int64_t>(bounds.low.size()), MPI_INT64_T, MPI_MIN, comm);
  allreduce_large(bounds.high.data(), static_cast<int64_t>(bounds.high.size()), MPI_INT64_T, MPI_MAX, comm);
  allreduce_large(bounds.differing.data(), static_cast<int64_t>(groups.size()), MPI_INT64_T, MPI_SUM, comm);
  return bounds;
}

std::vector<GroupSpread> group_spreads(const std::vector<TokenGroup>& groups, const MemberBounds& bounds, int64_t D) {
  std::vector<GroupSpread> spreads;
  for (size_t g = 0; g < groups.size(); ++g) {
    GroupSpread s;
    s.size = static_cast<int64_t>(groups[g].tokens.size());
    s.differing_members = bounds.differing[g];
    for (int64_t d = 0; d < D; ++d) {
      const size_t at = g * static_cast<size_t>(D) + static_cast<size_t>(d);
      const int64_t spread = bounds.high[at] - bounds.low[at];
      s.spread_ulp = std::max(s.spread_ulp, spread);
      if (spread > 0) ++s.spread_dims;
    }
    spreads.push_back(s);
  }
  return spreads;
}

// Pairwise distances over this rank's dims, serialized for rank 0: per pair
// [active, undefined, n_hist, (distance, count) x n_hist, n_dims, dims...];
// `active_here` marks this rank's dims where any pair differs.
struct LocalPairDistances {
  std::vector<int64_t> records;
  std::vector<uint8_t> active_here;
};

// One pair (a, b) over the dims of `dims`, appended to `local`.
void add_pair_distances(const PatternRules& rules, const uint32_t* x_row, const uint32_t* y_row,
                        const TokenRange& dims, LocalPairDistances& local) {
  int64_t active = 0, undefined = 0;
  std::map<int64_t, int64_t> histogram;
  std::vector<int64_t> listed;
  for (int64_t d = dims.begin; d < dims.begin + dims.count; ++d) {
    const uint32_t x = x_row[d], y = y_row[d];
    uint8_t& marked = local.active_here[static_cast<size_t>(d - dims.begin)];
    if (rules.is_nan(x) || rules.is_nan(y)) {
      if (x != y) {
        ++undefined;
        marked = 1;
      }
      continue;
    }
    const int64_t distance = std::abs(rules.position(y) - rules.position(x));
    if (distance == 0) continue;
    ++active;
    ++histogram[distance];
    if (listed.size() <= kListedActiveDims) listed.push_back(d);
    marked = 1;
  }
  std::vector<int64_t>& out = local.records;
  out.insert(out.end(), {active, undefined, static_cast<int64_t>(histogram.size())});
  for (const auto& [distance, count] : histogram) out.insert(out.end(), {distance, count});
  out.push_back(static_cast<int64_t>(listed.size()));
  out.insert(out.end(), listed.begin(), listed.end());
}

LocalPairDistances local_pair_distances(const PatternRules& rules, const std::vector<uint32_t>& reps, size_t G,
                                        int64_t D, const TokenRange& dims) {
  LocalPairDistances local;
  local.active_here.assign(static_cast<size_t>(dims.count), 0);
  for (size_t a = 0; a < G; ++a)
    for (size_t b = a + 1; b < G; ++b)
      add_pair_distances(rules, &reps[a * static_cast<size_t>(D)], &reps[b * static_cast<size_t>(D)], dims, local);
  return local;
}

// Every rank's records and active dims, gathered on rank 0 (empty elsewhere);
// `displacements` tells where each rank's records start.
struct GatheredPairDistances {
  std::vector<int64_t> records;
  std::vector<int> displacements;
  std::vector<uint8_t> active_all;  // per dim
};

GatheredPairDistances gather_pair_distances(const LocalPairDistances& local, int64_t D, MPI_Comm comm) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  int local_count = 0;
  collectively(comm, [&] {
    if (local.records.size() > static_cast<size_t>(INT_MAX))
      fail(kExitUsage, "too many pairs for one exchange: lower --max-groups");
    local_count = static_cast<int>(local.records.size());
  });
  GatheredPairDistances gathered;
  std::vector<int> counts(static_cast<size_t>(ranks));
  gathered.displacements.assign(static_cast<size_t>(ranks), 0);
  MPI_Gather(&local_count, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, comm);
  int64_t total = 0;
  for (int r = 0; r < ranks; ++r) {
    gathered.displacements[r] = static_cast<int>(std::min<int64_t>(total, INT_MAX));
    total += counts[r];
  }
  gathered.records.resize(rank == 0 ? static_cast<size_t>(total) : 0);
  check_mpi(MPI_Gatherv(local.records.data(), local_count, MPI_INT64_T, gathered.records.data(), counts.data(),
                        gathered.displacements.data(), MPI_INT64_T, 0, comm),
            "gathering pair distances");
  std::vector<int> dim_counts(static_cast<size_t>(ranks)), dim_displacements(static_cast<size_t>(ranks));
  for (int r = 0; r < ranks; ++r) {
    const TokenRange range = token_range(D, r, ranks);
    dim_counts[r] = static_cast<int>(range.count);
    dim_displacements[r] = static_cast<int>(range.begin);
  }
  gathered.active_all.resize(rank == 0 ? static_cast<size_t>(D) : 0);
  check_mpi(MPI_Gatherv(local.active_here.data(), static_cast<int>(local.active_here.size()), MPI_UINT8_T,
                        gathered.active_all.data(), dim_counts.data(), dim_displacements.data(), MPI_UINT8_T, 0, comm),
            "gathering active dims");
  return gathered;
}

// Rank 0: the pairs (a < b, in order) summed over the ranks' dims.
void merge_pair_distances(const GatheredPairDistances& gathered, size_t G, int64_t D, SeparationResult& result) {
  for (size_t a = 0; a < G; ++a)
    for (size_t b = a + 1; b < G; ++b) result.pairs.push_back(PairSeparation{a, b, 0, {}, {}, 0});
  const std::vector<int64_t>& records = gathered.records;
  for (const int displacement : gathered.displacements) {
    size_t at = static_cast<size_t>(displacement);
    for (PairSeparation& pair : result.pairs) {
      pair.active_dims += records[at++];
      pair.undefined_dims += records[at++];
      const int64_t n_hist = records[at++];
      for (int64_t h = 0; h < n_hist; ++h, at += 2) pair.histogram[records[at]] += records[at + 1];
      const int64_t n_dims = records[at++];
      for (int64_t i = 0; i < n_dims; ++i) pair.active_dim_list.push_back(records[at++]);
    }
  }
  for (PairSeparation& pair : result.pairs) {
    if (pair.active_dims > static_cast<int64_t>(kListedActiveDims)) pair.active_dim_list.clear();
    for (const auto& [distance, count] : pair.histogram) result.histogram[distance] += count;
  }
  for (int64_t d = 0; d < D; ++d)
    if (gathered.active_all[static_cast<size_t>(d)]) result.active_dims.push_back(d);
}

}  // namespace

SeparationResult separate_groups(const std::string& matrix_location, std::vector<TokenGroup> groups, int64_t max_groups,
                                 MPI_Comm comm) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  ElementRequest any_format;
  any_format.any_format = true;
  const MatrixSource matrix(comm, matrix_location, any_format);
  SeparationResult result;
  result.matrix = matrix.description();
  result.element_type = matrix.element_type();
  result.cols = matrix.cols();
  result.groups_in_file = static_cast<int64_t>(groups.size());
  collectively(comm, [&] { check_token_groups(groups, matrix.rows(), matrix.description()); });
  if (max_groups > 0 && static_cast<int64_t>(groups.size()) > max_groups)
    groups.resize(static_cast<size_t>(max_groups));
  for (const TokenGroup& g : groups) {
    result.group_names.push_back(g.name);
    result.representatives.push_back(g.tokens.front());
  }
  const int64_t D = matrix.cols();
  const std::vector<uint32_t> reps = read_representative_rows(matrix, result.representatives, comm);
  result.spreads = group_spreads(groups, member_bounds(matrix, groups, reps, comm), D);
  // Dims split over ranks for the pairs.
  const LocalPairDistances local =
      local_pair_distances(pattern_rules(result.element_type), reps, groups.size(), D, token_range(D, rank, ranks));
  const GatheredPairDistances gathered = gather_pair_distances(local, D, comm);
  if (rank == 0) merge_pair_distances(gathered, groups.size(), D, result);
  return result;
}

namespace {

// Per group: is every member bit-identical to the representative?
std::string spreads_text(const SeparationResult& r) {
  std::string out = "groups (is every member bit-identical to the representative, the first id?):\n";
  char line[512];
  for (size_t g = 0; g < r.group_names.size(); ++g) {
    const GroupSpread& s = r.spreads[g];
    std::string verdict = s.differing_members == 0 ? "bit-identical"
                                                   : "NOT bit-identical: " + std::to_string(s.differing_members) +
                                                         " member(s) differ; spread " + std::to_string(s.spread_ulp) +
                                                         " ULP, in " + std::to_string(s.spread_dims) + " dim(s)";
    std::snprintf(line, sizeof line, "  %-16s %8lld token(s), representative %-8lld %s\n", r.group_names[g].c_str(),
                  static_cast<long long>(s.size), static_cast<long long>(r.representatives[g]), verdict.c_str());
    out += line;
  }
  return out;
}

std::string pair_text(const SeparationResult& r, const PairSeparation& p) {
  std::string text =
      "  " + short_group_name(r.group_names[p.first]) + " - " + short_group_name(r.group_names[p.second]) + ": ";
  if (p.active_dims == 0 && p.undefined_dims == 0) return text + "identical in every dim (0 active dims)\n";
  text += std::to_string(p.active_dims) + " active dim(s)";
  if (!p.active_dim_list.empty()) text += " [" + list_text(p.active_dim_list) + "]";
  const int64_t common = p.common_distance();
  if (common >= 0)
    text += ": exactly " + std::to_string(common) + " ULP in every active dimension";
  else if (p.active_dims > 0)
    text += ": " + histogram_text(p.histogram);
  if (p.undefined_dims) text += "; NaN in " + std::to_string(p.undefined_dims) + " dim(s)";
  return text + "\n";
}

std::string pairs_text(const SeparationResult& r) {
  std::string out = "\npairs (|ULP distance| between representatives, per dim):\n";
  const size_t shown = std::min<size_t>(r.pairs.size(), 200);
  for (size_t i = 0; i < shown; ++i) out += pair_text(r, r.pairs[i]);
  if (shown < r.pairs.size())
    out += "  ... " + std::to_string(r.pairs.size() - shown) + " more pairs (--json lists all)\n";
  out += "\nactive dims (any pair): " + std::to_string(r.active_dims.size()) + " of " + std::to_string(r.cols);
  if (!r.active_dims.empty() && r.active_dims.size() <= 64) out += " [" + list_text(r.active_dims) + "]";
  out += "\nall pairs, all active dims: ";
  if (r.histogram.empty()) return out + "no non-zero distance\n";
  if (r.histogram.size() == 1)
    return out + "one common distance, exactly " + std::to_string(r.histogram.begin()->first) + " ULP\n";
  return out + histogram_text(r.histogram) + "\n";
}

}  // namespace

std::string separation_text(const SeparationResult& r) {
  std::string out = "latdisp separation: " + r.matrix + "\n";
  // bf16 keeps its original header; other formats name theirs.
  if (r.element_type != formats::ElementType::bf16)
    out += "  element type: " + formats::element_type_name(r.element_type) + "\n";
  out += "  " + std::to_string(r.group_names.size()) + " group(s)";
  if (r.groups_in_file > static_cast<int64_t>(r.group_names.size()))
    out += " (the first " + std::to_string(r.group_names.size()) + " of " + std::to_string(r.groups_in_file) +
           "; --max-groups)";
  out += ", " + std::to_string(r.pairs.size()) + " pair(s), every one of " + std::to_string(r.cols) + " dims\n\n";
  out += spreads_text(r);
  if (!r.pairs.empty()) out += pairs_text(r);
  return out;
}

std::string separation_json(const SeparationResult& r) {
  using json = nlohmann::ordered_json;
  json report;
  report["schema"] = "latdisp.separation/1";
  report["matrix"] = r.matrix;
  report["element_type"] = formats::element_type_name(r.element_type);
  report["dims"] = r.cols;
  report["groups_in_file"] = r.groups_in_file;
  report["groups"] = json::array();
  for (size_t g = 0; g < r.group_names.size(); ++g)
    report["groups"].push_back({{"name", r.group_names[g]},
                                {"size", r.spreads[g].size},
                                {"representative", r.representatives[g]},
                                {"bit_identical", r.spreads[g].differing_members == 0},
                                {"differing_members", r.spreads[g].differing_members},
                                {"spread_ulp", r.spreads[g].spread_ulp},
                                {"spread_dims", r.spreads[g].spread_dims}});
  report["pairs"] = json::array();
  for (const PairSeparation& p : r.pairs) {
    json histogram = json::object();
    for (const auto& [distance, count] : p.histogram) histogram[std::to_string(distance)] = count;
    const int64_t common = p.common_distance();
    report["pairs"].push_back(
        {{"first", r.group_names[p.first]},
         {"second", r.group_names[p.second]},
         {"active_dims", p.active_dims},
         {"active_dim_list",
          p.active_dims <= static_cast<int64_t>(kListedActiveDims) ? json(p.active_dim_list) : json()},
         {"histogram", histogram},
         {"common_distance", common >= 0 ? json(common) : json()},
         {"undefined_dims", p.undefined_dims}});
  }
  report["active_dims"] = r.active_dims;
  json histogram = json::object();
  for (const auto& [distance, count] : r.histogram) histogram[std::to_string(distance)] = count;
  report["histogram"] = histogram;
  report["common_distance"] = r.histogram.size() == 1 ? json(r.histogram.begin()->first) : json();
  return report.dump(2) + "\n";
}

}  // namespace latdisp
