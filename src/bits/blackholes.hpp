// `latdisp blackholes`: groups of tokens whose vectors are bit-identical.
// Rows are hashed where they are read (token axis over ranks), each hash is
// routed to an owner rank, and the owner verifies candidate groups exactly
// by comparing the rows themselves: hash collisions never merge rows.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <vector>

#include "io/matrix_source.hpp"
#include "config/options.hpp"

namespace latdisp {

// A 64-bit hash of one row of bfloat16 bits (xxHash64-style rounds).
uint64_t row_hash(const uint16_t* row, int64_t cols);

struct BlackholeSearch {
  int64_t min_size = 2;
  // Test hook: hashes are ANDed with this mask, so a narrow mask forces
  // collisions between distinct rows.
  uint64_t hash_mask = ~uint64_t(0);
  int64_t chunk_bytes = int64_t(32) << 20;  // rows hashed per read
};

struct BlackholeResult {
  // Largest first, then by smallest id; ids ascending. Same on every rank.
  std::vector<std::vector<int64_t>> groups;
  int64_t candidate_buckets = 0;  // hash values shared by >= min_size rows
  int64_t candidate_rows = 0;     // rows in those buckets (re-read to verify)
  int64_t collision_buckets = 0;  // buckets holding rows that differ
  double read_hash_seconds = 0;
  double route_seconds = 0;
  double verify_seconds = 0;
  double total_seconds = 0;
};

// Collective over `comm`.
BlackholeResult find_blackholes(const MatrixSource& matrix, const BlackholeSearch& search, MPI_Comm comm);

// Collective: the `blackholes` subcommand. Returns the exit code.
int run_blackholes(const BlackholesOptions& options, MPI_Comm comm);

}  // namespace latdisp
