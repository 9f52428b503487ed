// The bit-level subcommands (inspect, separation, blackholes; docs/formats.md
// §6, docs/report.md §14): their typed configurations, built from their
// option tables (config/bit_level_options.hpp) or by hand in tests.
// Matrices are FILE[:NAME][@STEP].
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "config/option_echo.hpp"
#include "config/run_specs.hpp"
#include "config/step_selection.hpp"
#include "io/output_format.hpp"

namespace latdisp {

// The groups a bit-level command compares: a file of *_token_ids tensors, or
// token ids given on the command line (exactly one of them).
struct GroupsSpec {
  std::string file;    // --groups
  std::string tokens;  // --tokens "17,42,1000-1003": one group each
};

struct InspectConfig {
  std::string matrix;
  GroupsSpec groups;
  std::string dims;  // "d1,d2,a-b"
  bool json = false;
  OptionEcho echo;
};

struct SeparationConfig {
  std::string matrix;
  GroupsSpec groups;
  int64_t max_groups = 64;
  bool json = false;
  OptionEcho echo;
};

struct BlackholesConfig {
  std::string matrix;                  // one matrix, or with `steps` a trajectory
  std::optional<StepSelection> steps;  // --steps: walk the trajectory; none: one matrix
  std::string steps_text;              // --steps as given (the report's selection)
  std::string dead_mask = "dead_mask";
  OutputFiles outputs;  // --report, --series-csv, --overwrite
  std::string output;   // the groups: .safetensors or .h5; empty: none
  OutputFormat output_format = OutputFormat::safetensors;
  int64_t min_size = 2;
  bool json = false;  // print the JSON report instead of the summary
  MemorySpec memory;  // budget and max_steps_per_block (0: as the budget allows)
  int64_t hash_bits = 64;  // testing: fewer bits force hash collisions
  OptionEcho echo;         // the report's options
};

}  // namespace latdisp
