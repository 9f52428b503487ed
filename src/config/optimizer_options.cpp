#include "config/optimizer_options.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "config/shared_options.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

using optimizer::TorchCapability;
using optimizer::UpdateRule;

namespace {

using Config = OptimizerConfig;
using Options = std::vector<Option<Config>>;

// Hyperparameters not given are echoed in the identity as "(attribute)":
// they come from the input.
constexpr const char* kFromInput = "(attribute)";

// A number in [low, high], or nothing when `text` is empty.
std::optional<double> number_in(const std::string& option, const std::string& text, double low, double high) {
  double value = 0;
  if (text.empty()) return std::nullopt;
  if (!parse_number(text, value) || !(value >= low && value <= high))
    fail(kExitUsage, "--" + option + " must be a number in [" + std::to_string(low) + ", " + std::to_string(high) +
                         "], not '" + text + "'");
  return value;
}

void store_betas(Config& c, const std::string& v) {
  if (v.empty()) return;
  const size_t comma = v.find(',');
  double b1 = 0, b2 = 0;
  if (comma == std::string::npos || !parse_number(v.substr(0, comma), b1) || !(b1 >= 0 && b1 < 1) ||
      !parse_number(v.substr(comma + 1), b2) || !(b2 >= 0 && b2 < 1))
    fail(kExitUsage, "--betas must be B1,B2 with each in [0, 1), not '" + v + "'");
  c.rule.beta1 = b1;
  c.rule.beta2 = b2;
}

// --lr: a number, or else the name of a per-step dataset.
void store_lr(Config& c, const std::string& v) {
  double lr = 0;
  if (v.empty()) return;
  if (!parse_number(v, lr)) {
    c.rule.lr_dataset = v;
    return;
  }
  if (!(lr >= 0 && lr <= kLargestHyperparameter))
    fail(kExitUsage, "--lr must be a number in [0, " + number_text(kLargestHyperparameter) + "], not " + v);
  c.rule.lr = lr;
}

Options tensor_options() {
  return {
      input_option<Config>(&Config::input,
                           "the recorded run (required): an HDF5 file, a safetensors trajectory or a checkpoint series "
                           "holding W, the gradient and AdamW's two states (steps x tokens x dims)",
                           "optimizer needs --input (the recorded run: W, gradient, exp_avg, exp_avg_sq)"),
      dataset_option<Config>(&Config::input, "name of W (the parameter)"),
      option<Config>("grad", std::string("grad_W"), "name of the gradient; index t: the gradient step t used",
                     [](Config& c, const std::string& v) { c.tensors.grad = v; }),
      option<Config>("exp-avg", std::string("momentum_W"), "name of AdamW's exp_avg (after step t)",
                     [](Config& c, const std::string& v) { c.tensors.exp_avg = v; }),
      option<Config>("exp-avg-sq", std::string("variance_W"), "name of AdamW's exp_avg_sq (after step t)",
                     [](Config& c, const std::string& v) { c.tensors.exp_avg_sq = v; }),
      dead_mask_option<Config>(&Config::input,
                               "the per-token dead mask: a name inside the input, or FILE:NAME; missing: every token "
                               "is live")
          .in_identity(),
  };
}

Options hyperparameter_options() {
  return {
      text_option<Config>("lr",
                          "learning rate: a number, or the name of a float64 dataset/tensor of length S in the input "
                          "(entry t: the rate step t used); default: the input's attribute learning_rate (required "
                          "somewhere)",
                          store_lr)
          .in_identity()
          .echo_absent_as(kFromInput),
      text_option<Config>("betas", "B1,B2 (default: attributes adam_beta1/adam_beta2, else 0.9,0.999)", store_betas)
          .in_identity()
          .echo_absent_as(kFromInput),
      text_option<Config>("eps", "epsilon (default: attribute adam_epsilon, else 1e-8)",
                          [](Config& c, const std::string& v) { c.rule.eps = number_in("eps", v, 0, kLargestHyperparameter); })
          .in_identity()
          .echo_absent_as(kFromInput),
      text_option<Config>(
          "weight-decay", "weight decay (default: attribute weight_decay, else 0.01)",
          [](Config& c, const std::string& v) { c.rule.weight_decay = number_in("weight-decay", v, 0, kLargestHyperparameter); })
          .in_identity()
          .echo_absent_as(kFromInput),
      option<Config>("step-offset", int64_t{-1},
                     "the optimizer's step count at index t is t + OFFSET (default 0, or the input's training step "
                     "numbers)",
                     [](Config& c, int64_t v) {
                       if (v < -1) fail(kExitUsage, "--step-offset must be >= 0, not " + std::to_string(v));
                       c.rule.step_offset = v;
                     })
          .no_default_shown()
          .in_identity(),
  };
}

Options rule_options() {
  return {
      option<Config>("update-rule", std::string("torch-lerp"),
                     "the replayed rule: torch-mul-add (torch <= 1.13), torch-lerp (torch 2 single-tensor), fused "
                     "(torch fused AdamW)",
                     [](Config& c, const std::string& v) {
                       if (v == "torch-mul-add") c.rule.update_rule = UpdateRule::torch_mul_add;
                       else if (v == "torch-lerp") c.rule.update_rule = UpdateRule::torch_lerp;
                       else if (v == "fused") c.rule.update_rule = UpdateRule::fused;
                       else fail(kExitUsage, "--update-rule must be torch-mul-add, torch-lerp or fused, not '" + v + "'");
                     })
          .in_identity(),
      option<Config>("torch-capability", std::string("avx2"),
                     "torch-mul-add: the CPU capability torch dispatched to: avx2, avx512 or default",
                     [](Config& c, const std::string& v) {
                       if (v == "avx2") c.rule.torch_capability = TorchCapability::avx2;
                       else if (v == "avx512") c.rule.torch_capability = TorchCapability::avx512;
                       else if (v == "default") c.rule.torch_capability = TorchCapability::default_isa;
                       else fail(kExitUsage, "--torch-capability must be avx2, avx512 or default, not '" + v + "'");
                     })
          .in_identity(),
      option<Config>("torch-threads", 1,
                     "torch-mul-add: torch's intra-op threads when it recorded the run (its scalar tails follow the "
                     "split)",
                     [](Config& c, int v) {
                       if (v < 1 || v > 4096)
                         fail(kExitUsage, "--torch-threads must be in 1..4096, not " + std::to_string(v));
                       c.rule.torch_threads = v;
                     })
          .in_identity(),
  };
}

Options output_options() {
  return {
      report_option<Config>(&Config::outputs, "write the JSON report here"),
      per_token_option<Config>(&Config::outputs, "the per-token table: .csv, .h5 or .safetensors"),
      series_csv_option<Config>(&Config::outputs, "the per-step series as a wide .csv"),
      overwrite_option<Config>(&Config::outputs, "replace existing output files"),
      memory_budget_option<Config>(
          &Config::memory,
          "peak memory per rank, e.g. 2GiB (default: half the node's available memory shared by its ranks)"),
      scratch_dir_option<Config>(&Config::memory, "not used: the audit keeps no key that could spill (docs/optimizer.md §5)"),
      max_steps_per_block_option<Config>(&Config::memory),
      progress_seconds_option<Config>(&Config::memory),
  };
}

OptionTable<OptimizerConfig> make_table() {
  OptionTable<OptimizerConfig> table;
  table.caption = "latdisp optimizer: replay AdamW and account for every update rounding lost";
  table.add(tensor_options());
  table.add(hyperparameter_options());
  table.add(rule_options());
  table.add(output_options());
  table.add(checkpoint_options<Config>(&Config::checkpoint, "audit state"));
  return table;
}

}  // namespace

const OptionTable<OptimizerConfig>& optimizer_option_table() {
  static const OptionTable<OptimizerConfig> table = make_table();
  return table;
}

const char* update_rule_name(UpdateRule rule) {
  switch (rule) {
    case UpdateRule::torch_mul_add: return "torch-mul-add";
    case UpdateRule::fused: return "fused";
    case UpdateRule::torch_lerp: break;
  }
  return "torch-lerp";
}

const char* torch_capability_name(TorchCapability capability) {
  switch (capability) {
    case TorchCapability::avx512: return "avx512";
    case TorchCapability::default_isa: return "default";
    case TorchCapability::avx2: break;
  }
  return "avx2";
}

bool parse_number(const std::string& text, double& value) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && errno == 0 && std::isfinite(value);
}

}  // namespace latdisp
