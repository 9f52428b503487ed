#include "config/bit_level_options.hpp"

#include <vector>

#include "config/shared_options.hpp"
#include "io/matrix_source.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

const char* kMatrixHelp =
    "the matrix: PATH[:NAME][@STEP], a 2-D safetensors tensor or HDF5 dataset of any element format (bf16, f16, "
    "f32, f8e4m3, f8e5m2), a checkpoint (file or folder), or step STEP (0-based) of a trajectory: HDF5, safetensors "
    "or a checkpoint series (directory, glob, .txt manifest); default name W (required)";
const char* kGroupsHelp =
    "file (safetensors or HDF5) of integer tensors named *_token_ids (e.g. bh1_token_ids, ...), as blackholes "
    "writes; ordered by name";

// --matrix (required: `command` names the command in the message).
template <class C>
Option<C> matrix_option(const std::string& command, const std::string& help) {
  return text_option<C>("matrix,m", help, [command](C& c, const std::string& v) {
    if (v.empty()) fail(kExitUsage, command + " needs --matrix FILE[:TENSOR]");
    c.matrix = v;
  });
}

// --groups and --tokens: exactly one (checked with the combinations).
template <class C>
std::vector<Option<C>> groups_options(const std::string& tokens_help) {
  return {text_option<C>("groups,g", kGroupsHelp, [](C& c, const std::string& v) { c.groups.file = v; }),
          text_option<C>("tokens", tokens_help, [](C& c, const std::string& v) { c.groups.tokens = v; })};
}

template <class C>
Option<C> json_option(const std::string& help) {
  return flag_option<C>("json", help, [](C& c, bool v) { c.json = v; });
}

void require_one_groups_choice(const GroupsSpec& groups, const std::string& command) {
  if (groups.file.empty() == groups.tokens.empty())
    fail(kExitUsage, command + " needs exactly one of --groups FILE or --tokens LIST");
}

OptionTable<InspectConfig> make_inspect_table() {
  using C = InspectConfig;
  OptionTable<C> table;
  table.caption = "latdisp inspect: the bit-level view of chosen dims of each group's representative token";
  table.add({matrix_option<C>("inspect", kMatrixHelp)});
  table.add(groups_options<C>("or: token ids, one group each, e.g. 17,42,1000-1003"));
  table.add({text_option<C>("dims,d", "dims to show, e.g. 0,5,100-103 (required)",
                            [](C& c, const std::string& v) { c.dims = v; }),
             json_option<C>("print JSON instead of the table")});
  table.check_combination = [](const C& c) {
    require_one_groups_choice(c.groups, "inspect");
    if (c.dims.empty()) fail(kExitUsage, "inspect needs --dims d1,d2,...");
  };
  return table;
}

OptionTable<SeparationConfig> make_separation_table() {
  using C = SeparationConfig;
  OptionTable<C> table;
  table.caption =
      "latdisp separation: ULP distances between groups over every dim, and whether each group is bit-identical";
  table.add({matrix_option<C>("separation", kMatrixHelp)});
  table.add(groups_options<C>("or: token ids, one group each, e.g. 17,42"));
  table.add({option<C>("max-groups", int64_t{64}, "compare only the first N groups (pairs grow as N^2)",
                       [](C& c, int64_t v) { c.max_groups = v; }),
             json_option<C>("print JSON instead of the text report")});
  table.check_combination = [](const C& c) {
    require_one_groups_choice(c.groups, "separation");
    if (c.max_groups < 1) fail(kExitUsage, "--max-groups must be at least 1, not " + std::to_string(c.max_groups));
  };
  return table;
}

using Blackholes = BlackholesConfig;

std::vector<Option<Blackholes>> blackholes_input_options() {
  using C = Blackholes;
  return {
      matrix_option<C>("blackholes",
                       "the matrix: FILE.safetensors[:TENSOR] (BF16, or U16/I16 bits) or FILE.h5[:DATASET][@STEP] "
                       "(2-D, or 3-D with @STEP); or, with --steps, a trajectory (steps, tokens, dims) in any input "
                       "format; default name W (required)")
          .echo("matrix"),
      text_option<C>("steps",
                     "walk the trajectory's steps: all, A:B or A:B:K (snapshot indices A to B inclusive, stride K)",
                     [](C& c, const std::string& v) {
                       if (!v.empty()) c.steps = parse_step_selection(v);
                       c.steps_text = v;
                     })
          .echo("steps")
          .echo_absent_as_null(),
      option<C>("dead-mask", std::string("dead_mask"),
                "with --steps: the dead mask (a name in the input, or FILE:NAME); missing: every token live",
                [](C& c, const std::string& v) { c.dead_mask = v; })
          .echo("dead_mask"),
  };
}

std::vector<Option<Blackholes>> blackholes_output_options() {
  using C = Blackholes;
  return {
      text_option<C>("report", "write the JSON report (latdisp.blackholes/1) to this file",
                     [](C& c, const std::string& v) { c.outputs.report = v; })
          .echo("report")
          .echo_absent_as_null(),
      text_option<C>("series-csv", "write the per-step series (groups, members, largest, dead) as CSV",
                     [](C& c, const std::string& v) { c.outputs.series_csv = v; })
          .echo("series_csv")
          .echo_absent_as_null(),
      text_option<C>("output,o",
                     "write the (last selected step's) groups, largest first, as bh1_token_ids, bh2_token_ids, ... to "
                     "G.safetensors or G.h5 (the file inspect and separation read)",
                     [](C& c, const std::string& v) {
                       if (!v.empty()) c.output_format = output_format_of("--output", v);
                       c.output = v;
                     })
          .echo("output")
          .echo_absent_as_null(),
  };
}

std::vector<Option<Blackholes>> blackholes_search_options() {
  using C = Blackholes;
  return {
      option<C>("min-size", int64_t{2}, "smallest group reported (>= 2)",
                [](C& c, int64_t v) {
                  if (v < 2) fail(kExitUsage, "--min-size must be at least 2, not " + std::to_string(v));
                  c.min_size = v;
                })
          .echo("min_size"),
      overwrite_option<C>(&C::outputs, "replace existing output files"),
      json_option<C>("print the JSON report instead of the summary"),
      memory_budget_option<C>(&C::memory,
                              "with --steps: memory per rank for step blocks, e.g. 2GiB (default: half the node's "
                              "available memory, shared by its ranks)")
          .echo("memory_budget")
          .echo_absent_as_null(),
      option<C>("max-steps-per-block", int64_t{0},
                "testing: hold at most this many steps at once (0: as the budget allows)",
                [](C& c, int64_t v) {
                  if (v < 0) fail(kExitUsage, "--max-steps-per-block must be 0 (no cap) or at least 1");
                  c.memory.max_steps_per_block = v;
                })
          .echo("max_steps_per_block"),
      hash_bits_option<C>(&C::hash_bits).echo("hash_bits"),
  };
}

void check_blackholes(const Blackholes& c) {
  if (c.steps && parse_matrix_location(c.matrix).step >= 0)
    fail(kExitUsage, "--matrix " + c.matrix + " chooses one step (@STEP) and --steps walks steps: give one of them");
}

OptionTable<Blackholes> make_blackholes_table() {
  OptionTable<Blackholes> table;
  table.caption =
      "latdisp blackholes: find groups of tokens whose vectors are bit-identical, in one matrix or over the steps of "
      "a trajectory (when each group formed, how long each initial group lasted)";
  table.add(blackholes_input_options());
  table.add(blackholes_output_options());
  table.add(blackholes_search_options());
  table.check_combination = check_blackholes;
  table.echo_order = {"matrix",        "steps",  "dead_mask", "min_size",  "hash_bits",
                      "memory_budget", "max_steps_per_block", "output", "report", "series_csv"};
  return table;
}

}  // namespace

const OptionTable<InspectConfig>& inspect_option_table() {
  static const OptionTable<InspectConfig> table = make_inspect_table();
  return table;
}

const OptionTable<SeparationConfig>& separation_option_table() {
  static const OptionTable<SeparationConfig> table = make_separation_table();
  return table;
}

const OptionTable<BlackholesConfig>& blackholes_option_table() {
  static const OptionTable<BlackholesConfig> table = make_blackholes_table();
  return table;
}

}  // namespace latdisp
