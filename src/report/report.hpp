// The two faces of an analysis: the JSON report (docs/report.md) and the
// human report on stdout.
#pragma once

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "analysis/analysis_result.hpp"

namespace latdisp {

// On rank 0: both read the setup, the reduced numbers and the run record
// (each section function the parts it needs), never a rank's own part.
nlohmann::json json_report(const AnalysisResult& result);
void print_text_report(const AnalysisResult& result, std::FILE* out);

}  // namespace latdisp
