// The optimizer audit's text report, series CSV and per-token table
// (declared in optimizer_report.hpp).
#include <cmath>
#include <sstream>

#include "io/table_writer.hpp"
#include "kokkos_kernels/optimizer/adamw_rules.hpp"
#include "optimizer/optimizer_report.hpp"
#include "parallel/partition.hpp"
#include "parallel/phase_timer.hpp"

namespace latdisp {

namespace {

using nlohmann::json;

double percent(double part, double whole) { return whole > 0 ? 100.0 * part / whole : 0.0; }

int64_t value_of(const json& j) { return j.get<int64_t>(); }

// The first step t (1-based) whose entry of `list` is positive; -1 if none.
int64_t first_positive(const json& list) {
  for (size_t i = 0; i < list.size(); ++i)
    if (value_of(list[i]) > 0) return int64_t(i) + 1;
  return -1;
}

// Which scalars of the update a bf16 kernel of torch 1.13 turns into exactly 1.
std::string scalars_rounding_to_one(const OptimizerResult& r) {
  using optimizer::scalar_in_format;
  const Hyperparameters& h = r.hyperparameters;
  std::string found;
  if (scalar_in_format<formats::BF16>(h.beta2.value) == 1.0f) found += "beta2 = " + std::to_string(h.beta2.value);
  bool decay_one = h.weight_decay.value != 0;
  for (size_t t = 1; t < h.lr_per_step.size(); ++t)
    decay_one = decay_one && scalar_in_format<formats::BF16>(1 - h.lr_per_step[t] * h.weight_decay.value) == 1.0f;
  if (decay_one && r.steps > 1) found += std::string(found.empty() ? "" : " and ") + "1 - lr*wd (every step)";
  return found;
}

void print_replay(const json& j, const OptimizerResult& r, std::FILE* out) {
  const json& replay = j["replay"];
  std::fprintf(out, "Replay (%s", r.update_rule.c_str());
  if (r.update_rule == "torch-mul-add")
    std::fprintf(out, ", CPU capability %s, %d thread(s)", r.torch_capability.c_str(), r.torch_threads);
  std::fprintf(out, "):");
  for (const char* tensor : {"W", "exp_avg", "exp_avg_sq"}) {
    const double match = double(value_of(replay[tensor]["match"]));
    const double all = match + double(value_of(replay[tensor]["mismatch"]));
    std::fprintf(out, " %s matched %.0f of %.0f coordinates bit for bit (%.4f%%);", tensor, match, all,
                 percent(match, all));
  }
  std::fprintf(out, "\n");
  if (!r.first_mismatches.empty()) {
    const FirstMismatch& m = r.first_mismatches.front();
    const char* tensors[3] = {"W", "exp_avg", "exp_avg_sq"};
    std::fprintf(out, "  The first mismatch: step %lld, token %lld, dim %lld, %s (recorded bits 0x%llx, replayed "
                      "0x%llx), first differing operation: %s.\n",
                 (long long)m.step, (long long)m.token, (long long)m.dim, tensors[m.tensor],
                 (unsigned long long)m.recorded_bits, (unsigned long long)m.replayed_bits, m.operation.c_str());
  }
}

void print_losses(const json& j, std::FILE* out) {
  const json& sums = j["sums"];
  const json& classes = j["classes"];
  if (sums["lost_fraction"].is_null()) {
    std::fprintf(out, "The optimizer intended no update at all.\n");
  } else {
    std::fprintf(out, "Rounding lost %.2f%% of the intended update (sum |u - Delta| / sum |u|); the realized update "
                      "is %.4f times the intended one in projection.\n",
                 100 * sums["lost_fraction"].get<double>(),
                 sums["projection"].is_null() ? 0.0 : sums["projection"].get<double>());
  }
  const double coordinates = double(value_of(classes["coordinates"]));
  std::fprintf(out, "%lld coordinate updates (%.2f%%) were swallowed (intended, not realized); %lld reversed, %lld "
                    "amplified, %lld attenuated, %lld exact, %lld spurious, %lld still, %lld non-finite.\n",
               (long long)value_of(classes["swallowed"]), percent(double(value_of(classes["swallowed"])), coordinates),
               (long long)value_of(classes["reversed"]), (long long)value_of(classes["amplified"]),
               (long long)value_of(classes["attenuated"]), (long long)value_of(classes["exact"]),
               (long long)value_of(classes["spurious"]), (long long)value_of(classes["still"]),
               (long long)value_of(classes["nonfinite"]));
  const int64_t first = first_positive(classes["per_step"]["swallowed"]);
  if (first > 0) std::fprintf(out, "Updates started to be swallowed at step %lld.\n", (long long)first);
  const json& cells = j["cells"];
  std::fprintf(out, "%lld intended moves were below half a lattice cell; %lld of those moved anyway.",
               (long long)value_of(cells["sub_half_cell"]), (long long)value_of(cells["sub_half_cell_moved"]));
  if (!cells["percentiles"]["50"].is_null())
    std::fprintf(out, " Intended |cells|: median %.6g, 90th percentile %.6g, 99th %.6g.",
                 cells["percentiles"]["50"].get<double>(), cells["percentiles"]["90"].get<double>(),
                 cells["percentiles"]["99"].get<double>());
  std::fprintf(out, "\n");
}

void print_states(const json& j, const OptimizerResult& r, std::FILE* out) {
  const json& v = j["states"]["exp_avg_sq"];
  if (value_of(v["decreased"]) == 0)
    std::fprintf(out, "The variance never decays: exp_avg_sq decreased in no coordinate over %lld steps (%lld "
                      "increased, %lld unchanged) - the ratchet.\n",
                 (long long)(r.steps - 1), (long long)value_of(v["increased"]), (long long)value_of(v["unchanged"]));
  else
    std::fprintf(out, "exp_avg_sq decreased %lld times, increased %lld times and stayed %lld times.\n",
                 (long long)value_of(v["decreased"]), (long long)value_of(v["increased"]),
                 (long long)value_of(v["unchanged"]));
  const json& wd = j["weight_decay"];
  const double eligible = double(value_of(wd["eligible"])), noop = double(value_of(wd["noop"]));
  if (eligible == 0)
    std::fprintf(out, "Weight decay had nothing to act on (lr*wd = 0 or every weight zero).\n");
  else if (noop == eligible)
    std::fprintf(out, "Weight decay never acts: its multiplication left all %.0f eligible weights bit-identical.\n",
                 eligible);
  else
    std::fprintf(out, "Weight decay was a no-op for %.0f of %.0f eligible weights (%.2f%%).\n", noop, eligible,
                 percent(noop, eligible));
  const std::string ones = scalars_rounding_to_one(r);
  if (!ones.empty())
    std::fprintf(out, "In bfloat16, torch 1.13's kernels turn %s into exactly 1.0 (mul_ takes its scalar in the "
                      "tensor's format).\n",
                 ones.c_str());
}

void print_freeze(const json& j, std::FILE* out) {
  const json& f = j["freeze_prediction"];
  std::fprintf(out, "Freeze prediction (rows: every |c| < 1/2 against every Delta == 0): %lld frozen as predicted, "
                    "%lld moved though predicted frozen, %lld frozen though predicted moving, %lld moved as "
                    "predicted.\n",
               (long long)value_of(f["frozen_as_predicted"]), (long long)value_of(f["moved_though_predicted_frozen"]),
               (long long)value_of(f["frozen_though_predicted_moving"]), (long long)value_of(f["moved_as_predicted"]));
}

}  // namespace

void print_optimizer_text(const OptimizerResult& r, std::FILE* out) {
  const json j = optimizer_json(r);
  std::fprintf(out, "latdisp optimizer: %s, W %s [%lld, %lld, %lld] %s, %lld dead tokens, %d rank(s)\n",
               r.path.c_str(), r.names[0].c_str(), (long long)r.steps, (long long)r.tokens, (long long)r.dims,
               r.element_type.c_str(), (long long)r.n_dead, r.ranks);
  if (r.checkpoint && r.checkpoint->resumed_from_step)
    std::fprintf(out, "  (resumed from step %lld of the checkpoint in '%s')\n",
                 (long long)*r.checkpoint->resumed_from_step, r.checkpoint->directory.c_str());
  print_replay(j, r, out);
  print_losses(j, out);
  print_states(j, r, out);
  print_freeze(j, out);
  std::fprintf(out, "%s\n", where_time_went_line(r.phases).c_str());
}

namespace {

// (column name, value of step index i) for one population's block of json.
void add_columns(std::vector<std::string>& names, std::vector<const json*>& lists, const std::string& prefix,
                 const json& block) {
  for (auto it = block.begin(); it != block.end(); ++it) {
    if (it.value().is_array()) {
      names.push_back(prefix + it.key());
      lists.push_back(&it.value());
    }
  }
}

}  // namespace

std::string optimizer_series_csv(const OptimizerResult& r) {
  const json j = optimizer_json(r);
  std::vector<std::string> names;
  std::vector<const json*> lists;
  for (const char* population : {"all", "live", "dead"}) {
    const std::string p = std::string(population) + ".";
    auto block = [&](const json& section) -> const json& {
      return std::string(population) == "all" ? section : section[population];
    };
    add_columns(names, lists, p, block(j["classes"])["per_step"]);
    add_columns(names, lists, p, block(j["sums"])["per_step"]);
    add_columns(names, lists, p + "exp_avg.", block(j["states"])["exp_avg"]["per_step"]);
    add_columns(names, lists, p + "exp_avg_sq.", block(j["states"])["exp_avg_sq"]["per_step"]);
    add_columns(names, lists, p + "weight_decay.", block(j["weight_decay"])["per_step"]);
    for (const char* tensor : {"W", "exp_avg", "exp_avg_sq"})
      add_columns(names, lists, p + "replay." + tensor + ".", block(j["replay"])[tensor]);
    add_columns(names, lists, p + "freeze.", block(j["freeze_prediction"])["per_step"]);
  }
  std::ostringstream csv;
  csv << "step,from_step,to_step";
  for (const std::string& name : names) csv << ',' << name;
  csv << '\n';
  for (int64_t i = 0; i + 1 < r.steps; ++i) {
    csv << i + 1 << ',';
    if (!r.step_numbers.empty()) csv << r.step_numbers[i] << ',' << r.step_numbers[i + 1];
    else csv << ',';
    for (const json* list : lists) {
      const json& v = (*list)[size_t(i)];
      csv << ',' << (v.is_null() ? std::string() : v.is_number_integer() ? std::to_string(v.get<int64_t>())
                                                                           : csv_number(v.get<double>()));
    }
    csv << '\n';
  }
  return csv.str();
}

void write_optimizer_per_token(const OptimizerResult& r, const std::string& target, const std::string& path,
                               MPI_Comm comm) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  const TokenRange slab = token_range(r.tokens, rank, ranks);
  const TokenAudit& p = r.per_token;
  LocalTableRows table;
  table.total_rows = r.tokens;
  table.first_row = slab.begin;
  table.rows = slab.count;
  auto integers = [&](const char* name, std::vector<int64_t> values, ColumnType type = ColumnType::int64) {
    TableColumn column{name, type, std::move(values), {}};
    table.columns.push_back(std::move(column));
  };
  std::vector<int64_t> token(size_t(slab.count)), dead(size_t(slab.count));
  for (int64_t n = 0; n < slab.count; ++n) {
    token[n] = slab.begin + n;
    dead[n] = r.dead.empty() ? 0 : r.dead[slab.begin + n];
  }
  integers("token", token);
  integers("dead", dead, ColumnType::boolean);
  integers("swallowed", p.swallowed);
  integers("moved", p.moved);
  table.columns.push_back({"intended_l1", ColumnType::float64, {}, p.intended_l1});
  table.columns.push_back({"lost_l1", ColumnType::float64, {}, p.lost_l1});
  integers("last_moved", p.last_moved);
  integers("last_half_cell", p.last_half_cell);
  integers("replay_mismatches", p.replay_mismatches);
  write_table(comm, table, table_format_of("--per-token", target), path, target);
}

}  // namespace latdisp
