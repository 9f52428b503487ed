// `latdisp generate`: the typed configuration of the synthetic trajectory and
// the demo matrix (docs/formats.md §19), built from its option table
// (config/generate_options.hpp) or by hand in tests.
#pragma once

#include <cstdint>
#include <string>

#include "config/option_echo.hpp"
#include "config/run_specs.hpp"
#include "kokkos_kernels/formats/element_type.hpp"

namespace latdisp {

struct GenerateConfig {
  std::string output;
  std::string dataset = "W";
  std::string dead_mask = "dead_mask";
  int64_t steps = 0;
  int64_t tokens = 0;
  int64_t dims = 0;
  double dead_fraction = 0.1;
  uint64_t seed = 1;
  bool special = false;
  formats::ElementType element_type = formats::ElementType::bf16;  // the format of W (docs/formats.md §19)
  int64_t decay_steps = 0;  // the move size halves every so many steps; 0: no decay
  double floor = 0.0;       // live tokens' move size never below this fraction of the first
  bool overwrite = false;
  MemorySpec memory;    // the budget only; none: a share of the node's memory
  bool matrix = false;  // --matrix: a demo matrix (safetensors) with planted groups
  int64_t planted_groups = 4;
  int64_t group_size = 200;
  OptionEcho echo;  // empty: generate writes no report
};

}  // namespace latdisp
