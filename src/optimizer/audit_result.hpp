// The result model of the optimizer audit (docs/optimizer.md §4-§5): per-step
// counters and exact sums for live and dead tokens, the percentiles of the
// intended cells, the first replay mismatches and the per-token table.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/input_path.hpp"
#include "optimizer/hyperparameters.hpp"
#include "optimizer/wide_sum.hpp"
#include "parallel/phase_timer.hpp"

namespace latdisp {

// The counters kept per (step, population), docs/optimizer.md §4.
enum AuditCounter : int {
  kClassFirst = 0,  // 8 classes, in the order of optimizer::CoordinateClass
  kSubHalfCellCount = 8,
  kSubHalfCellMoved,
  kExpAvgIncreased,  // increased, unchanged, decreased
  kExpAvgSqIncreased = kExpAvgIncreased + 3,
  kCountDecayEligible = kExpAvgSqIncreased + 3,
  kCountDecayNoop,
  kCountMismatchW,  // W, exp_avg, exp_avg_sq
  kCompared = kCountMismatchW + 3,
  kFrozenAsPredicted,  // the four freeze-prediction counts (rows)
  kMovedThoughPredictedFrozen,
  kFrozenThoughPredictedMoving,
  kMovedAsPredicted,
  kCounterCount
};

// The exact sums kept per (step, population).
enum AuditSum : int { kIntendedL1 = 0, kRealizedL1, kLostL1, kDot, kIntendedSq, kSumCount };

constexpr int kAuditLive = 0, kAuditDead = 1;

struct FirstMismatch {
  int64_t step, token, dim;
  int tensor;  // 0 W, 1 exp_avg, 2 exp_avg_sq
  uint64_t recorded_bits, replayed_bits;
  std::string operation;
};

struct TokenAudit {
  std::vector<int64_t> swallowed, moved, last_moved, last_half_cell, replay_mismatches;
  std::vector<double> intended_l1, lost_l1;
};

// What the run's checkpoints were (docs/operations.md §6).
struct AuditCheckpoint {
  std::string directory;
  int64_t written = 0;
  std::vector<uint64_t> bytes_per_rank;  // of the last checkpoint written
  std::optional<int64_t> resumed_from_step;
};

struct OptimizerResult {
  // input
  std::string path, element_type;  // W's element type: the rule's format
  std::string element_types[4];    // as stored: W, grad, exp_avg, exp_avg_sq
  std::string names[4];  // W, grad, exp_avg, exp_avg_sq
  InputFormat format = InputFormat::hdf5;
  int64_t steps = 0, tokens = 0, dims = 0, n_dead = 0;
  std::vector<int64_t> step_numbers;  // the input's, if any
  std::vector<int64_t> step_counts;   // k per snapshot t
  // run
  int ranks = 1;
  std::string update_rule, torch_capability, kokkos_backend;
  int torch_threads = 1;
  Hyperparameters hyperparameters;
  uint64_t memory_budget = 0;
  int64_t steps_per_block = 0;
  std::vector<uint64_t> peak_rss;
  // Rank 0's seconds, from `phases` (docs/optimizer.md §6, "Timings").
  double read_seconds = 0, compute_seconds = 0, reduce_seconds = 0, total_seconds = 0, checkpoint_seconds = 0;
  PhaseSummary phases;  // since the process started, over the ranks
  std::optional<AuditCheckpoint> checkpoint;  // with --checkpoint-dir
  // counts[(t - 1) * 2 + population][counter], sums likewise
  std::vector<std::array<int64_t, kCounterCount>> counts;
  std::vector<std::array<WideSum, kSumCount>> sums;
  std::array<std::array<std::optional<double>, 4>, 3> percentiles{};  // [all, live, dead][50, 90, 99, 99.9]
  std::vector<FirstMismatch> first_mismatches;
  TokenAudit per_token;  // complete on rank 0 only when asked for
  std::vector<uint8_t> dead;
};

}  // namespace latdisp
