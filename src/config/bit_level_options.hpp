// Command-line descriptions of the bit-level subcommands (inspect,
// separation, blackholes); parsed by parse_command_line in options.cpp.
#pragma once

#include <boost/program_options.hpp>

#include "config/options.hpp"

namespace latdisp {

boost::program_options::options_description inspect_description(InspectOptions& options);
boost::program_options::options_description separation_description(SeparationOptions& options);
boost::program_options::options_description blackholes_description(BlackholesOptions& options);

}  // namespace latdisp
