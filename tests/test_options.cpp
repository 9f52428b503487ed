#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/analyze_options.hpp"
#include "config/generate_options.hpp"
#include "config/optimizer_options.hpp"
#include "config/pack_options.hpp"
#include "config/options.hpp"
#include "parallel/errors.hpp"
#include "parallel/memory.hpp"

namespace latdisp {

namespace {
Command parse(std::vector<const char*> arguments) {
  arguments.insert(arguments.begin(), "latdisp");
  return parse_command_line(static_cast<int>(arguments.size()), arguments.data());
}

int usage_error_of(std::vector<const char*> arguments) {
  try {
    parse(arguments);
  } catch (const Error& e) {
    return e.exit_code();
  }
  return 0;
}
}  // namespace

TEST(Options, AnalyzeDefaultsAndValues) {
  const Command c = parse({"analyze", "--input", "W.h5", "--epsilon", "0.25", "--zero-ulp", "min-subnormal"});
  EXPECT_EQ(c.name, "analyze");
  EXPECT_EQ(c.analyze.input.path, "W.h5");
  EXPECT_EQ(c.analyze.input.dataset, "W");
  EXPECT_EQ(c.analyze.kernel.epsilon, 0.25);
  EXPECT_EQ(c.analyze.kernel.zero_ulp, bf16::ZeroUlp::min_subnormal);
  EXPECT_EQ(c.analyze.kernel.arithmetic, Arithmetic::exact);
}

TEST(Options, BadValuesAreUsageErrors) {
  EXPECT_EQ(usage_error_of({"analyze"}), kExitUsage);  // no --input
  EXPECT_EQ(usage_error_of({"analyze", "--input", "W.h5", "--epsilon", "-1"}), kExitUsage);
  EXPECT_EQ(usage_error_of({"analyze", "--input", "W.h5", "--epsilon", "abc"}), kExitUsage);
  EXPECT_EQ(usage_error_of({"analyze", "--input", "W.h5", "--arithmetic", "float"}), kExitUsage);
  EXPECT_EQ(usage_error_of({"analyze", "--input", "W.h5", "--memory-budget", "lots"}), kExitUsage);
  EXPECT_EQ(usage_error_of({"analyze", "--input", "W.h5", "--no-such-option"}), kExitUsage);
  EXPECT_EQ(usage_error_of({"frobnicate"}), kExitUsage);
  EXPECT_EQ(usage_error_of({"generate", "--output", "W.h5", "--steps", "1", "--tokens", "2", "--dims", "2"}),
            kExitUsage);
}

TEST(Options, MotionOptions) {
  const Command c = parse(
      {"analyze", "--input", "W.h5", "--hop-radius", "2.5", "--per-token", "t.safetensors", "--series-csv", "s.csv"});
  EXPECT_EQ(c.analyze.hop_radius, 2.5);
  EXPECT_EQ(c.analyze.outputs.per_token, "t.safetensors");
  EXPECT_EQ(c.analyze.outputs.series_csv, "s.csv");
  EXPECT_EQ(parse({"analyze", "--input", "W.h5"}).analyze.hop_radius, 0.0);  // sqrt(dims)
  EXPECT_EQ(usage_error_of({"analyze", "--input", "W.h5", "--hop-radius", "-1"}), kExitUsage);
  EXPECT_EQ(usage_error_of({"analyze", "--input", "W.h5", "--hop-radius", "inf"}), kExitUsage);
  EXPECT_EQ(usage_error_of({"analyze", "--input", "W.h5", "--hop-radius", "nan"}), kExitUsage);
  EXPECT_EQ(usage_error_of({"analyze", "--input", "W.h5", "--per-token", "t.txt"}), kExitUsage);
  EXPECT_EQ(usage_error_of({"analyze", "--input", "W.h5", "--series-csv", "s.h5"}), kExitUsage);
  // Path clashes are checked against the file system when the run starts (tests/cli_motion_bad_input.sh).
  EXPECT_EQ(usage_error_of({"analyze", "--input", "W.h5", "--per-token", "x.csv", "--series-csv", "y.csv"}), 0);
}

TEST(Options, GenerateDecay) {
  const Command c = parse({"generate", "--output", "W.h5", "--steps", "3", "--tokens", "2", "--dims", "2",
                           "--decay-steps", "20", "--floor", "0.005"});
  EXPECT_EQ(c.generate.decay_steps, 20);
  EXPECT_EQ(c.generate.floor, 0.005);
  const char* base[] = {"generate", "--output", "W.h5", "--steps", "3", "--tokens", "2", "--dims", "2"};
  const auto with = [&](std::vector<const char*> extra) {
    std::vector<const char*> arguments(std::begin(base), std::end(base));
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    return usage_error_of(arguments);
  };
  EXPECT_EQ(with({"--decay-steps", "-1"}), kExitUsage);
  EXPECT_EQ(with({"--decay-steps", "5", "--floor", "1.5"}), kExitUsage);
  EXPECT_EQ(with({"--floor", "0.1"}), kExitUsage);  // a floor without a decay
}

TEST(Options, CommandLineWinsOverConfigFile) {
  const std::string path = std::string(LATDISP_TEST_DATA_DIR) + "/options_test.cfg";
  {
    std::ofstream config(path);
    config << "# a comment\ninput = from_config.h5\nepsilon = 0.125\ndataset = V\n";
  }
  const Command c = parse({"analyze", "--config", path.c_str(), "--epsilon", "0.5"});
  EXPECT_EQ(c.analyze.input.path, "from_config.h5");
  EXPECT_EQ(c.analyze.input.dataset, "V");
  EXPECT_EQ(c.analyze.kernel.epsilon, 0.5);
  std::remove(path.c_str());
  EXPECT_EQ(usage_error_of({"analyze", "--config", "/nonexistent/x.cfg"}), kExitUsage);
}

// The message of the usage error `arguments` give ("" if none).
std::string usage_message_of(std::vector<const char*> arguments) {
  try {
    parse(arguments);
  } catch (const Error& e) {
    return e.exit_code() == kExitUsage ? e.what() : "";
  }
  return "";
}

TEST(Options, ExactNamesAndNonEmptyValues) {
  EXPECT_NE(usage_message_of({"analyze", "--input", "W.h5", "--epsilo", "0.1"}).find("'--epsilo'"), std::string::npos);
  EXPECT_NE(usage_message_of({"analyze", "--inp", "W.h5"}).find("'--inp'"), std::string::npos);
  EXPECT_NE(usage_message_of({"analyze", "--input", "W.h5", "--memory-budget", ""}).find("--memory-budget needs"),
            std::string::npos);
  EXPECT_NE(usage_message_of({"analyze", "--input", "W.h5", "--outputs", ""}).find("--outputs needs"),
            std::string::npos);
  EXPECT_NE(usage_message_of({"analyze", "--input", ""}).find("--input needs"), std::string::npos);
}

TEST(Options, NumbersShownAsWritten) {
  EXPECT_NE(usage_message_of({"analyze", "--input", "W.h5", "--epsilon", "-1e-9"}).find("not -1e-09"),
            std::string::npos);
  EXPECT_NE(usage_message_of({"analyze", "--input", "W.h5", "--epsilon", "1e308"}).find("1e+308 is too large"),
            std::string::npos);
  EXPECT_NE(usage_message_of({"analyze", "--input", "W.h5", "--memory-budget", "1e30"}).find("'1e30' is too large"),
            std::string::npos);
}

TEST(Options, ConfigMustBeARegularTextFile) {
  const std::string folder = std::string(LATDISP_TEST_DATA_DIR);
  EXPECT_NE(usage_message_of({"analyze", "--config", folder.c_str()}).find("is a folder"), std::string::npos);
  const std::string binary = folder + "/options_binary.cfg";
  std::ofstream(binary, std::ios::binary)
      .write(
          "\x7f"
          "ELF\0\x01",
          6);
  EXPECT_NE(usage_message_of({"analyze", "--config", binary.c_str()}).find("binary data"), std::string::npos);
  std::remove(binary.c_str());
}

TEST(Options, HelpNamesEveryOption) {
  const Command c = parse({"analyze", "--help"});
  EXPECT_TRUE(c.help);
  for (const char* option :
       {"--input", "--dataset", "--dead-mask", "--report", "--arithmetic", "--epsilon", "--zero-ulp", "--memory-budget",
        "--strict", "--config", "--hop-radius", "--per-token", "--series-csv"})
    EXPECT_NE(c.help_text.find(option), std::string::npos) << option;
}

TEST(Options, PackReadsASeriesIntoHdf5) {
  const Command c = parse({"pack", "--input", "run/", "--dataset", "model.embed_tokens.weight", "--dead-mask",
                           "run/mask.safetensors:dead", "--output", "W.h5"});
  EXPECT_EQ(c.name, "pack");
  EXPECT_EQ(c.pack.input.path, "run/");
  EXPECT_EQ(c.pack.input.dataset, "model.embed_tokens.weight");
  EXPECT_EQ(c.pack.input.dead_mask, "run/mask.safetensors:dead");
  EXPECT_EQ(c.pack.output_dataset, "W");
  EXPECT_EQ(usage_error_of({"pack", "--output", "W.h5"}), kExitUsage);                             // no --input
  EXPECT_EQ(usage_error_of({"pack", "--input", "run", "--output", "W.safetensors"}), kExitUsage);  // not HDF5
  EXPECT_NE(parse({"pack", "--help"}).help_text.find("--output-dataset"), std::string::npos);
  EXPECT_FALSE(c.pack.memory.budget_bytes.has_value());
  EXPECT_EQ(parse({"pack", "-i", "run", "-o", "W.h5", "--memory-budget", "2MiB"}).pack.memory.budget_bytes,
            uint64_t(2) << 20);
}

TEST(ByteSize, ParsesUnits) {
  EXPECT_EQ(parse_byte_size("2GiB"), uint64_t(2) << 30);
  EXPECT_EQ(parse_byte_size("512MiB"), uint64_t(512) << 20);
  EXPECT_EQ(parse_byte_size("1000"), 1000u);
  EXPECT_EQ(parse_byte_size("1.5GB"), 1500000000u);
  EXPECT_THROW(parse_byte_size("2 parsecs"), Error);
  EXPECT_THROW(parse_byte_size("-1GiB"), Error);
}

TEST(Options, CheckpointOptions) {
  const Command c =
      parse({"analyze", "--input", "W.h5", "--checkpoint-dir", "ck", "--checkpoint-seconds", "0.25", "--resume"});
  EXPECT_EQ(c.analyze.checkpoint.directory, "ck");
  EXPECT_EQ(c.analyze.checkpoint.seconds, 0.25);
  EXPECT_TRUE(c.analyze.checkpoint.resume);
  const Command defaults = parse({"analyze", "--input", "W.h5"});
  EXPECT_EQ(defaults.analyze.checkpoint.seconds, 300.0);
  EXPECT_TRUE(defaults.analyze.checkpoint.directory.empty());
  EXPECT_FALSE(defaults.analyze.checkpoint.resume);
  EXPECT_EQ(usage_error_of({"analyze", "--input", "W.h5", "--checkpoint-dir", "ck", "--checkpoint-seconds", "0"}),
            kExitUsage);
  EXPECT_EQ(usage_error_of({"analyze", "--input", "W.h5", "--checkpoint-dir", "ck", "--checkpoint-seconds", "-5"}),
            kExitUsage);
  EXPECT_EQ(usage_error_of({"analyze", "--input", "W.h5", "--checkpoint-dir", "ck", "--checkpoint-seconds", "nan"}),
            kExitUsage);
  EXPECT_EQ(usage_error_of({"analyze", "--input", "W.h5", "--resume"}), kExitUsage);  // no --checkpoint-dir
  EXPECT_EQ(usage_error_of({"analyze", "--input", "W.h5", "--block-pause", "-1"}), kExitUsage);
}

// The option table gives the report's options echo and the checkpoint
// identity; both as the formats state them (docs/report.md run.options,
// docs/operations.md §6): values as given, --steps "all" when absent,
// --per-token in the identity only as given or not.
TEST(OptionTable, AnalyzeEchoAndCheckpointIdentity) {
  const Command c = parse({"analyze", "--input", "W.h5", "--epsilon", "1e-3", "--per-token", "t.csv", "--memory-budget",
                           "2GiB", "--outputs", "dead_mask,U"});
  const nlohmann::json identity = nlohmann::json::parse(c.analyze.echo.identity);
  const nlohmann::json expected_identity = {{"--arithmetic", "exact"}, {"--dead-mask", "dead_mask"},
                                            {"--epsilon", 0.001},      {"--hop-radius", 0.0},
                                            {"--per-token", true},     {"--steps", "all"},
                                            {"--zero-ulp", "min-normal"}};
  EXPECT_EQ(identity, expected_identity);
  const nlohmann::json report = nlohmann::json::parse(c.analyze.echo.report);
  EXPECT_EQ(report.size(), 28u);
  EXPECT_EQ(report["input"], "W.h5");
  EXPECT_EQ(report["steps"], "all");
  EXPECT_EQ(report["memory_budget"], "2GiB");
  EXPECT_EQ(report["outputs"], "dead_mask,U");
  EXPECT_EQ(report["epsilon"], 0.001);
  EXPECT_EQ(report["progress_seconds"], 5.0);
  EXPECT_TRUE(report["tokens_per_item"].is_number_integer());
  EXPECT_EQ(report["tokens_per_item"], 0);
  EXPECT_EQ(report["per_token"], "t.csv");
  EXPECT_EQ(report["per_row"], "");
  EXPECT_EQ(report["resume"], false);
  EXPECT_EQ(report.count("skip_incomplete"), 0u);  // not echoed
  EXPECT_EQ(c.analyze.memory.budget_bytes, uint64_t(2) << 30);
  EXPECT_EQ(c.analyze.save.selection_text, "dead_mask,U");
  EXPECT_FALSE(parse({"analyze", "--input", "W.h5"}).analyze.memory.budget_bytes.has_value());
  const nlohmann::json sliced =
      nlohmann::json::parse(parse({"analyze", "--input", "W.h5", "--steps", "0:4:2"}).analyze.echo.identity);
  EXPECT_EQ(sliced["--steps"], "0:4:2");
  EXPECT_EQ(sliced["--per-token"], false);
}

// A configuration built by hand (the stages' tests) starts where the
// command line's defaults do.
TEST(OptionTable, HandBuiltDefaultsAreTheTableDefaults) {
  const AnalyzeConfig parsed = parse({"analyze", "--input", "W.h5"}).analyze;
  const AnalyzeConfig hand;
  EXPECT_EQ(hand.input.dataset, parsed.input.dataset);
  EXPECT_EQ(hand.input.dead_mask, parsed.input.dead_mask);
  EXPECT_FALSE(parsed.input.steps.has_value());
  EXPECT_EQ(hand.kernel.arithmetic, parsed.kernel.arithmetic);
  EXPECT_EQ(hand.kernel.epsilon, parsed.kernel.epsilon);
  EXPECT_EQ(hand.kernel.zero_ulp, parsed.kernel.zero_ulp);
  EXPECT_EQ(hand.kernel.tokens_per_item, parsed.kernel.tokens_per_item);
  EXPECT_EQ(hand.read_method, parsed.read_method);
  EXPECT_EQ(hand.memory.scratch_dir, parsed.memory.scratch_dir);
  EXPECT_EQ(hand.memory.progress_seconds, parsed.memory.progress_seconds);
  EXPECT_EQ(hand.checkpoint.seconds, parsed.checkpoint.seconds);
  EXPECT_EQ(hand.save.selection_text, parsed.save.selection_text);
  EXPECT_EQ(hand.save.dtype.automatic, parsed.save.dtype.automatic);
}

TEST(OptionTable, HelpListsEveryTableOption) {
  const std::string help = parse({"analyze", "--help"}).help_text;
  for (const Option<AnalyzeConfig>& o : analyze_option_table().options)
    EXPECT_NE(help.find("--" + o.long_name() + " "), std::string::npos) << o.long_name();
  const std::string generate = parse({"generate", "--help"}).help_text;
  for (const Option<GenerateConfig>& o : generate_option_table().options)
    EXPECT_NE(generate.find("--" + o.long_name() + " "), std::string::npos) << o.long_name();
  const std::string pack = parse({"pack", "--help"}).help_text;
  for (const Option<PackConfig>& o : pack_option_table().options)
    EXPECT_NE(pack.find("--" + o.long_name() + " "), std::string::npos) << o.long_name();
}

// generate: the element format and the budget typed once; a configuration
// built by hand has the table's defaults; --matrix's checks need --matrix.
TEST(OptionTable, GenerateTypedValuesAndDefaults) {
  const char* base[] = {"generate", "--output", "W.h5", "--steps", "3", "--tokens", "2", "--dims", "2"};
  const auto with = [&](std::vector<const char*> extra) {
    std::vector<const char*> arguments(std::begin(base), std::end(base));
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    return arguments;
  };
  const GenerateConfig parsed = parse(with({})).generate;
  const GenerateConfig hand;
  EXPECT_EQ(parsed.element_type, hand.element_type);
  EXPECT_EQ(parsed.dataset, hand.dataset);
  EXPECT_EQ(parsed.dead_mask, hand.dead_mask);
  EXPECT_EQ(parsed.dead_fraction, hand.dead_fraction);
  EXPECT_EQ(parsed.seed, hand.seed);
  EXPECT_EQ(parsed.planted_groups, hand.planted_groups);
  EXPECT_EQ(parsed.group_size, hand.group_size);
  EXPECT_FALSE(parsed.memory.budget_bytes.has_value());
  const GenerateConfig typed = parse(with({"--element-type", "f8e5m2", "--memory-budget", "3MiB"})).generate;
  EXPECT_EQ(typed.element_type, formats::ElementType::f8e5m2);
  EXPECT_EQ(typed.memory.budget_bytes, uint64_t(3) << 20);
  EXPECT_NE(usage_message_of(with({"--element-type", "bf17"})).find("--element-type must be one of"),
            std::string::npos);
  EXPECT_NE(usage_message_of(with({"--dead-fraction", "1.5"})).find("--dead-fraction must be in [0, 1], not 1.5"),
            std::string::npos);
  EXPECT_EQ(usage_error_of(with({"--planted-groups", "0"})), 0);  // only checked with --matrix
  EXPECT_NE(usage_message_of({"generate", "--matrix", "--output", "m.safetensors", "--tokens", "2000", "--dims", "8",
                              "--planted-groups", "0"})
                .find("--planted-groups must be in 1..64"),
            std::string::npos);
  EXPECT_NE(usage_message_of({"generate", "--matrix", "--output", "m.safetensors", "--tokens", "2000", "--dims", "8",
                              "--element-type", "f16"})
                .find("writes bf16 only, not --element-type f16"),
            std::string::npos);
  EXPECT_NE(usage_message_of({"generate", "--steps", "3"}).find("generate needs --output"), std::string::npos);
}

// optimizer's identity: hyperparameters not given are "(attribute)", given
// ones as written; the typed values parsed once.
TEST(OptionTable, OptimizerIdentityAndTypedValues) {
  const Command given = parse({"optimizer", "--input", "run.h5", "--lr", "0.001", "--betas", "0.8,0.99",
                               "--update-rule", "torch-mul-add", "--torch-threads", "2", "--step-offset", "3"});
  const nlohmann::json identity = nlohmann::json::parse(given.optimizer.echo.identity);
  const nlohmann::json expected = {{"--betas", "0.8,0.99"},       {"--dead-mask", "dead_mask"},
                                   {"--eps", "(attribute)"},       {"--lr", "0.001"},
                                   {"--per-token", false},         {"--step-offset", 3},
                                   {"--torch-capability", "avx2"}, {"--torch-threads", 2},
                                   {"--update-rule", "torch-mul-add"}, {"--weight-decay", "(attribute)"}};
  EXPECT_EQ(identity, expected);
  EXPECT_TRUE(identity["--torch-threads"].is_number_integer());
  const AdamWSpec& rule = given.optimizer.rule;
  EXPECT_EQ(rule.lr, 0.001);
  EXPECT_TRUE(rule.lr_dataset.empty());
  EXPECT_EQ(rule.beta1, 0.8);
  EXPECT_EQ(rule.beta2, 0.99);
  EXPECT_FALSE(rule.eps.has_value());
  EXPECT_EQ(rule.update_rule, optimizer::UpdateRule::torch_mul_add);
  EXPECT_EQ(rule.torch_threads, 2);
  EXPECT_EQ(rule.step_offset, 3);
  const Command named = parse({"optimizer", "--input", "run.h5", "--lr", "lr_schedule"});
  EXPECT_FALSE(named.optimizer.rule.lr.has_value());
  EXPECT_EQ(named.optimizer.rule.lr_dataset, "lr_schedule");
  EXPECT_EQ(nlohmann::json::parse(named.optimizer.echo.identity)["--step-offset"], -1);
  EXPECT_EQ(usage_error_of({"optimizer", "--input", "run.h5", "--lr", "-1"}), kExitUsage);
  EXPECT_EQ(usage_error_of({"optimizer", "--input", "run.h5", "--betas", "0.9"}), kExitUsage);
  EXPECT_EQ(usage_error_of({"optimizer", "--input", "run.h5", "--update-rule", "sgd"}), kExitUsage);
  EXPECT_EQ(usage_error_of({"optimizer", "--input", "run.h5", "--resume"}), kExitUsage);
}

// blackholes' report echo: its keys in the report's order, text not given
// as null, numbers as numbers.
TEST(OptionTable, BlackholesEchoKeepsTheReportsOrder) {
  const Command c = parse({"blackholes", "--matrix", "W.h5", "--steps", "all", "--min-size", "3"});
  const nlohmann::ordered_json echo = nlohmann::ordered_json::parse(c.blackholes.echo.report);
  const std::string expected =
      R"({"matrix":"W.h5","steps":"all","dead_mask":"dead_mask","min_size":3,"hash_bits":64,"memory_budget":null,)"
      R"("max_steps_per_block":0,"output":null,"report":null,"series_csv":null})";
  EXPECT_EQ(echo.dump(), expected);
  EXPECT_TRUE(c.blackholes.steps.has_value());
  EXPECT_FALSE(parse({"blackholes", "--matrix", "W.h5"}).blackholes.steps.has_value());
  EXPECT_EQ(usage_error_of({"blackholes", "--matrix", "W.h5@1", "--steps", "all"}), kExitUsage);
  EXPECT_EQ(usage_error_of({"inspect", "--matrix", "M.safetensors", "--dims", "0"}), kExitUsage);  // no groups
  EXPECT_EQ(usage_error_of({"survey", "--model", "m", "--tokenizer", "t.json", "--no-tokenizer"}), kExitUsage);
}

}  // namespace latdisp
