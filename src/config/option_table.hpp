// One table of a command's options: each option's name, value type, default,
// help text, its check and conversion into the command's typed
// configuration, its key in the report's `options` echo and whether it is
// part of a checkpoint's identity, stated once. From the table come the
// command-line description (and so --help and config files), the typed
// configuration, the echo and the identity (docs/architecture.md §5, "An
// option").
#pragma once

#include <boost/program_options.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "config/option_echo.hpp"

namespace latdisp {

// A number as a person writes it, in --help and in messages: 1e-06, 0.1,
// -1e-09, 1e+308 (no float noise).
std::string number_text(double value);

// A value as the command line types it: text, a real number, an integer
// (64-bit, 32-bit or unsigned 64-bit) or a flag (given or not).
using OptionValue = std::variant<std::string, double, int64_t, int, uint64_t, bool>;

// How an option enters a checkpoint's identity (docs/operations.md §6),
// keyed by its command-line name "--NAME".
enum class IdentityPart {
  none,   // not at all: it does not shape the result
  value,  // its value
  given,  // only whether it was given (true/false)
};

// Everything about one option but where its value goes.
struct OptionSpec {
  std::string name;           // the long name, and ",x" for a short one: "output,o"
  OptionValue fallback;       // its type, and its value when not given
  bool shows_default = true;  // --help shows "(=fallback)"; never for flags and empty text
  std::string help;
  std::string echo_key;  // key in the report's options; empty: not echoed
  IdentityPart identity = IdentityPart::none;
  std::string absent_text;    // echoed for text not given (--steps: "all")
  bool absent_is_null = false;  // echoed as null when text is not given

  std::string long_name() const { return name.substr(0, name.find(',')); }
};

// An option of the command whose typed configuration is `Config`.
template <class Config>
struct Option : OptionSpec {
  // Checks the value (Error(kExitUsage) naming the option) and stores it typed.
  std::function<void(Config&, const OptionValue&)> store;

  Option& echo(std::string key) {
    echo_key = std::move(key);
    return *this;
  }
  Option& in_identity(IdentityPart part = IdentityPart::value) {
    identity = part;
    return *this;
  }
  Option& echo_absent_as(std::string text) {
    absent_text = std::move(text);
    return *this;
  }
  Option& echo_absent_as_null() {
    absent_is_null = true;
    return *this;
  }
  Option& no_default_shown() {
    shows_default = false;
    return *this;
  }
};

// An option of value type T (std::string, double, int64_t, int, uint64_t,
// bool); `store(config, value)` checks and keeps the value.
template <class Config, class T, class Store>
Option<Config> option(std::string name, T fallback, std::string help, Store store) {
  Option<Config> o;
  o.name = std::move(name);
  o.fallback = OptionValue(std::move(fallback));
  o.help = std::move(help);
  if (const auto* text = std::get_if<std::string>(&o.fallback)) o.shows_default = !text->empty();
  if (std::holds_alternative<bool>(o.fallback)) o.shows_default = false;
  o.store = [store](Config& config, const OptionValue& value) { store(config, std::get<T>(value)); };
  return o;
}

// A text option with no default (empty when not given).
template <class Config, class Store>
Option<Config> text_option(std::string name, std::string help, Store store) {
  return option<Config>(std::move(name), std::string(), std::move(help), store);
}

// A flag: false unless given.
template <class Config, class Store>
Option<Config> flag_option(std::string name, std::string help, Store store) {
  return option<Config>(std::move(name), false, std::move(help), store);
}

// A command's table: the caption of its --help, its options in --help
// order (each checked in this order), and the checks across options.
template <class Config>
struct OptionTable {
  std::string caption;
  std::vector<Option<Config>> options;
  void (*check_combination)(const Config&) = nullptr;
  // The echo's key order where the report keeps order; empty: table order.
  std::vector<std::string> echo_order;

  // Appends `more` (a shared group, e.g. the checkpoint options).
  void add(std::vector<Option<Config>> more) {
    for (Option<Config>& o : more) options.push_back(std::move(o));
  }
};

// --help, --config and one entry per option.
boost::program_options::options_description describe_options(const std::string& caption,
                                                              const std::vector<const OptionSpec*>& options);

// The value of `option` in `values`, or its fallback when not given.
OptionValue value_of(const boost::program_options::variables_map& values, const OptionSpec& option);

// Collects the report's echo and the identity's options, option by option.
class OptionEchoWriter {
 public:
  OptionEchoWriter();
  ~OptionEchoWriter();
  void add(const OptionSpec& option, const OptionValue& value);
  OptionEcho finish(const std::vector<std::string>& order = {}) const;

 private:
  struct Objects;
  std::unique_ptr<Objects> m_objects;
};

template <class Config>
std::vector<const OptionSpec*> specs_of(const OptionTable<Config>& table) {
  std::vector<const OptionSpec*> specs;
  for (const Option<Config>& o : table.options) specs.push_back(&o);
  return specs;
}

template <class Config>
boost::program_options::options_description describe_options(const OptionTable<Config>& table) {
  return describe_options(table.caption, specs_of(table));
}

// The typed configuration the parsed `values` give: every option checked and
// stored in table order, then the combinations; its echo filled.
// Throws Error(kExitUsage).
template <class Config>
Config configure(const OptionTable<Config>& table, const boost::program_options::variables_map& values) {
  Config config;
  OptionEchoWriter echo;
  for (const Option<Config>& o : table.options) {
    const OptionValue value = value_of(values, o);
    o.store(config, value);
    echo.add(o, value);
  }
  if (table.check_combination) table.check_combination(config);
  config.echo = echo.finish(table.echo_order);
  return config;
}

}  // namespace latdisp
