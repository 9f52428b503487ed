// What `blackholes` found, in one model for a single matrix and for a walk
// over a trajectory's steps, and its three renderings: the JSON report
// (latdisp.blackholes/1, docs/report.md), the human summary and the per-step
// CSV (docs/formats.md).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "bits/group_timeline.hpp"
#include "bits/identical_rows.hpp"
#include "config/bit_level_config.hpp"
#include "io/input_path.hpp"
#include "parallel/phase_timer.hpp"

namespace latdisp {

struct BlackholesRun {
  BlackholesConfig config;  // as asked; config.echo: the report's options
  // The input.
  std::string source;  // e.g. "W.h5:W (uint16, 301 x 10000 x 64)"
  std::string path;
  std::string name;  // dataset / tensor
  InputFormat format = InputFormat::hdf5;
  std::string type;  // the stored type
  std::string element_type = "bf16";
  bool trajectory = false;
  int64_t input_steps = 0;  // S of a trajectory (0: one matrix)
  int64_t tokens = 0;
  int64_t dims = 0;
  int64_t words = 0;  // 16-bit words per row (its bytes, padded to even) the search compares
  std::vector<int64_t> step_numbers;  // the training step of each snapshot, when the input has them
  bool dead_mask_found = false;
  int64_t dead_tokens = 0;
  // The selected snapshot indices, and what the tracking found (rank 0).
  std::vector<int64_t> steps;
  std::vector<StepSummary> series;
  std::vector<FinalGroup> final_groups;
  std::vector<InitialGroup> initial_groups;
  RowSearchStats search;  // counts summed over ranks, seconds the slowest rank's
  // The run.
  int ranks = 1;
  int64_t steps_per_block = 0;
  uint64_t memory_budget = 0;
  double read_seconds = 0;
  double track_seconds = 0;
  double total_seconds = 0;
  std::vector<uint64_t> peak_rss;  // per rank
  PhaseSummary phases;             // where time went, up to the reports (rank 0)
};

// The phases of a blackholes run, in report order (docs/report.md §13):
// open (outputs checked, the input opened, the steps selected and the blocks
// planned), read (a block of selected steps), search (hash, route, group and
// verify the rows; one matrix: its reads too), track (rank 0 follows the
// groups), reduce (the counts and the peak memory onto rank 0), write (the
// groups file).
const std::vector<std::string>& blackholes_phases();

// Rows looked at per second: selected steps x tokens over the total time.
double rows_per_second(const BlackholesRun& run);

nlohmann::ordered_json blackholes_json(const BlackholesRun& run);
std::string blackholes_text(const BlackholesRun& run);
std::string blackholes_series_csv(const BlackholesRun& run);

}  // namespace latdisp
