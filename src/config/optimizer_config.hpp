// `latdisp optimizer`: the typed configuration of the optimizer audit
// (docs/optimizer.md), built from its option table
// (config/optimizer_options.hpp) or by hand in tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "config/option_echo.hpp"
#include "config/run_specs.hpp"
#include "kokkos_kernels/optimizer/adamw_rules.hpp"

namespace latdisp {

// The tensors recorded beside W (input.dataset) in the run.
struct OptimizerTensors {
  std::string grad = "grad_W";
  std::string exp_avg = "momentum_W";
  std::string exp_avg_sq = "variance_W";
};

// The largest lr, eps and weight decay taken (from options or the input): a
// bound that keeps their products in the double range.
constexpr double kLargestHyperparameter = 1e300;

// The replayed rule, and the hyperparameters the command line gives; what it
// leaves out comes from the input's attributes, else the defaults
// (optimizer/hyperparameters.hpp).
struct AdamWSpec {
  std::optional<double> lr;  // --lr NUMBER
  std::string lr_dataset;    // --lr NAME: a length-S float64 dataset; neither: attribute, else dataset "lr"
  std::optional<double> beta1, beta2;  // --betas B1,B2
  std::optional<double> eps;
  std::optional<double> weight_decay;
  int64_t step_offset = -1;  // -1: not given (0, or the input's training step numbers)
  optimizer::UpdateRule update_rule = optimizer::UpdateRule::torch_lerp;
  optimizer::TorchCapability torch_capability = optimizer::TorchCapability::avx2;
  int torch_threads = 1;
};

struct OptimizerConfig {
  InputSpec input;  // path, dataset (W), dead mask
  OptimizerTensors tensors;
  AdamWSpec rule;
  OutputFiles outputs;  // --report, --per-token, --series-csv, --overwrite
  MemorySpec memory;
  CheckpointSpec checkpoint;
  OptionEcho echo;  // the identity's options (the report echoes none)
};

// As the options spell them and the reports print them: "torch-mul-add",
// "torch-lerp", "fused"; "avx2", "avx512", "default".
const char* update_rule_name(optimizer::UpdateRule rule);
const char* torch_capability_name(optimizer::TorchCapability capability);

// A decimal number (the whole text); false if it is not one.
bool parse_number(const std::string& text, double& value);

}  // namespace latdisp
