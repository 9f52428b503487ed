#include "config/pack_options.hpp"

#include <string>

#include "config/shared_options.hpp"
#include "io/output_format.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

using Config = PackConfig;

OptionTable<Config> make_table() {
  OptionTable<Config> table;
  table.caption =
      "latdisp pack: write a checkpoint series (or any input W) as the HDF5 trajectory latdisp reads fastest";
  table.add({
      input_option<Config>(&Config::input,
                           "the input: a series (directory of checkpoints, glob pattern, .txt manifest), a "
                           "safetensors or an HDF5 trajectory (required)",
                           "pack needs --input SERIES"),
      dataset_option<Config>(&Config::input,
                             "name of the matrix in each checkpoint (e.g. model.embed_tokens.weight), or of W"),
      dead_mask_option<Config>(&Config::input,
                               "the per-token dead mask: a name inside the input, or FILE:NAME in another "
                               "safetensors or HDF5 file; missing: none is written"),
      text_option<Config>("output,o", "HDF5 file to write, .h5 or .hdf5 (required)",
                          [](Config& c, const std::string& v) {
                            if (format_from_name(v) != OutputFormat::hdf5)
                              fail(kExitUsage, "pack needs --output FILE.h5 (or .hdf5): it writes the HDF5 trajectory");
                            c.output = v;
                          }),
      option<Config>("output-dataset", std::string("W"), "name of W in the output",
                     [](Config& c, const std::string& v) { c.output_dataset = v; }),
      flag_option<Config>("overwrite", "replace an existing output file", [](Config& c, bool v) { c.overwrite = v; }),
      memory_budget_option<Config>(&Config::memory,
                                   "peak memory per rank (default: half the node's available memory shared by its "
                                   "ranks)"),
  });
  return table;
}

}  // namespace

const OptionTable<PackConfig>& pack_option_table() {
  static const OptionTable<PackConfig> table = make_table();
  return table;
}

}  // namespace latdisp
