#include "bits/blackholes.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <map>

#include "parallel/errors.hpp"
#include "io/file_names.hpp"
#include "parallel/memory.hpp"
#include "io/output_file.hpp"
#include "parallel/partition.hpp"
#include "io/token_groups.hpp"

namespace latdisp {

namespace {

constexpr uint64_t kPrime1 = 0x9E3779B185EBCA87ULL;
constexpr uint64_t kPrime2 = 0xC2B2AE3D27D4EB4FULL;
constexpr uint64_t kPrime3 = 0x165667B19E3779F9ULL;
constexpr uint64_t kPrime4 = 0x85EBCA77C2B2AE63ULL;
constexpr uint64_t kPrime5 = 0x27D4EB2F165667C5ULL;

inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
inline uint64_t round64(uint64_t acc, uint64_t input) { return rotl(acc + input * kPrime2, 31) * kPrime1; }
inline uint64_t merge64(uint64_t acc, uint64_t lane) { return (acc ^ round64(0, lane)) * kPrime1 + kPrime4; }

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Which rank owns a hash value (mixed again: masked hashes must still spread).
int owner_of(uint64_t hash, int ranks) {
  uint64_t x = hash * kPrime3;
  x ^= x >> 29;
  return static_cast<int>(x % static_cast<uint64_t>(ranks));
}

// Displacements for Alltoallv/Gatherv; counts must fit an int.
std::vector<int> displacements_of(const std::vector<int>& counts) {
  std::vector<int> displacements(counts.size(), 0);
  int64_t total = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (total > INT_MAX) fail(kExitUsage, "too many rows for one exchange: use more ranks");
    displacements[i] = static_cast<int>(total);
    total += counts[i];
  }
  if (total > INT_MAX) fail(kExitUsage, "too many rows for one exchange: use more ranks");
  return displacements;
}

}  // namespace

uint64_t row_hash(const uint16_t* row, int64_t cols) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(row);
  const int64_t length = cols * 2;
  int64_t i = 0;
  uint64_t h;
  auto load = [&](int64_t at) {
    uint64_t v;
    std::memcpy(&v, p + at, 8);
    return v;
  };
  if (length >= 32) {
    uint64_t v1 = kPrime1 + kPrime2, v2 = kPrime2, v3 = 0, v4 = 0 - kPrime1;
    for (; i + 32 <= length; i += 32) {
      v1 = round64(v1, load(i));
      v2 = round64(v2, load(i + 8));
      v3 = round64(v3, load(i + 16));
      v4 = round64(v4, load(i + 24));
    }
    h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
    h = merge64(h, v1);
    h = merge64(h, v2);
    h = merge64(h, v3);
    h = merge64(h, v4);
  } else {
    h = kPrime5;
  }
  h += static_cast<uint64_t>(length);
  for (; i + 8 <= length; i += 8) h = rotl(h ^ round64(0, load(i)), 27) * kPrime1 + kPrime4;
  for (; i + 2 <= length; i += 2) {
    uint16_t v;
    std::memcpy(&v, p + i, 2);
    h = rotl(h ^ (static_cast<uint64_t>(v) * kPrime5), 11) * kPrime1;
  }
  h ^= h >> 33;
  h *= kPrime2;
  h ^= h >> 29;
  h *= kPrime3;
  h ^= h >> 32;
  return h;
}

BlackholeResult find_blackholes(const MatrixSource& matrix, const BlackholeSearch& search, MPI_Comm comm) {
  const auto start = std::chrono::steady_clock::now();
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  BlackholeResult result;
  const int64_t rows = matrix.rows(), cols = matrix.cols();
  const TokenRange slab = token_range(rows, rank, ranks);
  const int64_t max_slab = token_range(rows, 0, ranks).count;

  // 1. Hash this rank's rows, a chunk at a time; keep only (owner, hash, token).
  const int64_t chunk_rows = std::max<int64_t>(1, search.chunk_bytes / (cols * 2));
  std::vector<std::vector<uint64_t>> outgoing(static_cast<size_t>(ranks));
  {
    std::vector<uint16_t> buffer(static_cast<size_t>(std::min(chunk_rows, std::max<int64_t>(max_slab, 1)) * cols));
    for (int64_t done = 0; done < max_slab; done += chunk_rows) {
      const int64_t n = std::max<int64_t>(0, std::min(chunk_rows, slab.count - done));
      matrix.read_slab(slab.begin + done, n, buffer.data());
      for (int64_t i = 0; i < n; ++i) {
        const uint64_t h = row_hash(&buffer[static_cast<size_t>(i * cols)], cols) & search.hash_mask;
        std::vector<uint64_t>& to = outgoing[static_cast<size_t>(owner_of(h, ranks))];
        to.push_back(h);
        to.push_back(static_cast<uint64_t>(slab.begin + done + i));
      }
    }
  }
  result.read_hash_seconds = seconds_since(start);

  // 2. Route every (hash, token) to the owner of its hash.
  const auto route_start = std::chrono::steady_clock::now();
  std::vector<uint64_t> received;
  {
    std::vector<int> send_counts(static_cast<size_t>(ranks)), receive_counts(static_cast<size_t>(ranks));
    std::vector<uint64_t> send;
    for (int r = 0; r < ranks; ++r) {
      if (outgoing[r].size() > static_cast<size_t>(INT_MAX)) fail(kExitUsage, "too many rows per rank: use more ranks");
      send_counts[r] = static_cast<int>(outgoing[r].size());
      send.insert(send.end(), outgoing[r].begin(), outgoing[r].end());
      std::vector<uint64_t>().swap(outgoing[r]);
    }
    MPI_Alltoall(send_counts.data(), 1, MPI_INT, receive_counts.data(), 1, MPI_INT, comm);
    std::vector<int> send_displacements, receive_displacements;
    collectively(comm, [&] {
      send_displacements = displacements_of(send_counts);
      receive_displacements = displacements_of(receive_counts);
    });
    received.resize(static_cast<size_t>(receive_displacements.back() + receive_counts.back()));
    check_mpi(MPI_Alltoallv(send.data(), send_counts.data(), send_displacements.data(), MPI_UINT64_T, received.data(),
                            receive_counts.data(), receive_displacements.data(), MPI_UINT64_T, comm),
              "exchanging row hashes");
  }
  struct Entry {
    uint64_t hash;
    int64_t token;
  };
  std::vector<Entry> entries(received.size() / 2);
  for (size_t i = 0; i < entries.size(); ++i) entries[i] = {received[2 * i], static_cast<int64_t>(received[2 * i + 1])};
  std::vector<uint64_t>().swap(received);
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.hash != b.hash ? a.hash < b.hash : a.token < b.token; });
  result.route_seconds = seconds_since(route_start);

  // 3. Verify each candidate bucket exactly: re-read its rows and split them
  //    by content (an ordered map compares whole rows, never hashes).
  const auto verify_start = std::chrono::steady_clock::now();
  std::vector<std::vector<int64_t>> local_groups;
  int64_t local_stats[3] = {0, 0, 0};  // buckets, rows, collisions
  collectively(comm, [&] {
    const int64_t batch_rows = std::max<int64_t>(1, search.chunk_bytes / (cols * 2));
    std::vector<uint16_t> buffer;
    size_t i = 0;
    while (i < entries.size()) {
      size_t j = i + 1;
      while (j < entries.size() && entries[j].hash == entries[i].hash) ++j;
      if (static_cast<int64_t>(j - i) >= search.min_size) {
        local_stats[0] += 1;
        local_stats[1] += static_cast<int64_t>(j - i);
        std::map<std::vector<uint16_t>, std::vector<int64_t>> by_content;
        for (size_t k = i; k < j; k += static_cast<size_t>(batch_rows)) {
          const size_t end = std::min(j, k + static_cast<size_t>(batch_rows));
          std::vector<int64_t> tokens;
          for (size_t e = k; e < end; ++e) tokens.push_back(entries[e].token);
          buffer.resize(tokens.size() * static_cast<size_t>(cols));
          matrix.read_rows(tokens, buffer.data());
          for (size_t e = 0; e < tokens.size(); ++e) {
            std::vector<uint16_t> row(buffer.begin() + static_cast<std::ptrdiff_t>(e * cols),
                                      buffer.begin() + static_cast<std::ptrdiff_t>((e + 1) * cols));
            by_content[std::move(row)].push_back(tokens[e]);
          }
        }
        if (by_content.size() > 1) local_stats[2] += 1;
        for (auto& [row, tokens] : by_content)
          if (static_cast<int64_t>(tokens.size()) >= search.min_size) local_groups.push_back(std::move(tokens));
      }
      i = j;
    }
  });
  result.verify_seconds = seconds_since(verify_start);
  int64_t stats[3] = {0, 0, 0};
  MPI_Allreduce(local_stats, stats, 3, MPI_INT64_T, MPI_SUM, comm);
  result.candidate_buckets = stats[0];
  result.candidate_rows = stats[1];
  result.collision_buckets = stats[2];

  // 4. Gather the groups everywhere ([size, ids...] records) and order them.
  std::vector<int64_t> flat;
  for (const std::vector<int64_t>& g : local_groups) {
    flat.push_back(static_cast<int64_t>(g.size()));
    flat.insert(flat.end(), g.begin(), g.end());
  }
  int count = 0;
  collectively(comm, [&] {
    if (flat.size() > static_cast<size_t>(INT_MAX)) fail(kExitUsage, "too many grouped tokens for one exchange");
    count = static_cast<int>(flat.size());
  });
  std::vector<int> counts(static_cast<size_t>(ranks));
  MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, comm);
  std::vector<int> displacements;
  collectively(comm, [&] { displacements = displacements_of(counts); });
  std::vector<int64_t> all(static_cast<size_t>(displacements.back() + counts.back()));
  check_mpi(MPI_Allgatherv(flat.data(), count, MPI_INT64_T, all.data(), counts.data(), displacements.data(),
                           MPI_INT64_T, comm),
            "gathering groups");
  for (size_t i = 0; i < all.size();) {
    const size_t n = static_cast<size_t>(all[i]);
    result.groups.emplace_back(all.begin() + static_cast<std::ptrdiff_t>(i + 1),
                               all.begin() + static_cast<std::ptrdiff_t>(i + 1 + n));
    i += n + 1;
  }
  std::sort(result.groups.begin(), result.groups.end(),
            [](const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
              return a.size() != b.size() ? a.size() > b.size() : a.front() < b.front();
            });
  result.total_seconds = seconds_since(start);
  return result;
}

int run_blackholes(const BlackholesOptions& options, MPI_Comm comm) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  check_outputs(comm, {{"--output", options.output}}, {parse_matrix_location(options.matrix).path}, options.overwrite);
  const MatrixSource matrix(comm, options.matrix);
  std::unique_ptr<PendingOutput> output;
  if (!options.output.empty())
    output = std::make_unique<PendingOutput>(comm, options.output, options.overwrite, "--output");

  BlackholeSearch search;
  search.min_size = options.min_size;
  search.hash_mask = options.hash_bits >= 64 ? ~uint64_t(0) : ((uint64_t(1) << options.hash_bits) - 1);
  const BlackholeResult result = find_blackholes(matrix, search, comm);

  std::vector<TokenGroup> groups;
  for (size_t g = 0; g < result.groups.size(); ++g)
    groups.push_back({"bh" + std::to_string(g + 1) + "_token_ids", result.groups[g]});
  if (output) {
    const std::string& path = options.output;
    const bool hdf5 = is_hdf5_name(path);
    collectively(comm, [&] {
      if (rank == 0)
        write_token_groups(output->temporary_path(), hdf5, groups,
                           {{"generator", "latdisp blackholes"},
                            {"matrix", matrix.description()},
                            {"min_size", std::to_string(options.min_size)}});
    });
    output->commit();
  }

  const uint64_t peak = peak_rss_bytes();
  std::vector<uint64_t> peaks(static_cast<size_t>(ranks));
  MPI_Gather(&peak, 1, MPI_UINT64_T, peaks.data(), 1, MPI_UINT64_T, 0, comm);
  if (rank != 0) return kExitOk;

  int64_t grouped = 0;
  for (const auto& g : result.groups) grouped += static_cast<int64_t>(g.size());
  const double rows_per_second =
      result.total_seconds > 0 ? static_cast<double>(matrix.rows()) / result.total_seconds : 0;
  if (options.json) {
    nlohmann::ordered_json report;
    report["schema"] = "latdisp.blackholes/1";
    report["matrix"] = {{"source", matrix.description()}, {"rows", matrix.rows()}, {"cols", matrix.cols()}};
    report["min_size"] = options.min_size;
    report["hash_bits"] = options.hash_bits;
    report["output"] = options.output.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(options.output);
    report["groups"] = nlohmann::ordered_json::array();
    for (size_t g = 0; g < groups.size(); ++g)
      report["groups"].push_back(
          {{"name", groups[g].name}, {"size", groups[g].tokens.size()}, {"token_ids", groups[g].tokens}});
    report["grouped_tokens"] = grouped;
    report["candidate_buckets"] = result.candidate_buckets;
    report["candidate_rows"] = result.candidate_rows;
    report["hash_collisions_separated"] = result.collision_buckets;
    report["run"] = {{"ranks", ranks},
                     {"timings_s",
                      {{"read_hash", result.read_hash_seconds},
                       {"route", result.route_seconds},
                       {"verify", result.verify_seconds},
                       {"total", result.total_seconds}}},
                     {"rows_per_s", rows_per_second},
                     {"peak_rss_bytes", peaks}};
    std::printf("%s\n", report.dump(2).c_str());
    return kExitOk;
  }
  std::printf("latdisp blackholes: %s, %d rank(s)\n", matrix.description().c_str(), ranks);
  std::printf("  %zu group(s) of at least %lld bit-identical tokens, %lld tokens in all\n", groups.size(),
              static_cast<long long>(options.min_size), static_cast<long long>(grouped));
  const size_t shown = std::min<size_t>(groups.size(), 50);
  for (size_t g = 0; g < shown; ++g) {
    std::string ids;
    for (size_t i = 0; i < std::min<size_t>(groups[g].tokens.size(), 8); ++i)
      ids += (i ? ", " : "") + std::to_string(groups[g].tokens[i]);
    if (groups[g].tokens.size() > 8) ids += ", ...";
    std::printf("  %-16s %8zu tokens  [%s]\n", groups[g].name.c_str(), groups[g].tokens.size(), ids.c_str());
  }
  if (shown < groups.size()) std::printf("  ... and %zu more groups (--json lists all)\n", groups.size() - shown);
  std::printf(
      "  verification: %lld candidate hash bucket(s), %lld rows re-read and compared exactly, %lld bucket(s) "
      "split by hash collisions\n",
      static_cast<long long>(result.candidate_buckets), static_cast<long long>(result.candidate_rows),
      static_cast<long long>(result.collision_buckets));
  std::printf("  time %.3f s (read+hash %.3f, route %.3f, verify %.3f), %.3g rows/s\n", result.total_seconds,
              result.read_hash_seconds, result.route_seconds, result.verify_seconds, rows_per_second);
  std::string peak_text;
  for (size_t r = 0; r < peaks.size(); ++r) peak_text += (r ? ", " : "") + format_bytes(peaks[r]);
  std::printf("  peak memory per rank: %s\n", peak_text.c_str());
  if (!options.output.empty()) std::printf("  wrote %s\n", options.output.c_str());
  return kExitOk;
}

}  // namespace latdisp
