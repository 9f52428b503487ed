// The near-zero breakdown in the reports (docs/report.md §17): the JSON key
// `near_zero` and the text report's section.
#pragma once

#include <cstdio>

#include <nlohmann/json.hpp>

#include "analysis/near_zero_result.hpp"

namespace latdisp {

// Rank 0's reduced breakdown (ReducedNumbers::near_zero).
nlohmann::json near_zero_json(const NearZeroResult& near_zero);
void near_zero_section(std::FILE* out, const NearZeroResult& near_zero);

}  // namespace latdisp
