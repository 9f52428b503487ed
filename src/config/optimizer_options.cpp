#include "config/optimizer_options.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "config/checkpoint_options.hpp"
#include "io/file_names.hpp"
#include "io/table_writer.hpp"
#include "parallel/errors.hpp"
#include "parallel/memory.hpp"

namespace po = boost::program_options;

namespace latdisp {

namespace {

void add_input_options(po::options_description& d, OptimizerOptions& o) {
  d.add_options()("help,h", "show this help")(
      "config", po::value<std::string>(), "read options from a config file (NAME = VALUE lines); the command line wins")(
      "input,i", po::value(&o.input),
      "the recorded run (required): an HDF5 file, a safetensors trajectory or a checkpoint series holding W, the "
      "gradient and AdamW's two states (steps x tokens x dims)")(
      "dataset", po::value(&o.dataset)->default_value(o.dataset), "name of W (the parameter)")(
      "grad", po::value(&o.grad)->default_value(o.grad), "name of the gradient; index t: the gradient step t used")(
      "exp-avg", po::value(&o.exp_avg)->default_value(o.exp_avg), "name of AdamW's exp_avg (after step t)")(
      "exp-avg-sq", po::value(&o.exp_avg_sq)->default_value(o.exp_avg_sq), "name of AdamW's exp_avg_sq (after step t)")(
      "dead-mask", po::value(&o.dead_mask)->default_value(o.dead_mask),
      "the per-token dead mask: a name inside the input, or FILE:NAME; missing: every token is live");
}

void add_rule_options(po::options_description& d, OptimizerOptions& o) {
  d.add_options()("lr", po::value(&o.lr),
                  "learning rate: a number, or the name of a float64 dataset/tensor of length S in the input (entry t: "
                  "the rate step t used); default: the input's attribute learning_rate (required somewhere)")(
      "betas", po::value(&o.betas), "B1,B2 (default: attributes adam_beta1/adam_beta2, else 0.9,0.999)")(
      "eps", po::value(&o.eps), "epsilon (default: attribute adam_epsilon, else 1e-8)")(
      "weight-decay", po::value(&o.weight_decay), "weight decay (default: attribute weight_decay, else 0.01)")(
      "step-offset", po::value(&o.step_offset),
      "the optimizer's step count at index t is t + OFFSET (default 0, or the input's training step numbers)")(
      "update-rule", po::value(&o.update_rule)->default_value(o.update_rule),
      "the replayed rule: torch-mul-add (torch <= 1.13), torch-lerp (torch 2 single-tensor), fused (torch fused "
      "AdamW)")("torch-capability", po::value(&o.torch_capability)->default_value(o.torch_capability),
                "torch-mul-add: the CPU capability torch dispatched to: avx2, avx512 or default")(
      "torch-threads", po::value(&o.torch_threads)->default_value(o.torch_threads),
      "torch-mul-add: torch's intra-op threads when it recorded the run (its scalar tails follow the split)");
}

void add_output_options(po::options_description& d, OptimizerOptions& o) {
  d.add_options()("report,r", po::value(&o.report), "write the JSON report here")(
      "per-token", po::value(&o.per_token), "the per-token table: .csv, .h5 or .safetensors")(
      "series-csv", po::value(&o.series_csv), "the per-step series as a wide .csv")(
      "overwrite", po::bool_switch(&o.overwrite), "replace existing output files")(
      "memory-budget", po::value(&o.memory_budget),
      "peak memory per rank, e.g. 2GiB (default: half the node's available memory shared by its ranks)")(
      "scratch-dir", po::value(&o.scratch_dir)->default_value(o.scratch_dir),
      "where the intended cells spill when they do not fit in the budget")(
      "max-steps-per-block", po::value(&o.max_steps_per_block)->default_value(o.max_steps_per_block),
      "tuning/testing: cap the steps held at once (0: as many as the budget allows; else >= 2)")(
      "progress-seconds", po::value(&o.progress_seconds)->default_value(o.progress_seconds),
      "seconds between progress lines on stderr (0: none)");
}

}  // namespace

po::options_description optimizer_description(OptimizerOptions& o) {
  po::options_description d("latdisp optimizer: replay AdamW and account for every update rounding lost");
  add_input_options(d, o);
  add_rule_options(d, o);
  add_output_options(d, o);
  add_checkpoint_options(d, o, "audit state");
  return d;
}

bool parse_number(const std::string& text, double& value) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && errno == 0 && std::isfinite(value);
}

namespace {

void require_number(const std::string& option, const std::string& text, double low, double high) {
  double value = 0;
  if (text.empty()) return;
  if (!parse_number(text, value) || !(value >= low && value <= high))
    fail(kExitUsage, "--" + option + " must be a number in [" + std::to_string(low) + ", " + std::to_string(high) +
                         "], not '" + text + "'");
}

}  // namespace

void validate(const OptimizerOptions& o) {
  if (o.input.empty()) fail(kExitUsage, "optimizer needs --input (the recorded run: W, gradient, exp_avg, exp_avg_sq)");
  if (o.update_rule != "torch-mul-add" && o.update_rule != "torch-lerp" && o.update_rule != "fused")
    fail(kExitUsage, "--update-rule must be torch-mul-add, torch-lerp or fused, not '" + o.update_rule + "'");
  if (o.torch_capability != "avx2" && o.torch_capability != "avx512" && o.torch_capability != "default")
    fail(kExitUsage, "--torch-capability must be avx2, avx512 or default, not '" + o.torch_capability + "'");
  if (o.torch_threads < 1 || o.torch_threads > 4096)
    fail(kExitUsage, "--torch-threads must be in 1..4096, not " + std::to_string(o.torch_threads));
  if (o.step_offset < -1) fail(kExitUsage, "--step-offset must be >= 0, not " + std::to_string(o.step_offset));
  if (!o.betas.empty()) {
    const size_t comma = o.betas.find(',');
    double b = 0;
    if (comma == std::string::npos || !parse_number(o.betas.substr(0, comma), b) || !(b >= 0 && b < 1) ||
        !parse_number(o.betas.substr(comma + 1), b) || !(b >= 0 && b < 1))
      fail(kExitUsage, "--betas must be B1,B2 with each in [0, 1), not '" + o.betas + "'");
  }
  require_number("eps", o.eps, 0, 1e300);
  require_number("weight-decay", o.weight_decay, 0, 1e300);
  double lr = 0;
  if (!o.lr.empty() && parse_number(o.lr, lr) && !(lr >= 0)) fail(kExitUsage, "--lr must be >= 0, not " + o.lr);
  if (!o.memory_budget.empty()) parse_byte_size(o.memory_budget, "--memory-budget");
  if (o.max_steps_per_block < 0 || o.max_steps_per_block == 1)
    fail(kExitUsage, "--max-steps-per-block must be 0 (no cap) or at least 2");
  if (!(o.progress_seconds >= 0)) fail(kExitUsage, "--progress-seconds must be >= 0");
  validate_checkpoint_options(o);
  if (!o.per_token.empty()) table_format_of("--per-token", o.per_token);
  if (!o.series_csv.empty() && !has_suffix(o.series_csv, ".csv"))
    fail(kExitUsage, "--series-csv '" + o.series_csv + "': the series are written as CSV, the name must end in .csv");
}

}  // namespace latdisp
