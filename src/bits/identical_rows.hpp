// The distributed search for bit-identical rows in a block of steps
// (docs/definitions.md, "Black holes over time"): each rank holds the rows of
// its token slab for every step of the block; rows are hashed where they are,
// (hash, token) pairs are routed to the rank that owns the hash, and every
// candidate group of equal hashes is verified by comparing the rows' bits
// where the rows are (a hash collision never merges different rows).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "parallel/partition.hpp"

namespace latdisp {

// Which rank owns a hash value (mixed again: masked hashes must still spread).
int hash_owner(uint64_t hash, int ranks);

// This rank's rows for a block of steps: values[(s * slab.count + i) * dims + d]
// is W[block step s, slab.begin + i, d]. Every rank has the same block steps.
struct SlabBlock {
  const uint16_t* values = nullptr;
  int64_t steps = 0;
  TokenRange slab{0, 0};
  int64_t tokens = 0;  // all ranks together
  int64_t dims = 0;
};

struct RowSearchSettings {
  int64_t min_size = 2;
  // Testing: hashes are ANDed with this mask; a narrow mask forces collisions.
  uint64_t hash_mask = ~uint64_t(0);
};

// Counts over a search: this rank's share (the caller sums them over ranks).
struct RowSearchStats {
  int64_t candidate_buckets = 0;  // (step, hash) values shared by >= min_size rows
  int64_t candidate_rows = 0;     // rows in those buckets (compared bit by bit)
  int64_t collision_buckets = 0;  // buckets holding rows that differ
  int64_t verify_rounds = 0;      // exchanges of rows to compare (max over blocks)
  double hash_seconds = 0, route_seconds = 0, group_seconds = 0, verify_seconds = 0;
  void add(const RowSearchStats& other);
};

// The groups of one block step: each a sorted list of >= min_size tokens.
using StepGroups = std::vector<std::vector<int64_t>>;

// The search's per-row buffers, kept from block to block (large buffers
// would otherwise be allocated, cleared and faulted in for every block).
class RowSearchBuffers {
 public:
  RowSearchBuffers();
  ~RowSearchBuffers();
  struct Impl;
  Impl& impl() { return *m_impl; }

 private:
  std::unique_ptr<Impl> m_impl;
};

// Collective: the groups of every step of the block, complete on rank 0
// (empty lists elsewhere), each step's groups ordered by first token.
std::vector<StepGroups> find_identical_rows(const SlabBlock& block, const RowSearchSettings& settings,
                                            RowSearchBuffers& buffers, RowSearchStats& stats, MPI_Comm comm);

}  // namespace latdisp
