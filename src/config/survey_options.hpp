// `survey`'s option table (config/option_table.hpp), from which its --help,
// its typed configuration (config/survey_config.hpp) and the report's
// options echo come.
#pragma once

#include "config/option_table.hpp"
#include "config/survey_config.hpp"

namespace latdisp {

const OptionTable<SurveyConfig>& survey_option_table();

}  // namespace latdisp
