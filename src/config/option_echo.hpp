// What a command's typed configuration keeps of how its options were given:
// the report's `options` echo and the checkpoint identity's options, as JSON
// text. Filled from the command's option table (config/option_table.hpp);
// the stages see only this, not the command-line parsing behind it.
#pragma once

#include <string>

namespace latdisp {

// What the report echoes and the checkpoint compares: JSON objects, as text.
// Filled by configure(); a configuration built by hand echoes nothing.
struct OptionEcho {
  std::string report = "{}";    // run.options of the report: echo key -> value as used
  std::string identity = "{}";  // the identity's options: "--NAME" -> value
};

}  // namespace latdisp
