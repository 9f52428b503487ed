#include "config/option_table.hpp"

#include <nlohmann/json.hpp>

#include <sstream>
#include <type_traits>

namespace po = boost::program_options;
// The report keeps the table's order; the identity is compared as a sorted object.
using ordered_json = nlohmann::ordered_json;
using sorted_json = nlohmann::json;

namespace latdisp {

std::string number_text(double value) {
  std::ostringstream text;
  text << value;
  return text.str();
}

namespace {

std::string default_text(double value) { return number_text(value); }

template <class T>
std::string default_text(const T& value) {
  return boost::lexical_cast<std::string>(value);
}

void add_option(po::options_description& d, const OptionSpec& o) {
  std::visit(
      [&](const auto& fallback) {
        using T = std::decay_t<decltype(fallback)>;
        if constexpr (std::is_same_v<T, bool>) {
          d.add_options()(o.name.c_str(), po::bool_switch(), o.help.c_str());
        } else {
          po::typed_value<T>* value = po::value<T>();
          if (o.shows_default) value->default_value(fallback, default_text(fallback));
          d.add_options()(o.name.c_str(), value, o.help.c_str());
        }
      },
      o.fallback);
}

template <class Json>
Json json_of(const OptionSpec& option, const OptionValue& value) {
  const auto* text = std::get_if<std::string>(&value);
  if (text && text->empty() && option.absent_is_null) return nullptr;
  if (text && text->empty() && !option.absent_text.empty()) return option.absent_text;
  return std::visit([](const auto& v) { return Json(v); }, value);
}

}  // namespace

po::options_description describe_options(const std::string& caption, const std::vector<const OptionSpec*>& options) {
  po::options_description d(caption);
  d.add_options()("help,h", "show this help")(
      "config", po::value<std::string>(), "read options from a config file (NAME = VALUE lines); the command line wins");
  for (const OptionSpec* o : options) add_option(d, *o);
  return d;
}

OptionValue value_of(const po::variables_map& values, const OptionSpec& option) {
  const auto found = values.find(option.long_name());
  if (found == values.end() || found->second.empty()) return option.fallback;
  return std::visit(
      [&](const auto& fallback) -> OptionValue {
        return boost::any_cast<std::decay_t<decltype(fallback)>>(found->second.value());
      },
      option.fallback);
}

struct OptionEchoWriter::Objects {
  ordered_json report = ordered_json::object();
  sorted_json identity = sorted_json::object();
};

OptionEchoWriter::OptionEchoWriter() : m_objects(std::make_unique<Objects>()) {}
OptionEchoWriter::~OptionEchoWriter() = default;

void OptionEchoWriter::add(const OptionSpec& option, const OptionValue& value) {
  if (!option.echo_key.empty()) m_objects->report[option.echo_key] = json_of<ordered_json>(option, value);
  const std::string key = "--" + option.long_name();
  if (option.identity == IdentityPart::value) m_objects->identity[key] = json_of<sorted_json>(option, value);
  if (option.identity == IdentityPart::given) {
    const auto* text = std::get_if<std::string>(&value);
    m_objects->identity[key] = text ? !text->empty() : std::get<bool>(value);
  }
}

OptionEcho OptionEchoWriter::finish(const std::vector<std::string>& order) const {
  ordered_json report = m_objects->report;
  if (!order.empty()) {
    report = ordered_json::object();
    for (const std::string& key : order) report[key] = m_objects->report.at(key);
  }
  return {report.dump(), m_objects->identity.dump()};
}

}  // namespace latdisp
