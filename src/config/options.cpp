#include "config/options.hpp"

#include "kokkos_kernels/formats/element_type.hpp"

#include <boost/program_options.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <utility>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/bit_level_options.hpp"
#include "config/analyze_options.hpp"
#include "config/optimizer_options.hpp"
#include "config/option_table.hpp"
#include "config/survey_options.hpp"
#include "io/file_names.hpp"
#include "io/output_format.hpp"
#include "io/output_selection.hpp"
#include "io/table_writer.hpp"
#include "parallel/errors.hpp"
#include "parallel/memory.hpp"

namespace po = boost::program_options;

namespace latdisp {

namespace {

po::options_description generate_description(GenerateOptions& o) {
  po::options_description d("latdisp generate: write a realistic synthetic bfloat16 trajectory in the input format");
  d.add_options()("help,h", "show this help")(
      "config", po::value<std::string>(),
      "read options from a config file (NAME = VALUE lines); the command line wins")("output,o", po::value(&o.output),
                                                                                     "HDF5 file to write (required)")(
      "dataset", po::value(&o.dataset)->default_value(o.dataset), "name of the W dataset")(
      "dead-mask", po::value(&o.dead_mask)->default_value(o.dead_mask), "name of the dead-mask dataset")(
      "steps", po::value(&o.steps), "number of training steps S (>= 2)")(
      "tokens", po::value(&o.tokens), "number of tokens N (>= number of ranks)")("dims", po::value(&o.dims),
                                                                                 "number of dimensions D")(
      "dead-fraction", po::value(&o.dead_fraction)->default_value(o.dead_fraction, number_text(o.dead_fraction)),
      "fraction of dead tokens, in [0, 1]")("seed", po::value(&o.seed)->default_value(o.seed),
                                            "random seed; the same seed gives the same file bytes for any rank count")(
      "special", po::bool_switch(&o.special), "plant subnormals, Inf, NaN, zeros and values >= 256")(
      "element-type", po::value(&o.element_type)->default_value(o.element_type),
      "the element format of W: bf16 (uint16 bits), f16 (float16), f32 (float32), f8e4m3 or f8e5m2 (uint8 bits "
      "with a dtype attribute)")(
      "decay-steps", po::value(&o.decay_steps)->default_value(o.decay_steps),
      "decaying move size, like a step-decay learning rate: moves halve every so many steps, so the trajectory "
      "goes from thermal motion through hops to a freeze (0: no decay)")(
      "floor", po::value(&o.floor)->default_value(o.floor, number_text(o.floor)),
      "with --decay-steps: live tokens' move size never drops below this fraction of the first (a learning-rate "
      "floor: the largest moves keep hopping single cells, a jitter tail); 0: a complete freeze")(
      "overwrite", po::bool_switch(&o.overwrite), "replace an existing output file")(
      "memory-budget", po::value(&o.memory_budget),
      "peak memory per rank (default: half the node's available memory shared by its ranks)")(
      "matrix", po::bool_switch(&o.matrix),
      "instead: a demo matrix W[tokens, dims] (BF16 safetensors, --dims >= 8) with planted groups of bit-identical "
      "tokens, for blackholes/inspect/separation")("planted-groups",
                                                   po::value(&o.planted_groups)->default_value(o.planted_groups),
                                                   "with --matrix: number of planted groups (1..64)")(
      "group-size", po::value(&o.group_size)->default_value(o.group_size),
      "with --matrix: size of the smallest planted group (the others are larger)");
  return d;
}

po::options_description pack_description(PackOptions& o) {
  po::options_description d(
      "latdisp pack: write a checkpoint series (or any input W) as the HDF5 trajectory latdisp reads fastest");
  d.add_options()("help,h", "show this help")(
      "config", po::value<std::string>(),
      "read options from a config file (NAME = VALUE lines); the command line wins")(
      "input,i", po::value(&o.input),
      "the input: a series (directory of checkpoints, glob pattern, .txt manifest), a safetensors or an HDF5 "
      "trajectory (required)")("dataset", po::value(&o.dataset)->default_value(o.dataset),
                               "name of the matrix in each checkpoint (e.g. model.embed_tokens.weight), or of W")(
      "dead-mask", po::value(&o.dead_mask)->default_value(o.dead_mask),
      "the per-token dead mask: a name inside the input, or FILE:NAME in another safetensors or HDF5 file; missing: "
      "none is written")("output,o", po::value(&o.output), "HDF5 file to write, .h5 or .hdf5 (required)")(
      "output-dataset", po::value(&o.output_dataset)->default_value(o.output_dataset), "name of W in the output")(
      "overwrite", po::bool_switch(&o.overwrite), "replace an existing output file")(
      "memory-budget", po::value(&o.memory_budget),
      "peak memory per rank (default: half the node's available memory shared by its ranks)");
  return d;
}

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

// One subcommand's parsing: its options (from its option table, or bound to
// its struct in a Command), the usage line of its --help, and what makes the
// parsed values its checked configuration in the Command.
struct SubcommandParser {
  const char* name;
  const char* usage;
  po::options_description (*describe)(Command& command);
  void (*configure)(Command& command, const po::variables_map& values);
};

const SubcommandParser kSubcommandParsers[] = {
    {"analyze", "latdisp analyze --input W.h5 [--report REPORT.json] [options]",
     [](Command&) { return describe_options(analyze_option_table()); },
     [](Command& c, const po::variables_map& v) { c.analyze = configure(analyze_option_table(), v); }},
    {"generate", "latdisp generate --output W.h5 --steps S --tokens N --dims D [options]",
     [](Command& c) { return generate_description(c.generate); }, [](Command& c, const po::variables_map&) { validate(c.generate); }},
    {"pack", "latdisp pack --input SERIES --dataset NAME [--dead-mask FILE:NAME] --output W.h5",
     [](Command& c) { return pack_description(c.pack); }, [](Command& c, const po::variables_map&) { validate(c.pack); }},
    {"inspect", "latdisp inspect --matrix M.safetensors[:NAME] (--groups G | --tokens a,b,..) --dims d1,d2,..",
     [](Command&) { return describe_options(inspect_option_table()); },
     [](Command& c, const po::variables_map& v) { c.inspect = configure(inspect_option_table(), v); }},
    {"separation", "latdisp separation --matrix M.safetensors[:NAME] --groups G [--json]",
     [](Command&) { return describe_options(separation_option_table()); },
     [](Command& c, const po::variables_map& v) { c.separation = configure(separation_option_table(), v); }},
    {"blackholes",
     "latdisp blackholes --matrix M.safetensors[:NAME] [--min-size 2] [--output G.safetensors|G.h5]\n"
     "       latdisp blackholes --matrix TRAJECTORY --steps all|A:B[:K] [--report R.json] [--min-size M]\n"
     "                          [--output G.safetensors|G.h5] [--series-csv FILE] [--memory-budget SIZE]",
     [](Command&) { return describe_options(blackholes_option_table()); },
     [](Command& c, const po::variables_map& v) { c.blackholes = configure(blackholes_option_table(), v); }},
    {"survey",
     "latdisp survey --model PATH [--tensor NAME] [--tokenizer FILE] [--compare PATH2] [--near K]\n"
     "               [--report R.json] [--per-token T.csv] [--output G.safetensors]",
     [](Command&) { return describe_options(survey_option_table()); },
     [](Command& c, const po::variables_map& v) { c.survey = configure(survey_option_table(), v); }},
    {"optimizer", "latdisp optimizer --input RUN.h5 [--lr LR|--lr DATASET] [--update-rule RULE] [--report R.json]",
     [](Command&) { return describe_options(optimizer_option_table()); },
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
  po::options_description description = parser->describe(command);
  command.help_text = help_of(description, parser->usage);
  if (wants_help(arguments)) {
    command.help = true;
    return command;
  }
  const po::variables_map values = parse_into(description, arguments, command.name);
  parser->configure(command, values);
  return command;
}

void validate(const PackOptions& o) {
  if (o.input.empty()) fail(kExitUsage, "pack needs --input SERIES");
  if (format_from_name(o.output) != OutputFormat::hdf5)
    fail(kExitUsage, "pack needs --output FILE.h5 (or .hdf5): it writes the HDF5 trajectory");
  if (o.dataset.empty() || o.output_dataset.empty()) fail(kExitUsage, "--dataset and --output-dataset need a name");
  if (!o.memory_budget.empty()) parse_byte_size(o.memory_budget);
}

namespace {

// The sizes generate can write: each axis within one MPI-IO count, the whole
// array under 2^60 bytes (overflow-safe), else an option error now rather
// than a failed allocation or an HDF5 error later.
void require_writable_size(int64_t steps, int64_t tokens, int64_t dims) {
  constexpr int64_t kLongestAxis = INT32_MAX;
  for (const auto& [name, value] : {std::pair<const char*, int64_t>{"--steps", steps}, {"--tokens", tokens}, {"--dims", dims}})
    if (value > kLongestAxis)
      fail(kExitUsage, std::string(name) + " " + std::to_string(value) + " is too large (at most " +
                           std::to_string(kLongestAxis) + ")");
  int64_t bytes = 2;
  if (__builtin_mul_overflow(bytes, steps, &bytes) || __builtin_mul_overflow(bytes, tokens, &bytes) ||
      __builtin_mul_overflow(bytes, dims, &bytes) || bytes > (int64_t(1) << 60))
    fail(kExitUsage, "--steps x --tokens x --dims is too large: the array would exceed 2^60 bytes");
}

}  // namespace

void validate(const GenerateOptions& o) {
  if (o.output.empty()) fail(kExitUsage, "generate needs --output FILE.h5");
  formats::ElementType element_type;
  if (!formats::parse_element_type(o.element_type, element_type))
    fail(kExitUsage,
         "--element-type must be one of " + formats::element_type_names() + ", not '" + o.element_type + "'");
  if (o.matrix && element_type != formats::ElementType::bf16)
    fail(kExitUsage, "generate --matrix writes bf16 only, not --element-type " + o.element_type);
  if (o.matrix) {
    if (o.dims < 8) fail(kExitUsage, "generate --matrix needs --dims of at least 8, not " + std::to_string(o.dims));
    if (o.planted_groups < 1 || o.planted_groups > 64)
      fail(kExitUsage, "--planted-groups must be in 1..64, not " + std::to_string(o.planted_groups));
    if (o.group_size < 2) fail(kExitUsage, "--group-size must be at least 2, not " + std::to_string(o.group_size));
    const int64_t step = std::max<int64_t>(1, o.group_size / 4);
    const int64_t planted = o.planted_groups * o.group_size + step * o.planted_groups * (o.planted_groups - 1) / 2;
    if (o.tokens < planted)
      fail(kExitUsage, "--tokens " + std::to_string(o.tokens) + " is too few for the planted groups (" +
                           std::to_string(planted) + " tokens)");
    if (format_from_name(o.output) != OutputFormat::safetensors)
      fail(kExitUsage, "generate --matrix writes safetensors: --output must end in .safetensors");
  } else if (o.steps < 2) {
    fail(kExitUsage, "--steps must be at least 2, not " + std::to_string(o.steps));
  }
  if (o.tokens < 1) fail(kExitUsage, "--tokens must be at least 1, not " + std::to_string(o.tokens));
  if (o.dims < 1) fail(kExitUsage, "--dims must be at least 1, not " + std::to_string(o.dims));
  require_writable_size(o.matrix ? 1 : o.steps, o.tokens, o.dims);
  if (o.decay_steps < 0) fail(kExitUsage, "--decay-steps must be >= 0, not " + std::to_string(o.decay_steps));
  if (!(o.floor >= 0 && o.floor <= 1)) fail(kExitUsage, "--floor must be in [0, 1], not " + number_text(o.floor));
  if (o.floor > 0 && o.decay_steps == 0) fail(kExitUsage, "--floor needs --decay-steps (the floor of a decay)");
  if (!(o.dead_fraction >= 0 && o.dead_fraction <= 1))
    fail(kExitUsage, "--dead-fraction must be in [0, 1], not " + number_text(o.dead_fraction));
  if (!o.memory_budget.empty()) parse_byte_size(o.memory_budget, "--memory-budget");
}

}  // namespace latdisp
