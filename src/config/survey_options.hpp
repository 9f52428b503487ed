// `survey`: the options of the model survey (docs/definitions.md, "Model
// survey"), their command-line description and validation.
#pragma once

#include <boost/program_options.hpp>

#include <cstdint>
#include <string>

namespace latdisp {

struct SurveyOptions {
  std::string model;         // a model folder, or one .safetensors / .h5 file
  std::string tensor;        // empty: the first embedding name present
  std::string element_type;  // empty: from the stored type
  std::string tokenizer;     // empty: the folder's tokenizer.json, if any
  bool no_tokenizer = false;
  std::string compare;       // a second model of the same shape
  int64_t near = 1;          // halo radius, in lattice cells (L-infinity)
  int64_t groups_max = 64;   // groups given distances
  std::string report;        // JSON
  std::string per_token;     // CSV
  std::string output;        // groups: .safetensors or .h5
  std::string summary;       // the text summary to a file (it is always printed)
  bool json = false;         // print the JSON instead of the summary
  bool overwrite = false;
  std::string memory_budget;  // empty: at most 1 GiB per rank
  int hash_bits = 64;         // testing: keep this many hash bits to force collisions
};

boost::program_options::options_description survey_description(SurveyOptions& options);
void validate(const SurveyOptions& options);

}  // namespace latdisp
