// Option structs, one per subcommand, filled from the command line and/or a
// config file; validation is a pure function of the struct.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/optimizer_options.hpp"
#include "config/survey_options.hpp"

namespace latdisp {

struct AnalyzeOptions {
  std::string input;
  std::string dataset = "W";
  std::string dead_mask = "dead_mask";
  bool skip_incomplete = false;     // a series leaves out checkpoints not complete yet
  std::string steps;                // A:B[:K] snapshot indices (B inclusive); empty or "all": every snapshot
  std::string element_type;         // bf16 | f16 | f32 | f8e4m3 | f8e5m2 of integer storage; empty: from the input
  std::string output;               // .h5/.hdf5 or .safetensors; empty: nothing saved
  std::string save_dtype = "auto";  // auto | int8 | int16 | int32 | int64
  std::string outputs = "all";      // which tensors to save
  bool overwrite = false;
  std::string report;
  std::string arithmetic = "exact";  // exact | seed
  double epsilon = 1e-6;
  std::string zero_ulp = "min-normal";  // min-normal | min-subnormal
  std::string memory_budget;            // empty: a safe share of the node's memory
  std::string scratch_dir = "/tmp";
  bool strict = false;
  double progress_seconds = 5.0;     // 0 disables the progress line
  int64_t tokens_per_item = 0;       // 0: chosen per backend
  int64_t max_steps_per_block = 0;   // 0: as many as the budget allows
  bool spill_magnitudes = false;     // keep magnitudes in the scratch file
  std::string read_method = "auto";  // auto | map | read (docs/operations.md §2)
  double hop_radius = 0;             // cells; 0: sqrt(dims)
  std::string per_token;             // .csv, .h5/.hdf5 or .safetensors; empty: none
  std::string series_csv;            // .csv; empty: none
  std::string per_row;               // .h5/.hdf5: magnitude and regime of every row; empty: none
  std::string checkpoint_dir;        // empty: no checkpoints (docs/operations.md)
  double checkpoint_seconds = 300;   // checkpoint at least this often, at a step-block boundary
  bool resume = false;               // continue from the checkpoint in checkpoint_dir
  double block_pause = 0;            // testing: seconds to sleep after each step block
};

struct GenerateOptions {
  std::string output;
  std::string dataset = "W";
  std::string dead_mask = "dead_mask";
  int64_t steps = 0;
  int64_t tokens = 0;
  int64_t dims = 0;
  double dead_fraction = 0.1;
  uint64_t seed = 1;
  bool special = false;
  std::string element_type = "bf16";  // the format of W (docs/formats.md §19)
  int64_t decay_steps = 0;  // the move size halves every so many steps; 0: no decay
  double floor = 0.0;       // live tokens' move size never below this fraction of the first
  bool overwrite = false;
  std::string memory_budget;
  bool matrix = false;  // --matrix: a demo matrix (safetensors) with planted groups
  int64_t planted_groups = 4;
  int64_t group_size = 200;
};

// `pack`: a checkpoint series (or any input) into the HDF5 trajectory.
struct PackOptions {
  std::string input;
  std::string dataset = "W";            // the tensor in the input
  std::string dead_mask = "dead_mask";  // NAME in the input, or FILE:NAME
  std::string output;                   // .h5 / .hdf5
  std::string output_dataset = "W";
  bool overwrite = false;
  std::string memory_budget;
};

// The bit-level subcommands (docs/formats.md §6, docs/report.md §14). Matrices are FILE[:NAME][@STEP].
struct InspectOptions {
  std::string matrix;
  std::string groups;  // file of *_token_ids tensors
  std::string tokens;  // or a list of token ids
  std::string dims;    // "d1,d2,a-b"
  bool json = false;
};

struct SeparationOptions {
  std::string matrix;
  std::string groups;
  std::string tokens;
  int64_t max_groups = 64;
  bool json = false;
};

struct BlackholesOptions {
  std::string matrix;
  std::string steps;  // all | A:B[:K]; empty: one matrix (2-D, or @STEP)
  std::string dead_mask = "dead_mask";
  std::string output;
  std::string report;      // the JSON report file
  std::string series_csv;  // per-step series
  int64_t min_size = 2;
  bool overwrite = false;
  bool json = false;
  std::string memory_budget;        // empty: a safe share of the node's memory
  int64_t max_steps_per_block = 0;  // 0: as many as the budget allows
  int64_t hash_bits = 64;           // testing: fewer bits force hash collisions
};

// --steps: the snapshot indices first, first + stride, ... up to last.
struct StepSelection {
  int64_t first = 0;
  int64_t last = -1;  // -1: the last step of the input
  int64_t stride = 1;
};

// "all", "A:B" or "A:B:K" (B inclusive). Throws Error(kExitUsage).
StepSelection parse_step_selection(const std::string& text);

// Throw Error(kExitUsage) with a message naming the option and the value.
void validate(const AnalyzeOptions& options);
void validate(const GenerateOptions& options);
void validate(const PackOptions& options);
void validate(const InspectOptions& options);
void validate(const SeparationOptions& options);
void validate(const BlackholesOptions& options);

// What `latdisp` was asked to do.
struct Command {
  std::string name;  // "analyze", "generate", or "" for top-level help
  bool help = false;         // print help_text and stop
  bool usage_error = false;  // ... on stderr, exit 1 (latdisp without a subcommand)
  AnalyzeOptions analyze;
  GenerateOptions generate;
  PackOptions pack;
  InspectOptions inspect;
  SeparationOptions separation;
  BlackholesOptions blackholes;
  SurveyOptions survey;
  OptimizerOptions optimizer;
  std::string help_text;
};

// Parses argv (after MPI/Kokkos took their own arguments). Throws
// Error(kExitUsage) on a malformed command line or config file.
Command parse_command_line(int argc, const char* const* argv);

std::string top_level_help();

}  // namespace latdisp
