// Everything `analyze` found, reduced over the ranks (complete on rank 0):
// the input to the human and JSON reports.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analysis/magnitude_statistics.hpp"
#include "analysis/near_zero_result.hpp"
#include "analysis/per_token_table.hpp"
#include "config/analyze_config.hpp"
#include "io/block_source.hpp"
#include "io/input_path.hpp"
#include "io/output_format.hpp"
#include "io/trajectory_shape.hpp"
#include "kokkos_kernels/block_analysis.hpp"
#include "kokkos_kernels/displacement_tally.hpp"
#include "kokkos_kernels/formats/element_type.hpp"
#include "parallel/phase_timer.hpp"

namespace latdisp {

// The per-step series of the report (docs/report.md), in TallyCount order:
// exact .. nonfinite, moved, crossed (coordinates), frozen .. nonfinite rows.
constexpr int kSeriesFields = kCountNonfiniteRows + 1;

struct PopulationResult {
  PopulationTally tally;
  std::vector<int64_t> series[kSeriesFields];  // each of length S-1
};

// Where the save pass spent its time (rank 0), in seconds.
struct SavePhases {
  double read = 0;        // W read a second time
  double encode = 0;      // the encode kernel (exceptions collected too) and its copies to the host
  double exceptions = 0;  // ordered and written
  double write = 0;       // the dense tensors written, the file closed
};

// What --output wrote.
struct SaveSummary {
  std::string path;
  OutputFormat format = OutputFormat::hdf5;
  std::string dtype;  // of delta_W_prime
  int64_t exceptions = 0;
  uint64_t bytes = 0;
  double seconds = 0;
  SavePhases phases;
};

// Rank 0's seconds by the report's timing keys (docs/report.md §3), each a
// sum of the run's phases (analysis_phases()), and the phases themselves.
struct Timings {
  double read = 0, compute = 0, reduce = 0, write = 0, checkpoint = 0, total = 0;
  double near_zero = 0;  // the near-zero kernel, part of compute (rank 0)
  PhaseSummary phases;   // since the process started, over the ranks
};

// analyze's phases in order (after start-up and the runtime's start), and
// its concurrent work: the reading thread's busy time.
const std::vector<std::string>& analysis_phases();
const std::vector<std::string>& analysis_concurrent_work();

// The report's timings from the phases so far.
Timings timings_of(const PhaseSummary& phases);

// --checkpoint-dir: what was written, and where a resumed run started.
struct CheckpointSummary {
  std::string directory;
  int64_t written = 0;
  std::vector<uint64_t> bytes_per_rank;  // of the last checkpoint written
  std::optional<int64_t> resumed_from_step;
};

struct AnalysisResult {
  AnalyzeConfig config;  // what was asked, and its options as given (config.echo)
  TrajectoryShape shape;
  std::string input_type;
  formats::ElementType element_type = formats::ElementType::bf16;
  InputFormat input_format = InputFormat::hdf5;
  std::vector<int64_t> step_numbers;  // training step of each step; empty if unknown
  std::vector<std::string> skipped;   // checkpoints left out as incomplete ("PATH: why")
  bool dead_mask_found = false;
  int64_t n_dead = 0;
  int ranks = 1;
  std::string kokkos_backend;
  uint64_t memory_budget = 0;
  int64_t steps_per_block = 0;
  bool magnitudes_in_memory = true;
  BlockSource block_source = BlockSource::read;  // how step blocks reached the kernel (run.read_method)
  Arithmetic arithmetic = Arithmetic::exact;     // the driving arithmetic (docs/definitions.md §13)
  std::vector<uint64_t> peak_rss;  // per rank
  Timings timings;                 // of this run only (a resumed run: the resumed part)
  std::optional<CheckpointSummary> checkpoint;

  UlpTally ulp;
  std::array<PopulationResult, 3> displacement;  // all, live, dead (MagnitudePopulation order)
  std::array<MagnitudeSummary, 3> magnitude;
  NearZeroResult near_zero;  // docs/definitions.md §19
  int32_t integer_width = -1;        // of every integer x (all tokens), on every rank; -1: none
  std::optional<SaveSummary> saved;  // --output
  double hop_radius = 0;             // R in cells (docs/definitions.md, "Motion regimes")
  PerTokenTable per_token;           // this rank's slab (--per-token); not reduced

  int64_t transitions() const { return shape.steps - 1; }
  int64_t coordinates() const { return (shape.steps - 1) * shape.tokens * shape.dims; }
};

// The verdict over the finite classes (docs/definitions.md §6).
std::string verdict_of(const PopulationTally& tally);
// The verdict in one line, with the counts that caused it (docs/definitions.md §6).
std::string verdict_reason_of(const PopulationTally& tally);

}  // namespace latdisp
