#include "bits/inspect.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "io/matrix_source.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

std::string signed_text(int64_t v) { return (v > 0 ? "+" : "") + std::to_string(v); }

struct DimSummary {
  std::optional<int> shared_exponent;
  std::vector<int64_t> mantissas;  // per group
  std::vector<int64_t> gaps;   // between sorted distinct lattice positions
  bool has_nan = false;
};

DimSummary summarize(const InspectTable& table, size_t k) {
  DimSummary s;
  std::set<int64_t> positions;
  std::set<int> exponents;
  for (size_t g = 0; g < table.group_names.size(); ++g) {
    const uint32_t b = table.at(k, g);
    exponents.insert(table.rules.exponent(b));
    s.mantissas.push_back(table.rules.mantissa(b));
    if (table.rules.is_nan(b))
      s.has_nan = true;
    else
      positions.insert(table.rules.position(b));
  }
  if (exponents.size() == 1) s.shared_exponent = *exponents.begin();
  for (auto it = positions.begin(); it != positions.end() && std::next(it) != positions.end(); ++it)
    s.gaps.push_back(*std::next(it) - *it);
  return s;
}

std::string spacing_text(const DimSummary& s, size_t groups) {
  if (groups < 2) return "one group";
  if (s.gaps.empty()) return s.has_nan ? "undefined (NaN)" : "all values identical";
  const bool even = std::all_of(s.gaps.begin(), s.gaps.end(), [&](int64_t g) { return g == s.gaps[0]; });
  std::string text;
  if (even) {
    text = (s.gaps.size() == 1 ? "" : "evenly spaced, ") + std::to_string(s.gaps[0]) + " ULP apart";
  } else {
    text = "gaps";
    for (int64_t g : s.gaps) text += " " + std::to_string(g);
    text += " ULP";
  }
  if (s.gaps.size() + 1 < groups) text += " (some groups share a value)";
  if (s.has_nan) text += " (NaN excluded)";
  return text;
}

}  // namespace

std::string format_bits(const PatternRules& rules, uint32_t bits) {
  std::string text;
  for (int i = rules.total_bits - 1; i >= 0; --i) {
    text += ((bits >> i) & 1u) ? '1' : '0';
    if (i == rules.total_bits - 1 || i == rules.mantissa_bits) text += '|';
  }
  return text;
}

std::string format_value(const PatternRules& rules, uint32_t bits) {
  if (rules.is_nan(bits)) return "nan";
  if (!rules.is_finite(bits)) return rules.sign(bits) ? "-inf" : "+inf";
  char text[32];
  std::snprintf(text, sizeof text, "%+.6e", rules.value(bits));
  return text;
}

std::optional<int64_t> ulp_distance(const PatternRules& rules, uint32_t a, uint32_t b) {
  if (rules.is_nan(a) || rules.is_nan(b)) return std::nullopt;
  return rules.position(b) - rules.position(a);
}

PairDifference pair_difference(const PatternRules& rules, uint32_t first, uint32_t second) {
  PairDifference d;
  d.sign_differs = rules.sign(first) != rules.sign(second);
  d.exponent_difference = rules.exponent(second) - rules.exponent(first);
  d.mantissa_difference = rules.mantissa(second) - rules.mantissa(first);
  d.raw_difference = static_cast<int64_t>(second) - static_cast<int64_t>(first);
  d.ulp = ulp_distance(rules, first, second);
  return d;
}

namespace {
const PatternRules& bf16_rules() {
  static const PatternRules rules = pattern_rules(formats::ElementType::bf16);
  return rules;
}
}  // namespace

std::string format_bits(uint16_t bits) { return format_bits(bf16_rules(), bits); }
std::string format_value(uint16_t bits) { return format_value(bf16_rules(), bits); }
std::optional<int64_t> ulp_distance(uint16_t a, uint16_t b) { return ulp_distance(bf16_rules(), a, b); }
PairDifference pair_difference(uint16_t first, uint16_t second) { return pair_difference(bf16_rules(), first, second); }

InspectTable inspect_matrix(const std::string& matrix_location, const std::vector<TokenGroup>& groups,
                            const std::vector<int64_t>& dims, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  ElementRequest any_format;
  any_format.any_format = true;
  const MatrixSource matrix(comm, matrix_location, any_format);
  InspectTable table;
  table.matrix = matrix.description();
  table.rules = pattern_rules(matrix.element_type());
  table.dims = dims;
  std::vector<uint32_t> rows;
  collectively(comm, [&] {
    check_token_groups(groups, matrix.rows(), matrix.description());
    if (dims.empty()) fail(kExitUsage, "no dimensions chosen (--dims)");
    for (int64_t d : dims)
      if (d < 0 || d >= matrix.cols())
        fail(kExitInput, "dimension " + std::to_string(d) + " is out of range: " + matrix.description() + " has " +
                             std::to_string(matrix.cols()) + " dims (0.." + std::to_string(matrix.cols() - 1) + ")");
    for (const TokenGroup& g : groups) {
      table.group_names.push_back(g.name);
      table.group_sizes.push_back(static_cast<int64_t>(g.tokens.size()));
      table.representatives.push_back(g.tokens.front());
    }
    rows.resize(groups.size() * static_cast<size_t>(matrix.cols()));
    if (rank == 0) {
      // One read per group, in id order (runs of consecutive ids read at once).
      std::vector<size_t> order(groups.size());
      for (size_t g = 0; g < order.size(); ++g) order[g] = g;
      std::sort(order.begin(), order.end(),
                [&](size_t a, size_t b) { return table.representatives[a] < table.representatives[b]; });
      std::vector<int64_t> sorted;
      for (size_t g : order) sorted.push_back(table.representatives[g]);
      std::vector<unsigned char> bytes(rows.size() * static_cast<size_t>(matrix.element_bytes()));
      matrix.read_rows(sorted, bytes.data());
      const std::vector<uint32_t> sorted_rows = widen_patterns(bytes, matrix.element_bytes());
      for (size_t i = 0; i < order.size(); ++i)
        std::copy_n(sorted_rows.begin() + static_cast<std::ptrdiff_t>(i * matrix.cols()), matrix.cols(),
                    rows.begin() + static_cast<std::ptrdiff_t>(order[i] * matrix.cols()));
    }
  });
  table.bits.resize(dims.size() * groups.size());
  if (rank == 0)
    for (size_t k = 0; k < dims.size(); ++k)
      for (size_t g = 0; g < groups.size(); ++g)
        table.bits[k * groups.size() + g] = rows[g * static_cast<size_t>(matrix.cols()) + static_cast<size_t>(dims[k])];
  check_mpi(MPI_Bcast(table.bits.data(), static_cast<int>(table.bits.size()), MPI_UINT32_T, 0, comm),
            "broadcasting the inspected values");
  return table;
}

namespace {

// |ULP distance| over all pairs and dims, for the closing summary.
struct PairDistances {
  std::map<int64_t, int64_t> histogram;
  int64_t undefined = 0;
};

std::string groups_text(const InspectTable& table) {
  std::string out = "groups (representative = first token id of each group):\n";
  char line[512];
  for (size_t g = 0; g < table.group_names.size(); ++g) {
    std::snprintf(line, sizeof line, "  %-20s %8lld token(s), representative %lld\n", table.group_names[g].c_str(),
                  static_cast<long long>(table.group_sizes[g]), static_cast<long long>(table.representatives[g]));
    out += line;
  }
  return out;
}

// Dim k: each representative's value, bits and fields.
std::string dim_values_text(const InspectTable& table, size_t k) {
  char line[512];
  const int bits_width = std::max(24, table.rules.total_bits + 2);
  std::snprintf(line, sizeof line, "  %-14s %8s  %-14s  %-*s  %4s  %8s  %8s\n", "group", "token", "value", bits_width,
                "s|exponent|mantissa", "sign", "exponent", "mantissa");
  std::string out = line;
  for (size_t g = 0; g < table.group_names.size(); ++g) {
    const uint32_t b = table.at(k, g);
    std::snprintf(line, sizeof line, "  %-14s %8lld  %-14s  %-*s  %4d  %8d  %8lld\n",
                  short_group_name(table.group_names[g]).c_str(), static_cast<long long>(table.representatives[g]),
                  format_value(table.rules, b).c_str(), bits_width, format_bits(table.rules, b).c_str(),
                  table.rules.sign(b), table.rules.exponent(b), static_cast<long long>(table.rules.mantissa(b)));
    out += line;
  }
  return out;
}

// Dim k: every pair's differences, counted into `distances`.
std::string dim_pairs_text(const InspectTable& table, size_t k, PairDistances& distances) {
  char line[512];
  std::string out = "  pairs (second minus first):\n";
  const std::string raw_header = "raw uint" + std::to_string(table.rules.total_bits) + " diff";
  std::snprintf(line, sizeof line, "  %-24s %12s %13s %13s %15s %13s\n", "pair", "sign differs", "exponent diff",
                "mantissa diff", raw_header.c_str(), "ULP distance");
  out += line;
  const size_t groups = table.group_names.size();
  for (size_t a = 0; a < groups; ++a)
    for (size_t b = a + 1; b < groups; ++b) {
      const PairDifference d = pair_difference(table.rules, table.at(k, a), table.at(k, b));
      const std::string pair = short_group_name(table.group_names[a]) + " -> " + short_group_name(table.group_names[b]);
      std::snprintf(line, sizeof line, "  %-24s %12s %13s %13s %15s %13s\n", pair.c_str(),
                    d.sign_differs ? "yes" : "no", signed_text(d.exponent_difference).c_str(),
                    signed_text(d.mantissa_difference).c_str(), signed_text(d.raw_difference).c_str(),
                    d.ulp ? signed_text(*d.ulp).c_str() : "undefined");
      out += line;
      if (d.ulp)
        distances.histogram[*d.ulp < 0 ? -*d.ulp : *d.ulp] += 1;
      else
        ++distances.undefined;
    }
  return out;
}

std::string dim_summary_text(const InspectTable& table, size_t k) {
  const DimSummary s = summarize(table, k);
  std::string mantissas;
  for (size_t g = 0; g < s.mantissas.size(); ++g) mantissas += (g ? ", " : "") + std::to_string(s.mantissas[g]);
  return "  summary: " +
         (s.shared_exponent ? "shared exponent " + std::to_string(*s.shared_exponent)
                            : std::string("exponents differ")) +
         "; mantissas " + mantissas + "; spacing: " + spacing_text(s, table.group_names.size()) + "\n";
}

nlohmann::ordered_json value_json(const InspectTable& table, size_t k, size_t g) {
  using json = nlohmann::ordered_json;
  const PatternRules& rules = table.rules;
  const uint32_t b = table.at(k, g);
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%0*X", rules.total_bits / 4, static_cast<unsigned>(b));
  return {{"group", table.group_names[g]},
          {"token", table.representatives[g]},
          {"value", rules.is_finite(b) ? json(rules.value(b)) : json()},
          {"value_text", format_value(rules, b)},
          {"bits", format_bits(rules, b)},
          {"hex", hex},
          {"sign", rules.sign(b)},
          {"exponent", rules.exponent(b)},
          {"mantissa", rules.mantissa(b)},
          {"lattice_position", rules.is_nan(b) ? json() : json(rules.position(b))}};
}

nlohmann::ordered_json pairs_json(const InspectTable& table, size_t k) {
  using json = nlohmann::ordered_json;
  json pairs = json::array();
  const size_t groups = table.group_names.size();
  for (size_t a = 0; a < groups; ++a)
    for (size_t b = a + 1; b < groups; ++b) {
      const PairDifference d = pair_difference(table.rules, table.at(k, a), table.at(k, b));
      pairs.push_back({{"first", table.group_names[a]},
                       {"second", table.group_names[b]},
                       {"sign_differs", d.sign_differs},
                       {"exponent_difference", d.exponent_difference},
                       {"mantissa_difference", d.mantissa_difference},
                       {"raw_difference", d.raw_difference},
                       {"ulp_distance", d.ulp ? json(*d.ulp) : json()}});
    }
  return pairs;
}

}  // namespace

std::string inspect_text(const InspectTable& table) {
  std::string out = "latdisp inspect: " + table.matrix + "\n";
  // bf16 keeps its original header; other formats name theirs.
  if (table.rules.type != formats::ElementType::bf16)
    out += "element type: " + formats::element_type_name(table.rules.type) + "\n";
  out += groups_text(table);
  PairDistances distances;
  const size_t groups = table.group_names.size();
  for (size_t k = 0; k < table.dims.size(); ++k) {
    out += "\ndim " + std::to_string(table.dims[k]) + "\n" + dim_values_text(table, k);
    if (groups >= 2) out += dim_pairs_text(table, k, distances);
    out += dim_summary_text(table, k);
  }
  if (groups >= 2) {
    out += "\nsummary over all pairs and dims: |ULP distance|";
    for (const auto& [distance, count] : distances.histogram)
      out += " " + std::to_string(distance) + " (x" + std::to_string(count) + ")";
    if (distances.undefined) out += ", undefined (NaN) x" + std::to_string(distances.undefined);
    out += "\n";
  }
  return out;
}

std::string inspect_json(const InspectTable& table) {
  using json = nlohmann::ordered_json;
  json report;
  report["schema"] = "latdisp.inspect/1";
  report["matrix"] = table.matrix;
  report["element_type"] = formats::element_type_name(table.rules.type);
  report["groups"] = json::array();
  const size_t groups = table.group_names.size();
  for (size_t g = 0; g < groups; ++g)
    report["groups"].push_back(
        {{"name", table.group_names[g]}, {"size", table.group_sizes[g]}, {"representative", table.representatives[g]}});
  report["dims"] = json::array();
  for (size_t k = 0; k < table.dims.size(); ++k) {
    json dim;
    dim["dim"] = table.dims[k];
    dim["values"] = json::array();
    for (size_t g = 0; g < groups; ++g) dim["values"].push_back(value_json(table, k, g));
    dim["pairs"] = pairs_json(table, k);
    const DimSummary s = summarize(table, k);
    dim["summary"] = {{"shared_exponent", s.shared_exponent ? json(*s.shared_exponent) : json()},
                      {"mantissas", s.mantissas},
                      {"spacing_ulp", s.gaps},
                      {"spacing", spacing_text(s, groups)}};
    report["dims"].push_back(dim);
  }
  return report.dump(2) + "\n";
}

}  // namespace latdisp
