#include "config/bit_level_options.hpp"

#include "parallel/errors.hpp"
#include "io/file_names.hpp"

namespace po = boost::program_options;

namespace latdisp {

namespace {
const char* kMatrixHelp =
    "the matrix: PATH[:NAME][@STEP], a 2-D safetensors tensor (BF16, or U16/I16 bits) or HDF5 dataset "
    "(uint16/int16 bits), a checkpoint (file or folder), or step STEP (0-based) of a trajectory: HDF5, safetensors "
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
  po::options_description d("latdisp blackholes: find groups of tokens whose vectors are bit-identical");
  d.add_options()("help,h", "show this help")(
      "config", po::value<std::string>(),
      "read options from a config file (NAME = VALUE lines); the command line wins")("matrix,m", po::value(&o.matrix),
                                                                                     kMatrixHelp)(
      "output,o", po::value(&o.output),
      "write the groups (largest first) as bh1_token_ids, bh2_token_ids, ... to "
      "G.safetensors or G.h5 (the file inspect and separation read)")(
      "min-size", po::value(&o.min_size)->default_value(o.min_size), "smallest group reported (>= 2)")(
      "overwrite", po::bool_switch(&o.overwrite), "replace an existing output file")(
      "json", po::bool_switch(&o.json), "print a JSON report (every group's ids, timings, peak memory)")(
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
  if (!o.output.empty()) require_output_format("--output", o.output);
}

}  // namespace latdisp
