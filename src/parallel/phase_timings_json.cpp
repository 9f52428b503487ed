#include "parallel/phase_timings_json.hpp"

#include <vector>

namespace latdisp {

namespace {

using nlohmann::json;

// Each phase (or concurrent work) in order: rank 0's seconds, the maximum
// and the sum over the ranks.
json phase_list_json(const std::vector<PhaseSeconds>& phases) {
  json list = json::array();
  for (const PhaseSeconds& p : phases)
    list.push_back(
        {{"phase", p.name}, {"rank_0", p.rank_0}, {"max", p.max}, {"sum", p.sum}, {"cpu_rank_0", p.cpu_rank_0}});
  return list;
}

}  // namespace

json phase_timings_json(const PhaseSummary& summary) {
  return {{"wall", summary.wall},
          {"phases", phase_list_json(summary.phases)},
          {"concurrent", phase_list_json(summary.concurrent)}};
}

}  // namespace latdisp
