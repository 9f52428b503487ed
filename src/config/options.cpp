#include "config/options.hpp"

#include <boost/program_options.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "config/analyze_options.hpp"
#include "config/bit_level_options.hpp"
#include "config/generate_options.hpp"
#include "config/optimizer_options.hpp"
#include "config/option_table.hpp"
#include "config/pack_options.hpp"
#include "config/survey_options.hpp"
#include "parallel/errors.hpp"

namespace po = boost::program_options;

namespace latdisp {

namespace {

std::string help_of(const po::options_description& d, const std::string& usage) {
  std::ostringstream text;
  text << "usage: " << usage << "\n\n" << d << "\n";
  return text.str();
}

// The config file's text; refuses what is not a readable regular text file.
std::string read_config_file(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) fail(kExitUsage, "--config '" + path + "': " + std::string(std::strerror(errno)));
  if (S_ISDIR(info.st_mode)) fail(kExitUsage, "--config '" + path + "' is a folder, not a config file");
  if (!S_ISREG(info.st_mode)) fail(kExitUsage, "--config '" + path + "' is not a regular file");
  std::ifstream file(path, std::ios::binary);
  if (!file) fail(kExitUsage, "cannot read the config file '" + path + "': " + std::string(std::strerror(errno)));
  std::ostringstream text;
  text << file.rdbuf();
  const std::string content = text.str();
  for (const unsigned char c : content)
    if (c == 0 || (c < 0x20 && c != '\t' && c != '\n' && c != '\r'))
      fail(kExitUsage, "--config '" + path + "' is not a text file of NAME = VALUE lines (it holds binary data)");
  return content;
}

// An option given with an empty value ("--outputs ''", "outputs =") is a
// mistake, not a request for the default.
void refuse_empty_values(const po::variables_map& values) {
  for (const auto& [name, value] : values) {
    if (value.defaulted() || value.empty()) continue;
    const auto* text = boost::any_cast<std::string>(&value.value());
    if (text && text->empty()) fail(kExitUsage, "--" + name + " needs a value; an empty one was given");
  }
}

po::variables_map parse_into(po::options_description& description, const std::vector<std::string>& arguments,
                             const std::string& subcommand) {
  po::variables_map values;
  try {
    // Exact option names only: no abbreviations (--epsilo is not --epsilon).
    const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    po::store(po::command_line_parser(arguments).options(description).style(style).run(), values);
    if (values.count("config")) {
      std::istringstream file(read_config_file(values["config"].as<std::string>()));
      // Stored second: values already given on the command line win.
      po::store(po::parse_config_file(file, description), values);
    }
    refuse_empty_values(values);
    po::notify(values);
  } catch (const po::error& e) {
    fail(kExitUsage, std::string(e.what()) + " (see latdisp " + subcommand + " --help)");
  }
  return values;
}

bool wants_help(const std::vector<std::string>& arguments) {
  for (const std::string& a : arguments)
    if (a == "--help" || a == "-h") return true;
  return false;
}

}  // namespace

std::string top_level_help() {
  return "latdisp: exact lattice displacement analysis of bf16, f16, f32 and FP8 weights, with MPI, parallel HDF5 and Kokkos\n\n"
         "usage: latdisp SUBCOMMAND [options]        (run under mpirun -np P or srun for P ranks)\n\n"
         "subcommands:\n"
         "  analyze    analyze W[steps, tokens, dims]: ULPs, lattice displacements, classes,\n"
         "             ranges, integer type, magnitudes and percentiles, exponent crossings,\n"
         "             motion over training (frozen / hop / thermal rows, when motion stops)\n"
         "  generate   write a synthetic trajectory in the input format (the default data set);\n"
         "             with --matrix, a demo matrix with planted groups of identical tokens\n"
         "  pack       write a checkpoint series (or any input) as one HDF5 trajectory W, dead_mask, steps\n"
         "  inspect    bit-level view of chosen dims of groups' tokens: bits, fields, true ULP distances\n"
         "  separation ULP distances between groups in every dim; are the groups bit-identical?\n"
         "  blackholes find the groups of tokens with bit-identical vectors (bh1_token_ids, ...);\n"
         "             with --steps, over a trajectory: when each group formed, how long it lasted\n"
         "  survey     a released model's embedding: zero rows, identical groups, halos, distances,\n"
         "             norms, the tokenizer's strings and rows beyond it, rows a fine-tune left unchanged\n"
         "  optimizer  replay AdamW from a recorded run (W, gradient, exp_avg, exp_avg_sq) bit for bit and\n"
         "             account for every update that rounding swallowed\n\n"
         "latdisp SUBCOMMAND --help documents every option; latdisp --version prints the version.\n"
         "Options may also come from a config file (--config FILE, NAME = VALUE lines); the\n"
         "command line wins.\n"
         "Exit codes: 0 ran, 1 usage or configuration error, 2 input error, 3 output error,\n"
         "4 verdict not PERFECT under --strict, 5 stopped by SIGINT, SIGTERM or SIGUSR1 (with\n"
         "--checkpoint-dir after writing a checkpoint; continue with --resume).\n";
}

namespace {

// One subcommand's parsing: its options (from its option table), the usage
// line of its --help, and what makes the parsed values its checked
// configuration in the Command.
struct SubcommandParser {
  const char* name;
  const char* usage;
  po::options_description (*describe)();
  void (*configure)(Command& command, const po::variables_map& values);
};

const SubcommandParser kSubcommandParsers[] = {
    {"analyze", "latdisp analyze --input W.h5 [--report REPORT.json] [options]",
     [] { return describe_options(analyze_option_table()); },
     [](Command& c, const po::variables_map& v) { c.analyze = configure(analyze_option_table(), v); }},
    {"generate", "latdisp generate --output W.h5 --steps S --tokens N --dims D [options]",
     [] { return describe_options(generate_option_table()); },
     [](Command& c, const po::variables_map& v) { c.generate = configure(generate_option_table(), v); }},
    {"pack", "latdisp pack --input SERIES --dataset NAME [--dead-mask FILE:NAME] --output W.h5",
     [] { return describe_options(pack_option_table()); },
     [](Command& c, const po::variables_map& v) { c.pack = configure(pack_option_table(), v); }},
    {"inspect", "latdisp inspect --matrix M.safetensors[:NAME] (--groups G | --tokens a,b,..) --dims d1,d2,..",
     [] { return describe_options(inspect_option_table()); },
     [](Command& c, const po::variables_map& v) { c.inspect = configure(inspect_option_table(), v); }},
    {"separation", "latdisp separation --matrix M.safetensors[:NAME] --groups G [--json]",
     [] { return describe_options(separation_option_table()); },
     [](Command& c, const po::variables_map& v) { c.separation = configure(separation_option_table(), v); }},
    {"blackholes",
     "latdisp blackholes --matrix M.safetensors[:NAME] [--min-size 2] [--output G.safetensors|G.h5]\n"
     "       latdisp blackholes --matrix TRAJECTORY --steps all|A:B[:K] [--report R.json] [--min-size M]\n"
     "                          [--output G.safetensors|G.h5] [--series-csv FILE] [--memory-budget SIZE]",
     [] { return describe_options(blackholes_option_table()); },
     [](Command& c, const po::variables_map& v) { c.blackholes = configure(blackholes_option_table(), v); }},
    {"survey",
     "latdisp survey --model PATH [--tensor NAME] [--tokenizer FILE] [--compare PATH2] [--near K]\n"
     "               [--report R.json] [--per-token T.csv] [--output G.safetensors]",
     [] { return describe_options(survey_option_table()); },
     [](Command& c, const po::variables_map& v) { c.survey = configure(survey_option_table(), v); }},
    {"optimizer", "latdisp optimizer --input RUN.h5 [--lr LR|--lr DATASET] [--update-rule RULE] [--report R.json]",
     [] { return describe_options(optimizer_option_table()); },
     [](Command& c, const po::variables_map& v) { c.optimizer = configure(optimizer_option_table(), v); }},
};

bool is_top_level_help(const char* const* argv) {
  const std::string first = argv[1];
  return first == "--help" || first == "-h" || first == "help";
}

// The subcommand's arguments, less the --kokkos-* ones (they belong to Kokkos).
std::vector<std::string> subcommand_arguments(int argc, const char* const* argv) {
  std::vector<std::string> arguments;
  for (int i = 2; i < argc; ++i)
    if (std::string(argv[i]).rfind("--kokkos-", 0) != 0) arguments.push_back(argv[i]);
  return arguments;
}

}  // namespace

Command parse_command_line(int argc, const char* const* argv) {
  Command command;
  if (argc < 2) {  // nothing asked: the usage, as an error
    command.help = command.usage_error = true;
    command.help_text = top_level_help();
    return command;
  }
  if (std::string(argv[1]) == "--version") {
    command.help = true;
    command.help_text = std::string("latdisp ") + LATDISP_VERSION + "\n";
    return command;
  }
  if (is_top_level_help(argv)) {
    command.help = true;
    command.help_text = top_level_help();
    return command;
  }
  command.name = argv[1];
  const std::vector<std::string> arguments = subcommand_arguments(argc, argv);
  const SubcommandParser* parser = std::find_if(std::begin(kSubcommandParsers), std::end(kSubcommandParsers),
                                                [&](const SubcommandParser& p) { return command.name == p.name; });
  if (parser == std::end(kSubcommandParsers))
    fail(kExitUsage, "unknown subcommand '" + command.name + "' (see latdisp --help)");
  po::options_description description = parser->describe();
  command.help_text = help_of(description, parser->usage);
  if (wants_help(arguments)) {
    command.help = true;
    return command;
  }
  const po::variables_map values = parse_into(description, arguments, command.name);
  parser->configure(command, values);
  return command;
}

}  // namespace latdisp
