#include "config/survey_options.hpp"

#include "io/output_format.hpp"
#include "kokkos_kernels/formats/element_format.hpp"
#include "parallel/errors.hpp"
#include "parallel/memory.hpp"

namespace po = boost::program_options;

namespace latdisp {

po::options_description survey_description(SurveyOptions& o) {
  po::options_description d(
      "latdisp survey: a released model's embedding: zero rows, groups of bit-identical rows, each row's lattice "
      "distance to the nearest group (halos), distances and components between groups, norms, the tokenizer's "
      "strings and the rows beyond it, and with --compare the rows a fine-tune left unchanged");
  d.add_options()("help,h", "show this help")(
      "config", po::value<std::string>(),
      "read options from a config file (NAME = VALUE lines); the command line wins")(
      "model", po::value(&o.model),
      "a model folder (config.json, model.safetensors or model.safetensors.index.json, tokenizer.json) or one "
      ".safetensors or .h5 file (required)")(
      "tensor", po::value(&o.tensor),
      "the embedding's name (default: the first present of model.embed_tokens.weight, transformer.wte.weight, "
      "embed_tokens.weight, tok_embeddings.weight, wte.weight, lm_head.weight)")(
      "element-type", po::value(&o.element_type),
      "the element format of integer storage (bf16, f16, f32, f8e4m3, f8e5m2; default: from the stored type)")(
      "tokenizer", po::value(&o.tokenizer),
      "a Hugging Face tokenizers JSON file (default: the model folder's tokenizer.json, if present)")(
      "no-tokenizer", po::bool_switch(&o.no_tokenizer), "ignore the folder's tokenizer.json")(
      "compare", po::value(&o.compare),
      "a second model (folder or file) holding the same tensor with the same shape: count the unchanged rows")(
      "near", po::value(&o.near)->default_value(o.near),
      "halo radius: rows at L-infinity lattice distance <= NEAR from their nearest group (>= 0)")(
      "groups-max", po::value(&o.groups_max)->default_value(o.groups_max),
      "the largest groups given distances, halos and the group distance matrices (>= 0)")(
      "report", po::value(&o.report), "write the JSON report (latdisp.survey/1) to this file")(
      "per-token", po::value(&o.per_token), "write the per-token table as CSV to this file")(
      "output,o", po::value(&o.output),
      "write the groups, largest first, as bh1_token_ids, bh2_token_ids, ... to G.safetensors or G.h5 (the file "
      "inspect and separation read)")("summary", po::value(&o.summary), "also write the text summary to this file")(
      "json", po::bool_switch(&o.json), "print the JSON report instead of the summary")(
      "overwrite", po::bool_switch(&o.overwrite), "replace existing output files")(
      "memory-budget", po::value(&o.memory_budget),
      "memory per rank for row blocks, e.g. 512MiB (default: at most 1GiB, within half the node's available "
      "memory shared by its ranks)")(
      "hash-bits", po::value(&o.hash_bits)->default_value(o.hash_bits),
      "testing: keep only this many hash bits (1..64) to force collisions; results must not change");
  return d;
}

void validate(const SurveyOptions& o) {
  if (o.model.empty()) fail(kExitUsage, "survey needs --model PATH (a model folder, or a .safetensors or .h5 file)");
  if (o.near < 0) fail(kExitUsage, "--near must be >= 0, not " + std::to_string(o.near));
  if (o.groups_max < 0) fail(kExitUsage, "--groups-max must be >= 0, not " + std::to_string(o.groups_max));
  if (o.groups_max > 100000) fail(kExitUsage, "--groups-max must be at most 100000");
  formats::ElementType type;
  if (!o.element_type.empty() && !formats::parse_element_type(o.element_type, type))
    fail(kExitUsage, "--element-type must be one of " + formats::element_type_names() + ", not '" + o.element_type +
                         "'");
  if (!o.tokenizer.empty() && o.no_tokenizer) fail(kExitUsage, "--tokenizer and --no-tokenizer exclude each other");
  if (!o.output.empty()) output_format_of("--output", o.output);
  if (!o.memory_budget.empty()) parse_byte_size(o.memory_budget, "--memory-budget");
  if (o.hash_bits < 1 || o.hash_bits > 64) fail(kExitUsage, "--hash-bits must be in 1..64");
}

}  // namespace latdisp
