#include "config/generate_options.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "config/shared_options.hpp"
#include "io/output_format.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

using Config = GenerateConfig;
using Options = std::vector<Option<Config>>;

// A count that only the combination checks (it depends on --matrix).
template <class Store>
Option<Config> count_option(const char* name, const char* help, Store store) {
  return option<Config>(name, int64_t{0}, help, store).no_default_shown();
}

// A fraction in [0, 1]; `name` is its option.
void require_fraction(const char* name, double value) {
  if (!(value >= 0 && value <= 1))
    fail(kExitUsage, std::string(name) + " must be in [0, 1], not " + number_text(value));
}

Options trajectory_options() {
  return {
      text_option<Config>("output,o", "HDF5 file to write (required)",
                          [](Config& c, const std::string& v) {
                            if (v.empty()) fail(kExitUsage, "generate needs --output FILE.h5");
                            c.output = v;
                          }),
      option<Config>("dataset", std::string("W"), "name of the W dataset",
                     [](Config& c, const std::string& v) { c.dataset = v; }),
      option<Config>("dead-mask", std::string("dead_mask"), "name of the dead-mask dataset",
                     [](Config& c, const std::string& v) { c.dead_mask = v; }),
      count_option("steps", "number of training steps S (>= 2)", [](Config& c, int64_t v) { c.steps = v; }),
      count_option("tokens", "number of tokens N (>= number of ranks)", [](Config& c, int64_t v) { c.tokens = v; }),
      count_option("dims", "number of dimensions D", [](Config& c, int64_t v) { c.dims = v; }),
      option<Config>("dead-fraction", 0.1, "fraction of dead tokens, in [0, 1]",
                     [](Config& c, double v) {
                       require_fraction("--dead-fraction", v);
                       c.dead_fraction = v;
                     }),
      option<Config>("seed", uint64_t{1}, "random seed; the same seed gives the same file bytes for any rank count",
                     [](Config& c, uint64_t v) { c.seed = v; }),
      flag_option<Config>("special", "plant subnormals, Inf, NaN, zeros and values >= 256",
                          [](Config& c, bool v) { c.special = v; }),
      option<Config>("element-type", std::string("bf16"),
                     "the element format of W: bf16 (uint16 bits), f16 (float16), f32 (float32), f8e4m3 or f8e5m2 "
                     "(uint8 bits with a dtype attribute)",
                     [](Config& c, const std::string& v) {
                       c.element_type = element_type_option(v).value_or(formats::ElementType::bf16);
                     }),
  };
}

Options decay_and_run_options() {
  return {
      option<Config>("decay-steps", int64_t{0},
                     "decaying move size, like a step-decay learning rate: moves halve every so many steps, so the "
                     "trajectory goes from thermal motion through hops to a freeze (0: no decay)",
                     [](Config& c, int64_t v) {
                       if (v < 0) fail(kExitUsage, "--decay-steps must be >= 0, not " + std::to_string(v));
                       c.decay_steps = v;
                     }),
      option<Config>("floor", 0.0,
                     "with --decay-steps: live tokens' move size never drops below this fraction of the first (a "
                     "learning-rate floor: the largest moves keep hopping single cells, a jitter tail); 0: a "
                     "complete freeze",
                     [](Config& c, double v) {
                       require_fraction("--floor", v);
                       c.floor = v;
                     }),
      flag_option<Config>("overwrite", "replace an existing output file", [](Config& c, bool v) { c.overwrite = v; }),
      memory_budget_option<Config>(&Config::memory,
                                   "peak memory per rank (default: half the node's available memory shared by its "
                                   "ranks)"),
  };
}

Options matrix_options() {
  return {
      flag_option<Config>("matrix",
                          "instead: a demo matrix W[tokens, dims] (BF16 safetensors, --dims >= 8) with planted groups "
                          "of bit-identical tokens, for blackholes/inspect/separation",
                          [](Config& c, bool v) { c.matrix = v; }),
      option<Config>("planted-groups", int64_t{4}, "with --matrix: number of planted groups (1..64)",
                     [](Config& c, int64_t v) { c.planted_groups = v; }),
      option<Config>("group-size", int64_t{200},
                     "with --matrix: size of the smallest planted group (the others are larger)",
                     [](Config& c, int64_t v) { c.group_size = v; }),
  };
}

// The sizes generate can write: each axis within one MPI-IO count, the whole
// array under 2^60 bytes (overflow-safe), else an option error now rather
// than a failed allocation or an HDF5 error later.
void require_writable_size(int64_t steps, int64_t tokens, int64_t dims) {
  constexpr int64_t kLongestAxis = INT32_MAX;
  for (const auto& [name, value] : {std::pair<const char*, int64_t>{"--steps", steps}, {"--tokens", tokens}, {"--dims", dims}})
    if (value > kLongestAxis)
      fail(kExitUsage, std::string(name) + " " + std::to_string(value) + " is too large (at most " +
                           std::to_string(kLongestAxis) + ")");
  int64_t bytes = 2;
  if (__builtin_mul_overflow(bytes, steps, &bytes) || __builtin_mul_overflow(bytes, tokens, &bytes) ||
      __builtin_mul_overflow(bytes, dims, &bytes) || bytes > (int64_t(1) << 60))
    fail(kExitUsage, "--steps x --tokens x --dims is too large: the array would exceed 2^60 bytes");
}

// --matrix: bf16 safetensors, room for the planted groups.
void check_matrix(const Config& c) {
  if (c.element_type != formats::ElementType::bf16)
    fail(kExitUsage,
         "generate --matrix writes bf16 only, not --element-type " + formats::element_type_name(c.element_type));
  if (c.dims < 8) fail(kExitUsage, "generate --matrix needs --dims of at least 8, not " + std::to_string(c.dims));
  if (c.planted_groups < 1 || c.planted_groups > 64)
    fail(kExitUsage, "--planted-groups must be in 1..64, not " + std::to_string(c.planted_groups));
  if (c.group_size < 2) fail(kExitUsage, "--group-size must be at least 2, not " + std::to_string(c.group_size));
  const int64_t step = std::max<int64_t>(1, c.group_size / 4);
  const int64_t planted = c.planted_groups * c.group_size + step * c.planted_groups * (c.planted_groups - 1) / 2;
  if (c.tokens < planted)
    fail(kExitUsage, "--tokens " + std::to_string(c.tokens) + " is too few for the planted groups (" +
                         std::to_string(planted) + " tokens)");
  if (format_from_name(c.output) != OutputFormat::safetensors)
    fail(kExitUsage, "generate --matrix writes safetensors: --output must end in .safetensors");
}

void check_combination(const Config& c) {
  if (c.matrix)
    check_matrix(c);
  else if (c.steps < 2)
    fail(kExitUsage, "--steps must be at least 2, not " + std::to_string(c.steps));
  if (c.tokens < 1) fail(kExitUsage, "--tokens must be at least 1, not " + std::to_string(c.tokens));
  if (c.dims < 1) fail(kExitUsage, "--dims must be at least 1, not " + std::to_string(c.dims));
  require_writable_size(c.matrix ? 1 : c.steps, c.tokens, c.dims);
  if (c.floor > 0 && c.decay_steps == 0) fail(kExitUsage, "--floor needs --decay-steps (the floor of a decay)");
}

OptionTable<Config> make_table() {
  OptionTable<Config> table;
  table.caption = "latdisp generate: write a realistic synthetic bfloat16 trajectory in the input format";
  table.add(trajectory_options());
  table.add(decay_and_run_options());
  table.add(matrix_options());
  table.check_combination = check_combination;
  return table;
}

}  // namespace

const OptionTable<GenerateConfig>& generate_option_table() {
  static const OptionTable<GenerateConfig> table = make_table();
  return table;
}

}  // namespace latdisp
