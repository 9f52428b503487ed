// The near-zero breakdown in the reports (docs/report.md §17): the JSON key
// `near_zero` and the text report's section.
#pragma once

#include <cstdio>

#include <nlohmann/json.hpp>

#include "analysis/analysis_result.hpp"

namespace latdisp {

nlohmann::json near_zero_json(const AnalysisResult& result);
void near_zero_section(std::FILE* out, const AnalysisResult& result);

}  // namespace latdisp
