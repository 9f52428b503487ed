#include "bits/blackholes_report.hpp"

#include <algorithm>
#include <cstdio>

#include "io/token_groups.hpp"
#include "parallel/memory.hpp"
#include "parallel/phase_timings_json.hpp"

namespace latdisp {

namespace {

using json = nlohmann::ordered_json;

int64_t grouped_tokens(const BlackholesRun& run) {
  int64_t grouped = 0;
  for (const FinalGroup& g : run.final_groups) grouped += static_cast<int64_t>(g.tokens.size());
  return grouped;
}

json input_json(const BlackholesRun& run) {
  json shape =
      run.trajectory ? json::array({run.input_steps, run.tokens, run.dims}) : json::array({run.tokens, run.dims});
  return {{"path", run.path},
          {"name", run.name},
          {"format", format_name(run.format)},
          {"type", run.type.empty() ? json() : json(run.type)},
          {"element_type", run.element_type},
          {"shape", shape},
          {"steps", run.step_numbers.empty() ? json() : json(run.step_numbers)},
          {"dead_mask_found", run.dead_mask_found},
          {"dead_tokens", run.dead_tokens}};
}

json per_step_json(const BlackholesRun& run) {
  json groups = json::array(), members = json::array(), largest = json::array(), dead = json::array();
  for (const StepSummary& s : run.series) {
    groups.push_back(s.groups);
    members.push_back(s.members);
    largest.push_back(s.largest);
    dead.push_back(s.dead_members);
  }
  return {{"groups", groups}, {"members", members}, {"largest", largest}, {"dead_members", dead}};
}

json final_groups_json(const BlackholesRun& run) {
  json finals = json::array();
  for (const FinalGroup& g : run.final_groups)
    finals.push_back({{"size", g.tokens.size()},
                      {"first_token", g.tokens.front()},
                      {"formed_at", g.formed_at},
                      {"dead_members", g.dead_members}});
  return finals;
}

// Each member of an initial group and the step it left the group (docs/report.md §13).
json members_left_json(const InitialGroup& g) {
  json members = json::array();
  for (size_t i = 0; i < g.tokens.size(); ++i)
    members.push_back({{"token", g.tokens[i]}, {"left_at", g.left_at[i] < 0 ? json(nullptr) : json(g.left_at[i])}});
  return members;
}

json initial_groups_json(const BlackholesRun& run) {
  json initials = json::array();
  for (const InitialGroup& g : run.initial_groups)
    initials.push_back({{"size", g.tokens.size()},
                        {"first_token", g.tokens.front()},
                        {"intact_until", g.intact_until},
                        {"dead_members", g.dead_members},
                        {"members", members_left_json(g)}});
  return initials;
}

// The last step's groups with their ids, named as in the --output file.
json named_groups_json(const BlackholesRun& run) {
  json named = json::array();
  for (size_t g = 0; g < run.final_groups.size(); ++g)
    named.push_back({{"name", blackhole_group_name(g)},
                     {"size", run.final_groups[g].tokens.size()},
                     {"token_ids", run.final_groups[g].tokens}});
  return named;
}

// The slowest rank's seconds by kind, then where rank 0's time went.
json timings_json(const BlackholesRun& run) {
  const RowSearchStats& s = run.search;
  json timings = {{"read", run.read_seconds},
                  {"hash", s.hash_seconds},
                  {"read_hash", run.read_seconds + s.hash_seconds},
                  {"route", s.route_seconds},
                  {"group", s.group_seconds},
                  {"verify", s.verify_seconds},
                  {"track", run.track_seconds},
                  {"total", run.total_seconds}};
  const nlohmann::json phases = phase_timings_json(run.phases);
  for (const char* key : {"wall", "phases", "concurrent"}) timings[key] = json(phases.at(key));
  return timings;
}

json run_json(const BlackholesRun& run) {
  return {{"ranks", run.ranks},
          {"steps_per_block", run.steps_per_block},
          {"memory_budget_bytes", run.memory_budget},
          {"timings_s", timings_json(run)},
          {"rows_per_s", rows_per_second(run)},
          {"peak_rss_bytes", run.peak_rss},
          {"options", json::parse(run.config.echo.report)}};
}

std::string ids_text(const std::vector<int64_t>& tokens, size_t shown) {
  std::string ids;
  for (size_t i = 0; i < std::min(tokens.size(), shown); ++i) ids += (i ? ", " : "") + std::to_string(tokens[i]);
  if (tokens.size() > shown) ids += ", ...";
  return ids;
}

std::string step_line(const char* which, const StepSummary& s) {
  char line[256];
  std::snprintf(line, sizeof line, "  %s step %lld: %lld group(s), %lld tokens in groups (largest %lld, %lld dead)\n",
                which, static_cast<long long>(s.step), static_cast<long long>(s.groups),
                static_cast<long long>(s.members), static_cast<long long>(s.largest),
                static_cast<long long>(s.dead_members));
  return line;
}

// How the initial groups fared: intact to the end, or broken (and when first).
std::string initial_groups_line(const BlackholesRun& run) {
  int64_t intact = 0, first_break = -1;
  for (const InitialGroup& g : run.initial_groups) {
    if (g.intact_until == run.steps.back()) {
      ++intact;
      continue;
    }
    // It broke at the selected step after intact_until.
    const auto next = std::upper_bound(run.steps.begin(), run.steps.end(), g.intact_until);
    if (first_break < 0 || *next < first_break) first_break = *next;
  }
  std::string text = "  initial groups: " + std::to_string(run.initial_groups.size()) + ", " + std::to_string(intact) +
                     " intact to the last step";
  if (first_break >= 0)
    text += ", " + std::to_string(static_cast<int64_t>(run.initial_groups.size()) - intact) +
            " broke apart (the first at step " + std::to_string(first_break) + ")";
  return text + "\n";
}

std::string group_lines(const BlackholesRun& run) {
  std::string text;
  const size_t shown = std::min<size_t>(run.final_groups.size(), run.trajectory ? 20 : 50);
  char line[512];
  for (size_t g = 0; g < shown; ++g) {
    const FinalGroup& group = run.final_groups[g];
    const std::string name = blackhole_group_name(g);
    if (run.trajectory) {
      const std::string formed = group.formed_at == run.steps.front()
                                     ? "identical since the first step (" + std::to_string(group.formed_at) + ")"
                                     : "formed at step " + std::to_string(group.formed_at);
      std::snprintf(line, sizeof line, "  %-16s %8zu tokens  first %-8lld %-40s dead %lld / live %lld\n", name.c_str(),
                    group.tokens.size(), static_cast<long long>(group.tokens.front()), formed.c_str(),
                    static_cast<long long>(group.dead_members),
                    static_cast<long long>(static_cast<int64_t>(group.tokens.size()) - group.dead_members));
    } else {
      std::snprintf(line, sizeof line, "  %-16s %8zu tokens  [%s]\n", name.c_str(), group.tokens.size(),
                    ids_text(group.tokens, 8).c_str());
    }
    text += line;
  }
  if (shown < run.final_groups.size())
    text += "  ... and " + std::to_string(run.final_groups.size() - shown) + " more groups (--json lists all)\n";
  return text;
}

std::string footer_lines(const BlackholesRun& run) {
  const RowSearchStats& s = run.search;
  char line[512];
  std::string text;
  std::snprintf(line, sizeof line,
                "  verification: %lld candidate hash bucket(s), %lld rows compared bit by bit, %lld bucket(s) "
                "split by hash collisions\n",
                static_cast<long long>(s.candidate_buckets), static_cast<long long>(s.candidate_rows),
                static_cast<long long>(s.collision_buckets));
  text += line;
  std::snprintf(line, sizeof line,
                "  time %.3f s (read %.3f, hash %.3f, route %.3f, group %.3f, verify %.3f, track %.3f), %.3g rows/s\n",
                run.total_seconds, run.read_seconds, s.hash_seconds, s.route_seconds, s.group_seconds, s.verify_seconds,
                run.track_seconds, rows_per_second(run));
  text += line;
  text += "  " + where_time_went_line(run.phases) + "\n";
  std::string peaks;
  for (size_t r = 0; r < run.peak_rss.size(); ++r) peaks += (r ? ", " : "") + format_bytes(run.peak_rss[r]);
  text += "  peak memory per rank: " + peaks + "\n";
  if (!run.config.output.empty()) text += "  wrote " + run.config.output + "\n";
  if (!run.config.outputs.report.empty()) text += "  report: " + run.config.outputs.report + "\n";
  if (!run.config.outputs.series_csv.empty()) text += "  per-step series: " + run.config.outputs.series_csv + "\n";
  return text;
}

}  // namespace

const std::vector<std::string>& blackholes_phases() {
  static const std::vector<std::string> phases = {"open", "read", "search", "track", "reduce", "write"};
  return phases;
}

double rows_per_second(const BlackholesRun& run) {
  const double rows = static_cast<double>(run.steps.size()) * static_cast<double>(run.tokens);
  return run.total_seconds > 0 ? rows / run.total_seconds : 0;
}

json blackholes_json(const BlackholesRun& run) {
  json report;
  report["schema"] = "latdisp.blackholes/1";
  report["input"] = input_json(run);
  report["matrix"] = {{"source", run.source}, {"rows", run.tokens}, {"cols", run.dims}};
  report["min_size"] = run.config.min_size;
  report["hash_bits"] = run.config.hash_bits;
  report["output"] = run.config.output.empty() ? json() : json(run.config.output);
  report["selection"] = run.trajectory ? json(run.config.steps_text) : json();
  report["steps"] = run.steps;
  report["per_step"] = per_step_json(run);
  report["final_groups"] = final_groups_json(run);
  report["initial_groups"] = initial_groups_json(run);
  report["groups"] = named_groups_json(run);
  report["grouped_tokens"] = grouped_tokens(run);
  report["candidate_buckets"] = run.search.candidate_buckets;
  report["candidate_rows"] = run.search.candidate_rows;
  report["hash_collisions_separated"] = run.search.collision_buckets;
  report["verify_rounds"] = run.search.verify_rounds;
  report["run"] = run_json(run);
  return report;
}

std::string blackholes_text(const BlackholesRun& run) {
  std::string text = "latdisp blackholes: " + run.source + ", " + std::to_string(run.ranks) + " rank(s)\n";
  if (run.trajectory && !run.series.empty()) {
    text += "  steps " + run.config.steps_text + ": " + std::to_string(run.steps.size()) +
            " selected; groups of at least " + std::to_string(run.config.min_size) + " bit-identical tokens\n";
    text += step_line("first", run.series.front());
    text += step_line("last ", run.series.back());
    text += initial_groups_line(run);
    if (!run.final_groups.empty()) text += "  the largest groups at the last step (formation, dead / live members):\n";
  } else {
    text += "  " + std::to_string(run.final_groups.size()) + " group(s) of at least " +
            std::to_string(run.config.min_size) + " bit-identical tokens, " + std::to_string(grouped_tokens(run)) +
            " tokens in all\n";
  }
  return text + group_lines(run) + footer_lines(run);
}

std::string blackholes_series_csv(const BlackholesRun& run) {
  std::string csv = "step,training_step,groups,members,largest,dead_members\n";
  for (const StepSummary& s : run.series) {
    const bool known = !run.step_numbers.empty() && s.step < static_cast<int64_t>(run.step_numbers.size());
    csv += std::to_string(s.step) + "," + (known ? std::to_string(run.step_numbers[s.step]) : std::string()) + "," +
           std::to_string(s.groups) + "," + std::to_string(s.members) + "," + std::to_string(s.largest) + "," +
           std::to_string(s.dead_members) + "\n";
  }
  return csv;
}

}  // namespace latdisp
