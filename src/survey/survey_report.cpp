#include "survey/survey_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <numeric>
#include <sstream>

#include "parallel/phase_timings_json.hpp"

namespace latdisp {

namespace {

using nlohmann::json;

bool beyond(const SurveyResult& s, int64_t token) {
  return s.tokenizer && (token >= s.tokenizer->size || !s.tokenizer->strings[size_t(token)]);
}

json token_string(const SurveyResult& s, int64_t token) {
  if (!s.tokenizer || beyond(s, token)) return nullptr;
  return *s.tokenizer->strings[size_t(token)];
}

int64_t count_of(const std::vector<uint8_t>& flags) { return std::count(flags.begin(), flags.end(), uint8_t(1)); }

json input_json(const SurveyResult& s) {
  return {{"path", s.input.model},
          {"tensor", s.input.tensor},
          {"shape", {s.input.rows, s.input.dims}},
          {"element_type", formats::element_type_name(s.input.element_type)},
          {"file", s.input.file},
          {"stored_type", s.input.stored_type}};
}

json tokenizer_json(const SurveyResult& s) {
  if (!s.tokenizer) return nullptr;
  int64_t rows_beyond = 0;
  for (int64_t t = 0; t < s.input.rows; ++t) rows_beyond += beyond(s, t);
  return {{"path", s.tokenizer->path},       {"size", s.tokenizer->size},
          {"beyond_tokenizer", rows_beyond}, {"model", s.tokenizer->model_type},
          {"byte_level", s.tokenizer->byte_level}, {"added_tokens", s.tokenizer->added}};
}

json rows_json(const SurveyResult& s) {
  int64_t grouped = 0;
  for (const auto& g : s.groups) grouped += int64_t(g.size());
  return {{"zero", count_of(s.zero)},
          {"nonfinite", count_of(s.nonfinite)},
          {"grouped", grouped},
          {"groups", int64_t(s.groups.size())},
          {"measured", std::count_if(s.nearest.begin(), s.nearest.end(), [](int32_t n) { return n >= 0; })}};
}

json groups_json(const SurveyResult& s) {
  json groups = json::array();
  for (int64_t g = 0; g < s.reported_groups; ++g) {
    const auto& members = s.groups[size_t(g)];
    int64_t members_beyond = 0, unchanged = 0;
    json strings = json::array(), first = json::array();
    for (size_t i = 0; i < members.size(); ++i) {
      members_beyond += beyond(s, members[i]);
      if (!s.unchanged.empty()) unchanged += s.unchanged[size_t(members[i])];
      if (i < 8) {
        strings.push_back(token_string(s, members[i]));
        first.push_back(members[i]);
      }
    }
    std::vector<int64_t> counts(16, 0);
    int64_t halo = 0, at_zero = 0;
    for (size_t t = 0; t < s.nearest.size(); ++t) {
      if (s.nearest[t] != g) continue;
      const int64_t d = s.distance[t];
      halo += d <= s.near;
      at_zero += d == 0;
      if (d >= 1 && d <= 16) ++counts[size_t(d - 1)];
    }
    groups.push_back({{"index", g},
                      {"size", int64_t(members.size())},
                      {"first_token", members.front()},
                      {"beyond_tokenizer", s.tokenizer ? json(members_beyond) : json(nullptr)},
                      {"unchanged", s.unchanged.empty() ? json(nullptr) : json(unchanged)},
                      {"halo", halo},
                      {"distance_counts", counts},
                      {"distance_zero", at_zero},
                      {"first_members", first},
                      {"strings", s.tokenizer ? strings : json(nullptr)}});
  }
  return groups;
}

json nearest_json(const SurveyResult& s) {
  std::vector<int64_t> counts(17, 0);
  int64_t at_zero = 0, measured = 0;
  for (size_t t = 0; t < s.nearest.size(); ++t) {
    if (s.nearest[t] < 0) continue;
    ++measured;
    const int64_t d = s.distance[t];
    if (d == 0) ++at_zero;
    else ++counts[size_t(d <= 16 ? d : 0)];
  }
  return {{"counts", counts}, {"distance_zero", at_zero}, {"measured", measured}};
}

json matrix_json(const std::vector<int64_t>& values, int64_t g) {
  json rows = json::array();
  for (int64_t a = 0; a < g; ++a)
    rows.push_back(std::vector<int64_t>(values.begin() + a * g, values.begin() + (a + 1) * g));
  return rows;
}

// Connected components of the groups joined at L-infinity distance <= limit:
// each sorted, ordered by their smallest group.
json components_json(const SurveyResult& s, int64_t limit) {
  const int64_t g = s.reported_groups;
  std::vector<int64_t> parent(static_cast<size_t>(g));
  std::iota(parent.begin(), parent.end(), 0);
  const auto find = [&](int64_t x) {
    while (parent[size_t(x)] != x) x = parent[size_t(x)] = parent[size_t(parent[size_t(x)])];
    return x;
  };
  for (int64_t a = 0; a < g; ++a)
    for (int64_t b = a + 1; b < g; ++b)
      if (s.linf[size_t(a * g + b)] <= limit) {
        const int64_t ra = find(a), rb = find(b);
        parent[size_t(std::max(ra, rb))] = std::min(ra, rb);
      }
  std::vector<std::vector<int64_t>> components(static_cast<size_t>(g));
  for (int64_t a = 0; a < g; ++a) components[size_t(find(a))].push_back(a);
  json out = json::array();
  for (const auto& c : components)
    if (!c.empty()) out.push_back(c);
  return out;
}

json norms_json(const SurveyResult& s) {
  std::vector<double> finite;
  for (size_t t = 0; t < s.norm.size(); ++t)
    if (!s.nonfinite[t]) finite.push_back(s.norm[t]);
  std::sort(finite.begin(), finite.end());
  const auto value = [](double v) { return std::isnan(v) ? json(nullptr) : json(v); };
  json percentiles = json::object();
  for (const char* q : {"0.1", "1", "50", "99"})
    percentiles[q] = value(numpy_linear_percentile(finite, std::stod(q)));
  return {{"count", int64_t(finite.size())},
          {"min", finite.empty() ? json(nullptr) : json(finite.front())},
          {"max", finite.empty() ? json(nullptr) : json(finite.back())},
          {"percentiles", percentiles}};
}

json timing_json(const SurveyResult& s) {
  return {{"ranks", s.ranks},
          {"seconds", s.seconds},
          {"first_pass_seconds", s.first_pass_seconds},
          {"group_seconds", s.group_seconds},
          {"distance_pass_seconds", s.distance_pass_seconds},
          {"distance_seconds", s.distance_seconds},
          {"lattice_comparisons", s.lattice_comparisons},
          {"lattice_comparisons_per_second",
           s.distance_seconds > 0 ? json(double(s.lattice_comparisons) / s.distance_seconds) : json(nullptr)},
          {"block_rows", s.block_rows},
          {"peak_rss_bytes", s.peak_rss},
          {"timings_s", phase_timings_json(s.phases)}};
}

std::string csv_quote(const std::string& text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

// Every digit a double needs to read back the same (the CSV's values).
std::string exact_number_text(double v) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%.17g", v);
  return buffer;
}

}  // namespace

double numpy_linear_percentile(const std::vector<double>& sorted, double percentile) {
  if (sorted.empty()) return std::nan("");
  const double h = double(sorted.size() - 1) * (percentile / 100.0);
  const double below = std::floor(h);
  const size_t i = size_t(below), j = std::min(i + 1, sorted.size() - 1);
  const double t = h - below, a = sorted[i], b = sorted[j], diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

json survey_json(const SurveyResult& s) {
  json report;
  report["schema"] = "latdisp.survey/1";
  report["input"] = input_json(s);
  report["settings"] = {{"near", s.near}, {"groups_max", s.groups_max}};
  report["tokenizer"] = tokenizer_json(s);
  report["rows"] = rows_json(s);
  report["groups"] = groups_json(s);
  report["nearest"] = nearest_json(s);
  const int64_t g = s.reported_groups;
  report["distances"] = {{"linf", matrix_json(s.linf, g)}, {"l1", matrix_json(s.l1, g)},
                         {"active_dims", matrix_json(s.active_dims, g)}};
  report["components"] = {{"1", components_json(s, 1)}, {"near", components_json(s, s.near)}};
  report["norms"] = norms_json(s);
  report["compare"] = s.compare ? json{{"path", s.compare->model}, {"unchanged", count_of(s.unchanged)}} : json(nullptr);
  report["timing"] = timing_json(s);
  return report;
}

std::string survey_csv(const SurveyResult& s) {
  std::string csv = "token,string,group,nearest_group,distance,norm,zero,beyond_tokenizer,unchanged\r\n";
  for (int64_t t = 0; t < s.input.rows; ++t) {
    const size_t i = size_t(t);
    const json text = token_string(s, t);
    csv += std::to_string(t) + ",";
    csv += text.is_null() ? "" : csv_quote(text.get<std::string>());
    csv += "," + std::to_string(s.group[i]) + "," + std::to_string(s.nearest[i]) + ",";
    if (s.nearest[i] >= 0) csv += std::to_string(s.distance[i]);
    csv += ",";
    if (!s.nonfinite[i]) csv += exact_number_text(s.norm[i]);
    csv += std::string(",") + (s.zero[i] ? "1" : "0") + ",";
    if (s.tokenizer) csv += beyond(s, t) ? "1" : "0";
    csv += ",";
    if (!s.unchanged.empty()) csv += s.unchanged[i] ? "1" : "0";
    csv += "\r\n";
  }
  return csv;
}

}  // namespace latdisp

namespace latdisp {

namespace {

std::string line(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string line(const char* format, ...) {
  char buffer[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buffer, sizeof buffer, format, args);
  va_end(args);
  return std::string(buffer) + "\n";
}

std::string shown(const nlohmann::json& value) { return value.is_null() ? "-" : value.dump(); }

// A token string for the summary: quoted, control characters and quotes
// escaped; everything else (backslashes of `\xNN` included) as it is.
std::string token_text(const nlohmann::json& value) {
  if (!value.is_string()) return "-";
  static const char* hex = "0123456789abcdef";
  std::string text = "\"";
  for (const char c : value.get<std::string>()) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '"') text += "\\\"";
    else if (c == '\n') text += "\\n";
    else if (c == '\r') text += "\\r";
    else if (c == '\t') text += "\\t";
    else if (u < 0x20 || u == 0x7f) text += std::string("\\x") + hex[u >> 4] + hex[u & 15];
    else text += c;
  }
  return text + "\"";
}

// "[0, 1] [2] [3, 4]", or the count when there are many.
std::string components_text(const nlohmann::json& components) {
  std::string text;
  int64_t joined = 0;
  for (const auto& c : components) joined += c.size() > 1;
  if (components.size() > 12) return std::to_string(components.size()) + " (" + std::to_string(joined) + " of them join several groups)";
  for (const auto& c : components) text += (text.empty() ? "" : " ") + c.dump();
  return text.empty() ? "none" : text;
}

std::string groups_text(const nlohmann::json& r) {
  std::string text;
  const auto& groups = r["groups"];
  if (groups.empty()) return text;
  text += line("%-5s %8s %11s %7s %9s %6s  %s", "group", "size", "first token", "beyond", "unchanged", "halo",
               "first strings");
  const size_t shown_groups = std::min<size_t>(groups.size(), 16);
  for (size_t g = 0; g < shown_groups; ++g) {
    const auto& group = groups[g];
    std::string strings;
    if (group["strings"].is_array())
      for (size_t i = 0; i < std::min<size_t>(group["strings"].size(), 4); ++i)
        strings += (i ? " " : "") + token_text(group["strings"][i]);
    text += line("%-5zu %8lld %11lld %7s %9s %6lld  %s", g, group["size"].get<long long>(),
                 group["first_token"].get<long long>(), shown(group["beyond_tokenizer"]).c_str(),
                 shown(group["unchanged"]).c_str(), group["halo"].get<long long>(), strings.c_str());
  }
  if (groups.size() > shown_groups) text += line("... %zu more groups in the JSON report", groups.size() - shown_groups);
  return text;
}

std::string nearest_text(const nlohmann::json& r) {
  const auto& counts = r["nearest"]["counts"];
  std::string text = "distance to the nearest group (rows outside the groups):";
  if (r["nearest"]["distance_zero"].get<int64_t>() > 0) text += " 0: " + r["nearest"]["distance_zero"].dump();
  for (size_t d = 1; d <= 16; ++d)
    if (counts[d].get<int64_t>() > 0) text += " " + std::to_string(d) + ": " + counts[d].dump();
  text += " >16: " + counts[0].dump();
  return text + "\n";
}

}  // namespace

std::string survey_text(const nlohmann::json& r, const PhaseSummary& phases) {
  std::string text;
  const auto& in = r["input"];
  text += line("latdisp survey: %s, tensor %s (%lld x %lld, %s)", in["path"].get<std::string>().c_str(),
               in["tensor"].get<std::string>().c_str(), in["shape"][0].get<long long>(),
               in["shape"][1].get<long long>(), in["element_type"].get<std::string>().c_str());
  if (r["tokenizer"].is_null()) text += "tokenizer: none\n";
  else
    text += line("tokenizer: %s (%s%s), size %lld; rows beyond it: %lld", r["tokenizer"]["path"].get<std::string>().c_str(),
                 r["tokenizer"]["model"].get<std::string>().c_str(),
                 r["tokenizer"]["byte_level"].get<bool>() ? ", byte-level" : "",
                 r["tokenizer"]["size"].get<long long>(), r["tokenizer"]["beyond_tokenizer"].get<long long>());
  const auto& rows = r["rows"];
  text += line("rows: %lld zero, %lld non-finite; %lld groups of bit-identical rows hold %lld rows",
               rows["zero"].get<long long>(), rows["nonfinite"].get<long long>(), rows["groups"].get<long long>(),
               rows["grouped"].get<long long>());
  text += groups_text(r);
  if (!r["groups"].empty()) {
    text += nearest_text(r);
    text += "components at L-infinity <= 1: " + components_text(r["components"]["1"]) + "\n";
    text += "components at L-infinity <= " + r["settings"]["near"].dump() + ": " +
            components_text(r["components"]["near"]) + "\n";
  }
  const auto& norms = r["norms"];
  text += "norms: min " + shown(norms["min"]) + ", max " + shown(norms["max"]) + "; percentiles 0.1: " +
          shown(norms["percentiles"]["0.1"]) + ", 1: " + shown(norms["percentiles"]["1"]) + ", 50: " +
          shown(norms["percentiles"]["50"]) + ", 99: " + shown(norms["percentiles"]["99"]) + "\n";
  if (!r["compare"].is_null())
    text += "compare: " + r["compare"]["unchanged"].dump() + " rows unchanged in " +
            r["compare"]["path"].get<std::string>() + "\n";
  const auto& timing = r["timing"];
  const auto& rate = timing["lattice_comparisons_per_second"];
  text += line("distance pass: %lld lattice comparisons in %.3f s (%.3g per second), %d rank(s); survey %.3f s",
               timing["lattice_comparisons"].get<long long>(), timing["distance_seconds"].get<double>(),
               rate.is_null() ? 0.0 : rate.get<double>(), timing["ranks"].get<int>(), timing["seconds"].get<double>());
  text += where_time_went_line(phases) + "\n";
  return text;
}

}  // namespace latdisp
