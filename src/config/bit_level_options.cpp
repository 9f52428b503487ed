#include "config/bit_level_options.hpp"

#include "config/step_selection.hpp"
#include "io/matrix_source.hpp"
#include "io/output_format.hpp"
#include "parallel/errors.hpp"
#include "parallel/memory.hpp"

namespace po = boost::program_options;

namespace latdisp {

namespace {
const char* kMatrixHelp =
    "the matrix: PATH[:NAME][@STEP], a 2-D safetensors tensor or HDF5 dataset of any element format (bf16, f16, "
    "f32, f8e4m3, f8e5m2), a checkpoint (file or folder), or step STEP (0-based) of a trajectory: HDF5, safetensors "
    "or a checkpoint series (directory, glob, .txt manifest); default name W (required)";
const char* kGroupsHelp =
    "file (safetensors or HDF5) of integer tensors named *_token_ids (e.g. bh1_token_ids, ...), as blackholes "
    "writes; ordered by name";
}  // namespace

po::options_description inspect_description(InspectOptions& o) {
  po::options_description d("latdisp inspect: the bit-level view of chosen dims of each group's representative token");
  d.add_options()("help,h", "show this help")(
      "config", po::value<std::string>(),
      "read options from a config file (NAME = VALUE lines); the command line wins")(
      "matrix,m", po::value(&o.matrix), kMatrixHelp)("groups,g", po::value(&o.groups), kGroupsHelp)(
      "tokens", po::value(&o.tokens), "or: token ids, one group each, e.g. 17,42,1000-1003")(
      "dims,d", po::value(&o.dims), "dims to show, e.g. 0,5,100-103 (required)")("json", po::bool_switch(&o.json),
                                                                                 "print JSON instead of the table");
  return d;
}

po::options_description separation_description(SeparationOptions& o) {
  po::options_description d(
      "latdisp separation: ULP distances between groups over every dim, and whether each group is bit-identical");
  d.add_options()("help,h", "show this help")(
      "config", po::value<std::string>(),
      "read options from a config file (NAME = VALUE lines); the command line wins")(
      "matrix,m", po::value(&o.matrix), kMatrixHelp)("groups,g", po::value(&o.groups), kGroupsHelp)(
      "tokens", po::value(&o.tokens), "or: token ids, one group each, e.g. 17,42")(
      "max-groups", po::value(&o.max_groups)->default_value(o.max_groups),
      "compare only the first N groups (pairs grow as N^2)")("json", po::bool_switch(&o.json),
                                                             "print JSON instead of the text report");
  return d;
}

po::options_description blackholes_description(BlackholesOptions& o) {
  po::options_description d(
      "latdisp blackholes: find groups of tokens whose vectors are bit-identical, in one matrix or over the steps of "
      "a trajectory (when each group formed, how long each initial group lasted)");
  d.add_options()("help,h", "show this help")(
      "config", po::value<std::string>(),
      "read options from a config file (NAME = VALUE lines); the command line wins")(
      "matrix,m", po::value(&o.matrix),
      "the matrix: FILE.safetensors[:TENSOR] (BF16, or U16/I16 bits) or FILE.h5[:DATASET][@STEP] (2-D, or 3-D with "
      "@STEP); or, with --steps, a trajectory (steps, tokens, dims) in any input format; default name W (required)")(
      "steps", po::value(&o.steps),
      "walk the trajectory's steps: all, A:B or A:B:K (snapshot indices A to B inclusive, stride K)")(
      "dead-mask", po::value(&o.dead_mask)->default_value(o.dead_mask),
      "with --steps: the dead mask (a name in the input, or FILE:NAME); missing: every token live")(
      "report", po::value(&o.report), "write the JSON report (latdisp.blackholes/1) to this file")(
      "series-csv", po::value(&o.series_csv), "write the per-step series (groups, members, largest, dead) as CSV")(
      "output,o", po::value(&o.output),
      "write the (last selected step's) groups, largest first, as bh1_token_ids, bh2_token_ids, ... to "
      "G.safetensors or G.h5 (the file inspect and separation read)")(
      "min-size", po::value(&o.min_size)->default_value(o.min_size), "smallest group reported (>= 2)")(
      "overwrite", po::bool_switch(&o.overwrite), "replace existing output files")(
      "json", po::bool_switch(&o.json), "print the JSON report instead of the summary")(
      "memory-budget", po::value(&o.memory_budget),
      "with --steps: memory per rank for step blocks, e.g. 2GiB (default: half the node's available memory, shared "
      "by its ranks)")("max-steps-per-block", po::value(&o.max_steps_per_block)->default_value(0),
                       "testing: hold at most this many steps at once (0: as the budget allows)")(
      "hash-bits", po::value(&o.hash_bits)->default_value(o.hash_bits),
      "testing: keep only this many hash bits (1..64) to force collisions; results must not change");
  return d;
}

namespace {
void validate_groups_choice(const std::string& groups, const std::string& tokens, const std::string& command) {
  if (groups.empty() == tokens.empty())
    fail(kExitUsage, command + " needs exactly one of --groups FILE or --tokens LIST");
}
}  // namespace

void validate(const InspectOptions& o) {
  if (o.matrix.empty()) fail(kExitUsage, "inspect needs --matrix FILE[:TENSOR]");
  validate_groups_choice(o.groups, o.tokens, "inspect");
  if (o.dims.empty()) fail(kExitUsage, "inspect needs --dims d1,d2,...");
}

void validate(const SeparationOptions& o) {
  if (o.matrix.empty()) fail(kExitUsage, "separation needs --matrix FILE[:TENSOR]");
  validate_groups_choice(o.groups, o.tokens, "separation");
  if (o.max_groups < 1) fail(kExitUsage, "--max-groups must be at least 1, not " + std::to_string(o.max_groups));
}

void validate(const BlackholesOptions& o) {
  if (o.matrix.empty()) fail(kExitUsage, "blackholes needs --matrix FILE[:TENSOR]");
  if (o.min_size < 2) fail(kExitUsage, "--min-size must be at least 2, not " + std::to_string(o.min_size));
  if (o.hash_bits < 1 || o.hash_bits > 64)
    fail(kExitUsage, "--hash-bits must be in 1..64, not " + std::to_string(o.hash_bits));
  if (!o.output.empty()) output_format_of("--output", o.output);
  if (!o.steps.empty()) {
    parse_step_selection(o.steps);
    if (parse_matrix_location(o.matrix).step >= 0)
      fail(kExitUsage, "--matrix " + o.matrix + " chooses one step (@STEP) and --steps walks steps: give one of them");
  }
  if (!o.memory_budget.empty()) parse_byte_size(o.memory_budget);
  if (o.max_steps_per_block < 0) fail(kExitUsage, "--max-steps-per-block must be 0 (no cap) or at least 1");
}

}  // namespace latdisp
