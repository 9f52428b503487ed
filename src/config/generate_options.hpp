// `latdisp generate`'s option table (config/option_table.hpp), from which
// its --help and its typed configuration (config/generate_config.hpp) come.
#pragma once

#include "config/generate_config.hpp"
#include "config/option_table.hpp"

namespace latdisp {

const OptionTable<GenerateConfig>& generate_option_table();

}  // namespace latdisp
