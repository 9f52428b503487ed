#include "report/near_zero_report.hpp"

#include <string>

namespace latdisp {

namespace {

using nlohmann::json;

// A report key as the text report writes it: "not_crossing_zero" as "not crossing zero".
std::string spaced(std::string key) {
  for (char& c : key)
    if (c == '_') c = ' ';
  return key;
}

json optional_json(const std::optional<double>& v) { return v ? json(*v == 0.0 ? 0.0 : *v) : json(nullptr); }

int64_t coordinates_in_bin(const NearZeroPopulation& p, int bin) {
  return finite_in_bin(p, bin) + p.bins[bin][kBinNonfinite];
}

json bin_row(const NearZeroPopulation& p, int bin, const std::optional<int>& typical) {
  json row;
  const bool binade = bin != kZeroBin && bin != kNonfiniteBin;
  row["start"] = bin == kZeroBin ? "zero" : bin == kNonfiniteBin ? "nonfinite" : "binade";
  row["binade"] = binade ? json(binade_of_bin(bin)) : json(nullptr);
  row["below_typical"] = binade && typical ? json(*typical - binade_of_bin(bin)) : json(nullptr);
  row["coordinates"] = coordinates_in_bin(p, bin);
  for (int f = 0; f < kBinFields; ++f) row[kBinFieldNames[f]] = p.bins[bin][f];
  row["max_abs"] = optional_json(slot_max(p, bin, finite_in_bin(p, bin)));
  return row;
}

// The order of the table: zero, the binades ascending, then not finite.
template <class Visit>
void for_each_nonempty_bin(const NearZeroPopulation& p, const Visit& visit) {
  if (coordinates_in_bin(p, kZeroBin) > 0) visit(kZeroBin);
  for (int bin = bin_of_binade(kBinadeLow); bin < kStartBins; ++bin)
    if (coordinates_in_bin(p, bin) > 0) visit(bin);
  if (coordinates_in_bin(p, kNonfiniteBin) > 0) visit(kNonfiniteBin);
}

json population_json(const NearZeroPopulation& p) {
  json j;
  const std::optional<int> typical = typical_binade(p);
  j["typical_binade"] = typical ? json(*typical) : json(nullptr);
  json kinds;
  for (int k = 0; k < kZeroKinds; ++k)
    kinds[kZeroKindNames[k]] = {{"count", p.kind_count[k]},
                                {"above_1024", p.kind_above_1024[k]},
                                {"max_abs", optional_json(slot_max(p, kStartBins + k, p.kind_count[k]))}};
  j["kinds"] = kinds;
  json abs_x;
  for (int set = 0; set < kAbsXSets; ++set) {
    const AbsXStats s = abs_x_stats(p, static_cast<AbsXSet>(set));
    abs_x[kAbsXSetNames[set]] = {{"count", s.count},
                                 {"mean", optional_json(s.mean)},
                                 {"max", optional_json(s.max)},
                                 {"above_1024", s.above_1024}};
  }
  j["abs_x"] = abs_x;
  json table = json::array();
  for_each_nonempty_bin(p, [&](int bin) { table.push_back(bin_row(p, bin, typical)); });
  j["by_starting_binade"] = table;
  json per_step;
  for (int k = kSignChange; k < kZeroKinds; ++k) per_step[kZeroKindNames[k]] = p.series[k];
  j["per_step"] = per_step;
  return j;
}

// A double with 17 significant digits (`digits` fewer in the table), "n/a" for none.
std::string text_of(const std::optional<double>& v, int digits = 17) {
  if (!v) return "n/a";
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%.*g", digits, *v);
  return buffer;
}

std::string start_label(int bin) {
  if (bin == kZeroBin) return "zero";
  if (bin == kNonfiniteBin) return "non-finite";
  return "2^" + std::to_string(binade_of_bin(bin));
}

void abs_x_lines(std::FILE* out, const char* label, const NearZeroPopulation& p) {
  std::fprintf(out, "  %-5s sign changes %lld, from zero %lld, to zero %lld, kept sign %lld (of %lld finite x)\n",
               label, static_cast<long long>(p.kind_count[kSignChange]), static_cast<long long>(p.kind_count[kFromZero]),
               static_cast<long long>(p.kind_count[kToZero]), static_cast<long long>(p.kind_count[kKeepsSign]),
               static_cast<long long>(abs_x_stats(p, kAllFinite).count));
  for (int set = 0; set < kAbsXSets; ++set) {
    const AbsXStats s = abs_x_stats(p, static_cast<AbsXSet>(set));
    std::fprintf(out, "        |x| %-17s count %lld, mean %s, max %s, above 1024 %lld\n",
                 spaced(kAbsXSetNames[set]).c_str(), static_cast<long long>(s.count), text_of(s.mean).c_str(),
                 text_of(s.max).c_str(), static_cast<long long>(s.above_1024));
  }
}

void binade_table(std::FILE* out, const NearZeroPopulation& p) {
  const std::optional<int> typical = typical_binade(p);
  std::fprintf(out, "  by the binade of |W[t]| (all tokens; the median |W[t]| lies in %s):\n",
               typical ? ("2^" + std::to_string(*typical)).c_str() : "no binade (zero or none)");
  std::fprintf(out, "    %-10s %6s %12s %12s %10s %10s %10s %10s %10s %10s %10s %12s\n", "start", "below", "coords",
               "exact", "almost", "half", "non-int", "sign chg", "from 0", "to 0", ">1024", "max |x|");
  for_each_nonempty_bin(p, [&](int bin) {
    const bool binade = bin != kZeroBin && bin != kNonfiniteBin;
    const std::string below = binade && typical ? std::to_string(*typical - binade_of_bin(bin)) : "-";
    const auto& c = p.bins[bin];
    std::fprintf(out, "    %-10s %6s %12lld %12lld %10lld %10lld %10lld %10lld %10lld %10lld %10lld %12s\n",
                 start_label(bin).c_str(), below.c_str(), static_cast<long long>(coordinates_in_bin(p, bin)),
                 static_cast<long long>(c[kBinExact]), static_cast<long long>(c[kBinAlmost]),
                 static_cast<long long>(c[kBinHalf]), static_cast<long long>(c[kBinNonInteger]),
                 static_cast<long long>(c[kBinSignChange]), static_cast<long long>(c[kBinFromZero]),
                 static_cast<long long>(c[kBinToZero]), static_cast<long long>(c[kBinAbove1024]),
                 text_of(slot_max(p, bin, finite_in_bin(p, bin)), 6).c_str());
  });
}

}  // namespace

json near_zero_json(const NearZeroResult& near_zero) {
  json all = population_json(near_zero[kAllTokens]);
  for (const Population p : {kLive, kDead}) all[population_name(p)] = population_json(near_zero[result_population(p)]);
  return all;
}

void near_zero_section(std::FILE* out, const NearZeroResult& near_zero) {
  std::fprintf(out, "\n== Near zero: x by where W[t] started ==\n");
  for (int p = 0; p < kResultPopulations; ++p) abs_x_lines(out, population_name(p), near_zero[static_cast<size_t>(p)]);
  binade_table(out, near_zero[kAllTokens]);
}

}  // namespace latdisp
