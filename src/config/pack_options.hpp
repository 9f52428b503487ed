// `latdisp pack`'s option table (config/option_table.hpp), from which its
// --help and its typed configuration (config/pack_config.hpp) come.
#pragma once

#include "config/option_table.hpp"
#include "config/pack_config.hpp"

namespace latdisp {

const OptionTable<PackConfig>& pack_option_table();

}  // namespace latdisp
