// What the magnitude statistics keep of a rank's rows, accumulated block by
// block as the kernel produces them: per transition and token class (live,
// dead) the exact sum, count and maximum of the finite magnitudes; the
// non-finite rows counted; every finite magnitude either counted in
// DistinctMagnitudes or, when it cannot be, kept as a general value (in
// memory, spilling to a scratch file past the plan's share of the budget).
// Plain vectors and tables: the state a checkpoint saves and a restart merges.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "analysis/distinct_magnitudes.hpp"
#include "analysis/spillable_keys.hpp"
#include "parallel/exact_sum.hpp"

namespace latdisp {

class ArchiveReader;
class ArchiveWriter;

// The finite magnitudes of one transition's rows of live (or dead) tokens.
struct StepMagnitudes {
  ExactSum sum;
  int64_t count = 0;
  double max = -std::numeric_limits<double>::infinity();

  void add(double m, uint32_t rows = 1) {
    sum.add(m, rows);
    count += rows;
    if (m > max) max = m;
  }
  void merge(const StepMagnitudes& other);
};

// Where the general values go: `memory_keys` of them in memory, the rest in a
// scratch file in `scratch_dir` when `may_spill`.
struct GeneralValueSpace {
  int64_t memory_keys = 0;
  bool may_spill = false;
  std::string scratch_dir;
};

// The most memory a store and its summary hold besides the general values
// (8 bytes each).
uint64_t magnitude_table_bytes(int64_t transitions);

class MagnitudeStore {
 public:
  // Rows with m = sqrt(q / 4), q below this, or (seed arithmetic) with
  // m = float(sqrt(S)), S below this, are tallied per step first.
  static constexpr uint32_t kStepQuarterSquares = uint32_t(1) << 14;

  // The store of a slab whose tokens `dead` flags; rows arrive in (transition,
  // token) order, transitions x dead.size() of them.
  MagnitudeStore(std::vector<uint8_t> dead, int64_t transitions, const GeneralValueSpace& space);
  // Up to `capacity` rows whose tokens are not known yet: kept as they come
  // (spilled to `scratch_dir` unless `in_memory`) until with_token_layout.
  MagnitudeStore(int64_t capacity, bool in_memory, const std::string& scratch_dir);
  MagnitudeStore(MagnitudeStore&&) = default;

  // `count` magnitudes, the rows that follow those appended so far (NaN or
  // Inf: a non-finite row).
  void append(const double* values, int64_t count);

  bool has_token_layout() const { return !m_deferred; }
  // A store of the rows appended to this one (without a token layout), with
  // the tokens of a `dead.size()`-token slab.
  MagnitudeStore with_token_layout(const std::vector<uint8_t>& dead) const;

  const std::vector<uint8_t>& dead() const { return m_dead; }
  int64_t transitions() const { return m_transitions; }
  const std::vector<StepMagnitudes>& steps(bool dead_tokens) const { return m_steps[dead_tokens ? 1 : 0]; }
  int64_t nonfinite(bool dead_tokens) const { return m_nonfinite[dead_tokens ? 1 : 0]; }
  const DistinctMagnitudes& distinct() const { return m_distinct; }
  const SpillableKeys& general() const { return m_general; }
  int64_t rows() const { return m_rows; }

  // Checkpoint: everything kept so far; load() restores it into a store just
  // constructed alike (same slab, transitions and kind).
  void save(ArchiveWriter& archive) const;
  void load(ArchiveReader& archive);

 private:
  void count_step_rows(int64_t step, int64_t first_token, const double* values, int64_t count);
  void fold_step_tally(int64_t step);

  bool m_deferred = false;  // rows kept raw in m_general
  GeneralValueSpace m_space;
  std::vector<uint8_t> m_dead;
  int64_t m_transitions = 0;
  int64_t m_rows = 0;                                  // appended so far
  std::array<std::vector<StepMagnitudes>, 2> m_steps;  // live, dead
  std::array<int64_t, 2> m_nonfinite = {0, 0};
  DistinctMagnitudes m_distinct;
  SpillableKeys m_general;
  // Scratch, zero (empty) between appends: the rows of one step with
  // m = sqrt(q / 4), q < kStepQuarterSquares, tallied by [2 q + dead], those
  // with m = float(sqrt(S)), S < kStepQuarterSquares, by
  // [2 (kStepQuarterSquares + S) + dead], and the indices tallied; folded into
  // the sums and counts once per step (one increment per row instead of an
  // exact sum and a hash look-up).
  std::vector<uint32_t> m_step_tally;
  std::vector<uint32_t> m_step_tallied;
};

}  // namespace latdisp
