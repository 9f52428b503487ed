// `latdisp optimizer`'s option table (config/option_table.hpp), from which
// its --help, its typed configuration (config/optimizer_config.hpp) and its
// checkpoint identity come.
#pragma once

#include "config/optimizer_config.hpp"
#include "config/option_table.hpp"

namespace latdisp {

const OptionTable<OptimizerConfig>& optimizer_option_table();

}  // namespace latdisp
