// The survey's outputs (docs/report.md §15): the JSON report
// (schema latdisp.survey/1), the text summary, the per-token CSV table.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "survey/survey.hpp"

namespace latdisp {

// Rank 0's result in, the report out.
nlohmann::json survey_json(const SurveyResult& result);

// The summary a researcher reads at a glance, from the JSON report, ending
// with where time went.
std::string survey_text(const nlohmann::json& report, const PhaseSummary& phases);

// token,string,group,nearest_group,distance,norm,zero,beyond_tokenizer,unchanged
// (RFC 4180: strings always quoted, quotes doubled; CRLF line ends).
std::string survey_csv(const SurveyResult& result);

// numpy's default percentile (linear) of sorted values; NaN if empty.
double numpy_linear_percentile(const std::vector<double>& sorted, double percentile);

}  // namespace latdisp
