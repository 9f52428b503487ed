// `latdisp generate`: the options of the synthetic trajectory and demo
// matrix (docs/formats.md §19), checked by validate (config/options.cpp).
#pragma once

#include <cstdint>
#include <string>

namespace latdisp {

struct GenerateOptions {
  std::string output;
  std::string dataset = "W";
  std::string dead_mask = "dead_mask";
  int64_t steps = 0;
  int64_t tokens = 0;
  int64_t dims = 0;
  double dead_fraction = 0.1;
  uint64_t seed = 1;
  bool special = false;
  std::string element_type = "bf16";  // the format of W (docs/formats.md §19)
  int64_t decay_steps = 0;  // the move size halves every so many steps; 0: no decay
  double floor = 0.0;       // live tokens' move size never below this fraction of the first
  bool overwrite = false;
  std::string memory_budget;
  bool matrix = false;  // --matrix: a demo matrix (safetensors) with planted groups
  int64_t planted_groups = 4;
  int64_t group_size = 200;
};

// Throws Error(kExitUsage) naming the option and the value.
void validate(const GenerateOptions& options);

}  // namespace latdisp
