// What `latdisp` was asked to do: the subcommand and its configuration,
// filled from the command line and/or a config file. Only the command line
// (app/cli.cpp) sees this; the stages receive their command's typed
// configuration or options struct.
#pragma once

#include <string>

#include "config/analyze_config.hpp"
#include "config/bit_level_config.hpp"
#include "config/generate_config.hpp"
#include "config/optimizer_config.hpp"
#include "config/pack_config.hpp"
#include "config/survey_config.hpp"

namespace latdisp {

// What `latdisp` was asked to do.
struct Command {
  std::string name;  // "analyze", "generate", or "" for top-level help
  bool help = false;         // print help_text and stop
  bool usage_error = false;  // ... on stderr, exit 1 (latdisp without a subcommand)
  AnalyzeConfig analyze;
  GenerateConfig generate;
  PackConfig pack;
  InspectConfig inspect;
  SeparationConfig separation;
  BlackholesConfig blackholes;
  SurveyConfig survey;
  OptimizerConfig optimizer;
  std::string help_text;
};

// Parses argv (after MPI/Kokkos took their own arguments). Throws
// Error(kExitUsage) on a malformed command line or config file.
Command parse_command_line(int argc, const char* const* argv);

std::string top_level_help();

}  // namespace latdisp
