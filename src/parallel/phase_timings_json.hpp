// The phases of a command's run in its JSON report (docs/report.md §3,
// "timings_s"): every command that times itself with a PhaseTimer reports
// them in this one shape.
#pragma once

#include <nlohmann/json.hpp>

#include "parallel/phase_timer.hpp"

namespace latdisp {

// {"wall": rank 0's seconds since its start, "phases": [...], "concurrent":
// [...]}; each list entry {"phase", "rank_0", "max", "sum", "cpu_rank_0"},
// in the timer's order.
nlohmann::json phase_timings_json(const PhaseSummary& summary);

}  // namespace latdisp
