#include "bits/blackholes.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>

#include "bits/blackholes_report.hpp"
#include "bits/group_timeline.hpp"
#include "bits/identical_rows.hpp"
#include "io/output_file.hpp"
#include "io/output_format.hpp"
#include "io/token_groups.hpp"
#include "io/trajectory_reader.hpp"
#include "kokkos_kernels/hash64.hpp"
#include "parallel/clock.hpp"
#include "parallel/errors.hpp"
#include "parallel/exchange.hpp"
#include "parallel/memory.hpp"
#include "parallel/partition.hpp"

namespace latdisp {

namespace {

struct HashedToken {
  uint64_t hash;
  int64_t token;
};

// Rows are compared and hashed as their bytes, in 16-bit words (the last one
// padded with a zero byte when a row has an odd number of bytes): bit-identical
// rows of any element format; for bf16 the words are the values themselves.
int64_t row_bytes_of(const MatrixSource& matrix) { return matrix.cols() * matrix.element_bytes(); }
int64_t row_words_of(const MatrixSource& matrix) { return (row_bytes_of(matrix) + 1) / 2; }

// `rows` rows of `row_bytes` bytes each, in place, into rows of `words` words.
void widen_to_words(std::vector<uint16_t>& buffer, int64_t rows, int64_t row_bytes, int64_t words) {
  if (row_bytes == 2 * words) return;
  const uint8_t* bytes = reinterpret_cast<const uint8_t*>(buffer.data());
  for (int64_t r = rows; r-- > 0;) {  // backwards: each row moves to a later or equal place
    uint16_t* target = buffer.data() + r * words;
    std::memmove(target, bytes + r * row_bytes, static_cast<size_t>(row_bytes));
    reinterpret_cast<uint8_t*>(target)[row_bytes] = 0;
  }
}

// Stage 1: this rank's rows, read a chunk at a time and hashed; only
// (hash, token) is kept, by the rank that owns the hash.
std::vector<std::vector<HashedToken>> hash_slab(const MatrixSource& matrix, const BlackholeSearch& search,
                                                MPI_Comm comm) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  const int64_t cols = row_words_of(matrix);
  const TokenRange slab = token_range(matrix.rows(), rank, ranks);
  const int64_t max_slab = token_range(matrix.rows(), 0, ranks).count;
  const int64_t chunk_rows = std::max<int64_t>(1, search.chunk_bytes / (cols * 2));
  std::vector<std::vector<HashedToken>> outgoing(static_cast<size_t>(ranks));
  std::vector<uint16_t> buffer(static_cast<size_t>(std::min(chunk_rows, std::max<int64_t>(max_slab, 1)) * cols));
  for (int64_t done = 0; done < max_slab; done += chunk_rows) {  // the same number of reads on every rank
    const int64_t n = std::max<int64_t>(0, std::min(chunk_rows, slab.count - done));
    matrix.read_slab(slab.begin + done, n, buffer.data());
    widen_to_words(buffer, n, row_bytes_of(matrix), cols);
    for (int64_t i = 0; i < n; ++i) {
      const uint64_t h = row_hash(&buffer[static_cast<size_t>(i * cols)], cols) & search.hash_mask;
      outgoing[static_cast<size_t>(hash_owner(h, ranks))].push_back({h, slab.begin + done + i});
    }
  }
  return outgoing;
}

// Stage 2: every (hash, token) to the owner of its hash, sorted there.
std::vector<HashedToken> route_hashes(const std::vector<std::vector<HashedToken>>& outgoing, MPI_Comm comm) {
  std::vector<HashedToken> entries = exchange_records(outgoing, comm).records;
  std::sort(entries.begin(), entries.end(), [](const HashedToken& a, const HashedToken& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.token < b.token;
  });
  return entries;
}

// Stage 3, one bucket: re-read its rows in batches and split them by content
// (an ordered map compares whole rows, never hashes).
void verify_bucket(const MatrixSource& matrix, const HashedToken* first, const HashedToken* last,
                   const BlackholeSearch& search, std::vector<std::vector<int64_t>>& groups, int64_t stats[3]) {
  const int64_t cols = row_words_of(matrix);
  const size_t batch_rows = static_cast<size_t>(std::max<int64_t>(1, search.chunk_bytes / (cols * 2)));
  stats[0] += 1;
  stats[1] += last - first;
  std::map<std::vector<uint16_t>, std::vector<int64_t>> by_content;
  std::vector<uint16_t> buffer;
  for (const HashedToken* k = first; k < last; k += std::min<std::ptrdiff_t>(batch_rows, last - k)) {
    std::vector<int64_t> tokens;
    for (const HashedToken* e = k; e < last && tokens.size() < batch_rows; ++e) tokens.push_back(e->token);
    buffer.resize(tokens.size() * static_cast<size_t>(cols));
    matrix.read_rows(tokens, buffer.data());
    widen_to_words(buffer, static_cast<int64_t>(tokens.size()), row_bytes_of(matrix), cols);
    for (size_t e = 0; e < tokens.size(); ++e) {
      const auto row = buffer.begin() + static_cast<std::ptrdiff_t>(e * cols);
      by_content[std::vector<uint16_t>(row, row + cols)].push_back(tokens[e]);
    }
  }
  if (by_content.size() > 1) stats[2] += 1;
  for (auto& [row, tokens] : by_content)
    if (static_cast<int64_t>(tokens.size()) >= search.min_size) groups.push_back(std::move(tokens));
}

// Stage 3: the owner's buckets of at least min_size equal hashes, verified.
// stats: buckets, rows, buckets split by collisions.
std::vector<std::vector<int64_t>> verify_buckets(const MatrixSource& matrix, const std::vector<HashedToken>& entries,
                                                 const BlackholeSearch& search, int64_t stats[3], MPI_Comm comm) {
  std::vector<std::vector<int64_t>> groups;
  collectively(comm, [&] {
    for (size_t i = 0; i < entries.size();) {
      size_t j = i + 1;
      while (j < entries.size() && entries[j].hash == entries[i].hash) ++j;
      if (static_cast<int64_t>(j - i) >= search.min_size)
        verify_bucket(matrix, &entries[i], entries.data() + j, search, groups, stats);
      i = j;
    }
  });
  return groups;
}

// Stage 4: every owner's groups on every rank ([size, ids...] records),
// largest first.
std::vector<std::vector<int64_t>> share_groups(const std::vector<std::vector<int64_t>>& local, MPI_Comm comm) {
  std::vector<int64_t> flat;
  for (const std::vector<int64_t>& g : local) {
    flat.push_back(static_cast<int64_t>(g.size()));
    flat.insert(flat.end(), g.begin(), g.end());
  }
  const std::vector<int64_t> all = allgather_records(flat, comm);
  std::vector<std::vector<int64_t>> groups;
  for (size_t i = 0; i < all.size();) {
    const size_t n = static_cast<size_t>(all[i]);
    groups.emplace_back(all.begin() + static_cast<std::ptrdiff_t>(i + 1),
                        all.begin() + static_cast<std::ptrdiff_t>(i + 1 + n));
    i += n + 1;
  }
  std::sort(groups.begin(), groups.end(), group_order);
  return groups;
}

uint64_t hash_mask_of(int64_t hash_bits) { return hash_bits >= 64 ? ~uint64_t(0) : (uint64_t(1) << hash_bits) - 1; }

}  // namespace

BlackholesRun blackholes_of_matrix(const BlackholesConfig& options, PhaseTimer& phases, MPI_Comm comm) {
  const Clock::time_point start = Clock::now();
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  ElementRequest any_format;
  any_format.any_format = true;
  const MatrixSource matrix(comm, options.matrix, any_format);
  BlackholeSearch search;
  search.min_size = options.min_size;
  search.hash_mask = hash_mask_of(options.hash_bits);
  phases.enter("search");
  const BlackholeResult result = find_blackholes(matrix, search, comm);

  BlackholesRun run;
  run.config = options;
  MPI_Comm_size(comm, &run.ranks);
  run.source = matrix.description();
  run.path = matrix.location().path;
  run.name = matrix.location().name;
  run.format = matrix.format();
  run.tokens = matrix.rows();
  run.dims = matrix.cols();
  run.element_type = formats::element_type_name(matrix.element_type());
  run.steps = {std::max<int64_t>(matrix.location().step, 0)};
  phases.enter("track");
  if (rank == 0) {
    GroupTimeline timeline(run.tokens, {});
    timeline.add_step(run.steps[0], result.groups);
    run.series = timeline.series();
    run.final_groups = timeline.final_groups();
    run.initial_groups = timeline.initial_groups();
  }
  run.search.candidate_buckets = result.candidate_buckets;
  run.search.candidate_rows = result.candidate_rows;
  run.search.collision_buckets = result.collision_buckets;
  run.search.verify_rounds = 1;
  run.read_seconds = result.read_hash_seconds;
  run.search.route_seconds = result.route_seconds;
  run.search.verify_seconds = result.verify_seconds;
  phases.enter("reduce");
  run.peak_rss = gather_peak_rss(comm);
  run.total_seconds = seconds_since(start);
  return run;
}

std::vector<std::string> blackholes_input_files(const BlackholesConfig& options) {
  const std::string matrix = parse_matrix_location(options.matrix).path;
  // A single matrix has no dead mask.
  return options.steps ? input_files_of(matrix, options.dead_mask) : std::vector<std::string>{matrix};
}

void write_blackholes_groups(const BlackholesRun& run, PendingOutput& output, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  collectively(comm, [&] {
    if (rank != 0) return;
    std::vector<TokenGroup> groups;
    for (size_t g = 0; g < run.final_groups.size(); ++g)
      groups.push_back({blackhole_group_name(g), run.final_groups[g].tokens});
    write_token_groups(output.temporary_path(), run.config.output_format, groups,
                       {{"generator", "latdisp blackholes"},
                        {"matrix", run.source},
                        {"step", std::to_string(run.steps.back())},
                        {"min_size", std::to_string(run.config.min_size)}});
  });
  output.commit();
}

BlackholeResult find_blackholes(const MatrixSource& matrix, const BlackholeSearch& search, MPI_Comm comm) {
  const Clock::time_point start = Clock::now();
  BlackholeResult result;
  const std::vector<std::vector<HashedToken>> outgoing = hash_slab(matrix, search, comm);
  result.read_hash_seconds = seconds_since(start);

  Clock::time_point phase = Clock::now();
  const std::vector<HashedToken> entries = route_hashes(outgoing, comm);
  result.route_seconds = seconds_since(phase);

  phase = Clock::now();
  int64_t stats[3] = {0, 0, 0};
  const std::vector<std::vector<int64_t>> local = verify_buckets(matrix, entries, search, stats, comm);
  result.verify_seconds = seconds_since(phase);
  MPI_Allreduce(MPI_IN_PLACE, stats, 3, MPI_INT64_T, MPI_SUM, comm);
  result.candidate_buckets = stats[0];
  result.candidate_rows = stats[1];
  result.collision_buckets = stats[2];

  result.groups = share_groups(local, comm);
  result.total_seconds = seconds_since(start);
  return result;
}

}  // namespace latdisp
