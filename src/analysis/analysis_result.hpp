// Everything `analyze` found, in parts by where each is valid: what the
// input and the plan tell (every rank), the numbers reduced over the ranks
// and the record of the run (rank 0), what every rank agrees on after the
// reductions, and what each rank keeps of its own slab. The parts of rank 0
// are the input to the human and JSON reports.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analysis/count_table.hpp"
#include "analysis/magnitude_statistics.hpp"
#include "analysis/near_zero_result.hpp"
#include "analysis/per_token_table.hpp"
#include "analysis/population.hpp"
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

// One population's counts and their per-step series (docs/report.md).
struct PopulationResult {
  PopulationTally tally;
  CountSeries series;  // each of length S-1

  void merge(const PopulationResult& other) {
    tally.merge(other.tally);
    series.merge(other.series);
  }
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

// What the input and the plan tell before any step is read: the same on every rank.
struct AnalysisSetup {
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
  double hop_radius = 0;                         // R in cells (docs/definitions.md §15)

  int64_t transitions() const { return shape.steps - 1; }
  int64_t coordinates() const { return (shape.steps - 1) * shape.tokens * shape.dims; }
};

// The numbers reduced over the ranks: complete on rank 0 only. Each array is
// indexed by MagnitudePopulation (all, live, dead; analysis/population.hpp).
struct ReducedNumbers {
  UlpTally ulp;
  std::array<PopulationResult, kResultPopulations> displacement;
  std::array<MagnitudeSummary, kResultPopulations> magnitude;
  NearZeroResult near_zero;  // docs/definitions.md §19
};

// How the run went: rank 0's record, for the reports.
struct RunRecord {
  std::vector<uint64_t> peak_rss;  // per rank
  Timings timings;                 // of this run only (a resumed run: the resumed part)
  std::optional<CheckpointSummary> checkpoint;
  std::optional<SaveSummary> saved;  // --output
};

// What every rank holds after the reductions.
struct AgreedNumbers {
  int32_t integer_width = -1;  // of every integer x (all tokens); -1: none. It sizes the saved delta_W_prime.
};

// What each rank keeps of its own token slab, not reduced.
struct RankNumbers {
  PerTokenTable per_token;  // --per-token
};

// Everything `analyze` found. Its parts say where each field is valid; a
// function that reads only some of them takes those parts.
struct AnalysisResult : AnalysisSetup, ReducedNumbers, RunRecord, AgreedNumbers, RankNumbers {};

// The verdict over the finite classes (docs/definitions.md §6).
std::string verdict_of(const PopulationTally& tally);
// The verdict in one line, with the counts that caused it (docs/definitions.md §6).
std::string verdict_reason_of(const PopulationTally& tally);

}  // namespace latdisp
