// The bit-level subcommands' option tables (config/option_table.hpp): every
// option of inspect, separation and blackholes stated once, from which their
// --help, their typed configurations (config/bit_level_config.hpp) and the
// report's options echo come.
#pragma once

#include "config/bit_level_config.hpp"
#include "config/option_table.hpp"

namespace latdisp {

const OptionTable<InspectConfig>& inspect_option_table();
const OptionTable<SeparationConfig>& separation_option_table();
const OptionTable<BlackholesConfig>& blackholes_option_table();

}  // namespace latdisp
