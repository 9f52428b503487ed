#include "config/analyze_options.hpp"

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "config/shared_options.hpp"
#include "io/file_names.hpp"
#include "io/output_format.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

using Config = AnalyzeConfig;
using Options = std::vector<Option<Config>>;

// What is read.
Options input_options() {
  return {
      input_option<Config>(&Config::input,
                           "W (required): an HDF5 file, a safetensors trajectory, or a checkpoint series (a directory "
                           "of checkpoints, a glob pattern, a .txt manifest)",
                           "analyze needs --input W (an HDF5 or safetensors file, or a series)")
          .echo("input"),
      dataset_option<Config>(&Config::input,
                             "name of W in the input (uint16/int16 or BF16/U16/I16 bfloat16 bits, steps x tokens x "
                             "dims), or of the matrix in each checkpoint of a series")
          .echo("dataset"),
      dead_mask_option<Config>(&Config::input,
                               "the per-token dead mask (bool): a name inside the input, or FILE:NAME in another "
                               "safetensors or HDF5 file; missing: every token is live")
          .echo("dead_mask")
          .in_identity(),
      text_option<Config>("steps",
                          "analyze only the snapshots A, A+K, ... up to B (A:B or A:B:K, snapshot indices 0..S-1, B "
                          "inclusive; all: every one): the report is that of the sliced trajectory, with input.steps "
                          "the selected snapshots' training steps (or indices)",
                          [](Config& c, const std::string& v) {
                            if (!v.empty() && v != "all") c.input.steps = parse_step_selection(v);
                            c.input.steps_text = v;
                          })
          .echo("steps")
          .echo_absent_as("all")
          .in_identity(),
      flag_option<Config>("skip-incomplete",
                          "a series: leave out the checkpoints not complete yet (no model file, no such tensor, a file "
                          "still being written) instead of refusing the input; the report names them (input.skipped)",
                          [](Config& c, bool v) { c.input.skip_incomplete = v; }),
      text_option<Config>("element-type",
                          "the element format of W stored as integers: bf16, f16, f32, f8e4m3 or f8e5m2 (default: "
                          "from the input; 16-bit integers are bf16 bits, 8-bit ones need a dtype attribute or this "
                          "option)",
                          [](Config& c, const std::string& v) { c.input.element_type = element_type_option(v); }),
  };
}

// --output and --report: what is written, and where.
Options output_options() {
  return {
      text_option<Config>("output,o",
                          "save the result tensors here: .h5 (HDF5) or .safetensors (written by all ranks; W is read a "
                          "second time)",
                          [](Config& c, const std::string& v) {
                            if (!v.empty()) c.save.format = output_format_of("--output", v);
                            c.save.path = v;
                          })
          .echo("output"),
      option<Config>("save-dtype", std::string("auto"),
                     "integer type of delta_W_prime: auto (the smallest that holds every integer x), int8, int16, "
                     "int32, int64; what it cannot hold goes to the exceptions table",
                     [](Config& c, const std::string& v) { c.save.dtype = parse_save_dtype(v); })
          .echo("save_dtype"),
      option<Config>("outputs", std::string("all"),
                     "tensors to save: all, or a comma list of delta_W_prime, U, exponent_crossings, dead_mask, "
                     "dead_token_ids, scalars, exceptions",
                     [](Config& c, const std::string& v) {
                       c.save.selection = parse_output_selection(v);
                       c.save.selection_text = v;
                     })
          .echo("outputs"),
      overwrite_option<Config>(&Config::outputs,
                               "replace existing output files (--output, --report, --per-token, --series-csv)")
          .echo("overwrite"),
      report_option<Config>(&Config::outputs, "write the JSON report here").echo("report"),
  };
}

// How x is computed and classified.
Options arithmetic_options() {
  return {
      option<Config>("arithmetic", std::string("exact"),
                     "exact (integer/bit arithmetic) or seed (the original notebook's float32 arithmetic)",
                     [](Config& c, const std::string& v) { c.kernel.arithmetic = parse_arithmetic(v); })
          .echo("arithmetic")
          .in_identity(),
      option<Config>("epsilon", 1e-6, "tolerance of the 'almost' and 'half' classes (> 0)",
                     [](Config& c, double v) {
                       if (!(v > 0)) fail(kExitUsage, "--epsilon must be a positive number, not " + number_text(v));
                       if (!(v < 1e300))
                         fail(kExitUsage, "--epsilon " + number_text(v) + " is too large: it must be below 1e300");
                       c.kernel.epsilon = v;
                     })
          .echo("epsilon")
          .in_identity(),
      option<Config>("zero-ulp", std::string("min-normal"),
                     "ULP of a zero: min-normal (2^-126, the notebook's) or min-subnormal (2^-133)",
                     [](Config& c, const std::string& v) { c.kernel.zero_ulp = parse_zero_ulp(v); })
          .echo("zero_ulp")
          .in_identity(),
  };
}

// Memory, scratch space, progress and kernel tuning.
Options resource_options() {
  return {
      memory_budget_option<Config>(
          &Config::memory, "peak memory per rank, e.g. 2GiB (default: half the node's available memory shared by its ranks)")
          .echo("memory_budget"),
      scratch_dir_option<Config>(&Config::memory, "where magnitudes spill when they do not fit in the budget")
          .echo("scratch_dir"),
      flag_option<Config>("strict", "exit with code 4 unless the verdict is PERFECT",
                          [](Config& c, bool v) { c.strict = v; })
          .echo("strict"),
      progress_seconds_option<Config>(&Config::memory).echo("progress_seconds"),
      option<Config>("tokens-per-item", int64_t{0}, "kernel tuning: tokens per work item (0: automatic)",
                     [](Config& c, int64_t v) {
                       if (v < 0) fail(kExitUsage, "--tokens-per-item must be >= 0");
                       c.kernel.tokens_per_item = v > 0 ? v : default_tokens_per_item();
                     })
          .echo("tokens_per_item"),
      max_steps_per_block_option<Config>(&Config::memory).echo("max_steps_per_block"),
      flag_option<Config>("spill-magnitudes",
                          "tuning/testing: keep row magnitudes in a scratch file even if they fit in memory",
                          [](Config& c, bool v) { c.spill_magnitudes = v; })
          .echo("spill_magnitudes"),
      option<Config>("read-method", std::string("auto"),
                     "how step blocks reach the kernel: map (the file's pages in place, no copy; W contiguous in an "
                     "HDF5 or safetensors file, kernel on the host), read (copied into buffers), auto (where map is possible, "
                     "read W directly, a few steps at a time, into a buffer the cache holds)",
                     [](Config& c, const std::string& v) { c.read_method = parse_read_method(v); })
          .echo("read_method"),
  };
}

// The motion regimes and their files.
Options motion_options() {
  return {
      option<Config>("hop-radius", 0.0,
                     "motion regimes: a row (step, token) with magnitude 0 < m <= R cells is a hop, m > R thermal, m = "
                     "0 frozen (0: R = sqrt(dims), the diagonal of one lattice cell)",
                     [](Config& c, double v) {
                       if (!(v >= 0) || !std::isfinite(v))
                         fail(kExitUsage, "--hop-radius must be a finite number of cells >= 0 (0: sqrt(dims)), not " +
                                              number_text(v));
                       c.hop_radius = v;
                     })
          .echo("hop_radius")
          .in_identity(),
      per_token_option<Config>(&Config::outputs,
                               "write the per-token motion table (moves, hops, first/last moved, crossings, ...) here: "
                               ".csv, .h5 or .safetensors")
          .echo("per_token"),
      series_csv_option<Config>(&Config::outputs,
                                "write the per-step series (classes, crossings, magnitudes, regimes) as a wide .csv, "
                                "one row per transition")
          .echo("series_csv"),
      text_option<Config>("per-row",
                          "write every row's magnitude and motion regime (0 frozen, 1 hop, 2 thermal, 3 non-finite) as "
                          "(S-1, N) datasets magnitude (float64) and regime (int8) of an HDF5 file (.h5)",
                          [](Config& c, const std::string& v) {
                            if (!v.empty() && format_from_name(v) != OutputFormat::hdf5)
                              fail(kExitUsage, "--per-row '" + v +
                                                   "': the per-row arrays are written as HDF5, the name must end in .h5");
                            c.per_row = v;
                          })
          .echo("per_row"),
  };
}

void check_combination(const AnalyzeConfig& c) {
  if (!c.per_row.empty() && !c.checkpoint.directory.empty())
    fail(kExitUsage, "--per-row cannot be combined with --checkpoint-dir: a resumed run would miss the rows before "
                     "its checkpoint");
}

OptionTable<AnalyzeConfig> make_table() {
  OptionTable<AnalyzeConfig> table;
  table.caption =
      "latdisp analyze: lattice displacement of a trajectory W[steps, tokens, dims] (bf16, f16, f32, f8e4m3 or "
      "f8e5m2), its motion over training (frozen, hop and thermal rows, when motion stops) and where x meets zero";
  table.add(input_options());
  table.add(output_options());
  table.add(arithmetic_options());
  table.add(resource_options());
  table.add(motion_options());
  table.add(checkpoint_options<Config>(&Config::checkpoint, "analysis state"));
  table.check_combination = check_combination;
  return table;
}

}  // namespace

const OptionTable<AnalyzeConfig>& analyze_option_table() {
  static const OptionTable<AnalyzeConfig> table = make_table();
  return table;
}

}  // namespace latdisp
