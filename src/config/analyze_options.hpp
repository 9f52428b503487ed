// `latdisp analyze`'s option table (config/option_table.hpp): every option
// of analyze stated once, from which its --help, its typed configuration
// (config/analyze_config.hpp), the report's options echo and the
// checkpoint identity come.
#pragma once

#include "config/analyze_config.hpp"
#include "config/option_table.hpp"

namespace latdisp {

const OptionTable<AnalyzeConfig>& analyze_option_table();

}  // namespace latdisp
