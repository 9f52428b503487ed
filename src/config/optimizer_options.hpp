// `latdisp optimizer`: the options of the optimizer audit (docs/optimizer.md),
// their --help and their validation (a pure function of the struct).
#pragma once

#include <boost/program_options.hpp>

#include <cstdint>
#include <string>

namespace latdisp {

struct OptimizerOptions {
  std::string input;
  std::string dataset = "W";
  std::string grad = "grad_W";
  std::string exp_avg = "momentum_W";
  std::string exp_avg_sq = "variance_W";
  std::string dead_mask = "dead_mask";
  std::string lr;            // a number, or the name of a length-S float64 dataset; empty: attribute
  std::string betas;         // "B1,B2"; empty: attributes, else 0.9,0.999
  std::string eps;           // empty: attribute, else 1e-8
  std::string weight_decay;  // empty: attribute, else 0.01
  int64_t step_offset = -1;  // -1: not given (0, or the input's training step numbers)
  std::string update_rule = "torch-lerp";   // torch-mul-add | torch-lerp | fused
  std::string torch_capability = "avx2";    // avx2 | avx512 | default
  int torch_threads = 1;
  std::string report;
  std::string per_token;
  std::string series_csv;
  bool overwrite = false;
  std::string memory_budget;
  std::string scratch_dir = "/tmp";
  int64_t max_steps_per_block = 0;
  double progress_seconds = 5.0;
  std::string checkpoint_dir;       // empty: no checkpoints (docs/operations.md §6)
  double checkpoint_seconds = 300;  // checkpoint at least this often, at a step-block boundary
  bool resume = false;              // continue from the checkpoint in checkpoint_dir
  double block_pause = 0;           // testing: seconds to sleep after each step block
};

boost::program_options::options_description optimizer_description(OptimizerOptions& o);

// Throws Error(kExitUsage) naming the option and the value.
void validate(const OptimizerOptions& o);

// A decimal number (the whole text); false if it is not one.
bool parse_number(const std::string& text, double& value);

}  // namespace latdisp
