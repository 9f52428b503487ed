// `latdisp blackholes`: groups of tokens whose vectors are bit-identical, in
// one matrix, or (--steps) at every selected step of a trajectory, with when
// each group formed and how long each initial group lasted.
//
// In one matrix, rows are hashed where they are read (token axis over
// ranks), each hash is routed to an owner rank, and the owner verifies its
// candidate groups exactly by re-reading and comparing the rows themselves:
// a matrix on disk can be re-read at random, so only hashes stay in memory.
// Over a trajectory (bits/blackholes_over_time.hpp) each block of steps is in
// memory on the ranks that read it, and the rows are compared there.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bits/blackholes_report.hpp"
#include "config/bit_level_config.hpp"
#include "io/matrix_source.hpp"
#include "io/output_file.hpp"
#include "parallel/phase_timer.hpp"

namespace latdisp {

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

// Collective: `blackholes` on one matrix (options.steps unset), as a one-step
// run timed in `phases` (blackholes_phases(), from "search" on); the series
// and groups are complete on rank 0, the search figures on every rank.
BlackholesRun blackholes_of_matrix(const BlackholesConfig& options, PhaseTimer& phases, MPI_Comm comm);

// The files `blackholes` reads, so that no output replaces one: the matrix or
// trajectory, and with --steps a dead mask given as FILE:NAME.
std::vector<std::string> blackholes_input_files(const BlackholesConfig& options);

// Collective: the last step's groups (bh1_token_ids, ...) written by rank 0
// into `output` in options.output_format, then committed on every rank.
void write_blackholes_groups(const BlackholesRun& run, PendingOutput& output, MPI_Comm comm);

}  // namespace latdisp
