#include "config/survey_options.hpp"

#include <vector>

#include "config/shared_options.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

using Config = SurveyConfig;
using Options = std::vector<Option<Config>>;

Options model_options() {
  return {
      text_option<Config>("model",
                          "a model folder (config.json, model.safetensors or model.safetensors.index.json, "
                          "tokenizer.json) or one .safetensors or .h5 file (required)",
                          [](Config& c, const std::string& v) {
                            if (v.empty())
                              fail(kExitUsage,
                                   "survey needs --model PATH (a model folder, or a .safetensors or .h5 file)");
                            c.model = v;
                          }),
      text_option<Config>("tensor",
                          "the embedding's name (default: the first present of model.embed_tokens.weight, "
                          "transformer.wte.weight, embed_tokens.weight, tok_embeddings.weight, wte.weight, "
                          "lm_head.weight)",
                          [](Config& c, const std::string& v) { c.tensor = v; }),
      text_option<Config>(
          "element-type",
          "the element format of integer storage (bf16, f16, f32, f8e4m3, f8e5m2; default: from the stored type)",
          [](Config& c, const std::string& v) { c.element_type = element_type_option(v); }),
      text_option<Config>("tokenizer",
                          "a Hugging Face tokenizers JSON file (default: the model folder's tokenizer.json, if "
                          "present)",
                          [](Config& c, const std::string& v) { c.tokenizer = v; }),
      flag_option<Config>("no-tokenizer", "ignore the folder's tokenizer.json",
                          [](Config& c, bool v) { c.no_tokenizer = v; }),
      text_option<Config>(
          "compare",
          "a second model (folder or file) holding the same tensor with the same shape: count the unchanged rows",
          [](Config& c, const std::string& v) { c.compare = v; }),
  };
}

Options analysis_options() {
  return {
      option<Config>("near", int64_t{1},
                     "halo radius: rows at L-infinity lattice distance <= NEAR from their nearest group (>= 0)",
                     [](Config& c, int64_t v) {
                       if (v < 0) fail(kExitUsage, "--near must be >= 0, not " + std::to_string(v));
                       c.near = v;
                     }),
      option<Config>("groups-max", int64_t{64},
                     "the largest groups given distances, halos and the group distance matrices (>= 0)",
                     [](Config& c, int64_t v) {
                       if (v < 0) fail(kExitUsage, "--groups-max must be >= 0, not " + std::to_string(v));
                       if (v > 100000) fail(kExitUsage, "--groups-max must be at most 100000");
                       c.groups_max = v;
                     }),
  };
}

Options output_options() {
  return {
      text_option<Config>("report", "write the JSON report (latdisp.survey/1) to this file",
                          [](Config& c, const std::string& v) { c.outputs.report = v; }),
      text_option<Config>("per-token", "write the per-token table as CSV to this file",
                          [](Config& c, const std::string& v) { c.outputs.per_token = v; }),
      text_option<Config>("output,o",
                          "write the groups, largest first, as bh1_token_ids, bh2_token_ids, ... to G.safetensors or "
                          "G.h5 (the file inspect and separation read)",
                          [](Config& c, const std::string& v) {
                            if (!v.empty()) c.output_format = output_format_of("--output", v);
                            c.output = v;
                          }),
      text_option<Config>("summary", "also write the text summary to this file",
                          [](Config& c, const std::string& v) { c.summary = v; }),
      flag_option<Config>("json", "print the JSON report instead of the summary", [](Config& c, bool v) { c.json = v; }),
      overwrite_option<Config>(&Config::outputs, "replace existing output files"),
      memory_budget_option<Config>(&Config::memory,
                                   "memory per rank for row blocks, e.g. 512MiB (default: at most 1GiB, within half "
                                   "the node's available memory shared by its ranks)"),
      hash_bits_option<Config>(&Config::hash_bits),
  };
}

void check_combination(const SurveyConfig& c) {
  if (!c.tokenizer.empty() && c.no_tokenizer) fail(kExitUsage, "--tokenizer and --no-tokenizer exclude each other");
}

OptionTable<SurveyConfig> make_table() {
  OptionTable<SurveyConfig> table;
  table.caption =
      "latdisp survey: a released model's embedding: zero rows, groups of bit-identical rows, each row's lattice "
      "distance to the nearest group (halos), distances and components between groups, norms, the tokenizer's "
      "strings and the rows beyond it, and with --compare the rows a fine-tune left unchanged";
  table.add(model_options());
  table.add(analysis_options());
  table.add(output_options());
  table.check_combination = check_combination;
  return table;
}

}  // namespace

const OptionTable<SurveyConfig>& survey_option_table() {
  static const OptionTable<SurveyConfig> table = make_table();
  return table;
}

}  // namespace latdisp
