// `survey`: the typed configuration of the model survey (docs/definitions.md,
// "Model survey"), built from its option table (config/survey_options.hpp)
// or by hand in tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "config/option_echo.hpp"
#include "config/run_specs.hpp"
#include "io/output_format.hpp"
#include "kokkos_kernels/formats/element_type.hpp"

namespace latdisp {

struct SurveyConfig {
  std::string model;    // a model folder, or one .safetensors / .h5 file
  std::string tensor;   // empty: the first embedding name present
  std::optional<formats::ElementType> element_type;  // of integer storage; none: from the stored type
  std::string tokenizer;  // empty: the folder's tokenizer.json, if any
  bool no_tokenizer = false;
  std::string compare;      // a second model of the same shape
  int64_t near = 1;         // halo radius, in lattice cells (L-infinity)
  int64_t groups_max = 64;  // groups given distances
  OutputFiles outputs;      // --report (JSON), --per-token (CSV), --overwrite
  std::string output;       // groups: .safetensors or .h5; empty: none
  OutputFormat output_format = OutputFormat::safetensors;
  std::string summary;  // the text summary to a file (it is always printed)
  bool json = false;    // print the JSON instead of the summary
  MemorySpec memory;    // the budget only; none: at most 1 GiB per rank
  int hash_bits = 64;   // testing: keep this many hash bits to force collisions
  OptionEcho echo;
};

}  // namespace latdisp
