// The reports of the optimizer audit (docs/optimizer.md §6): the JSON report
// (schema latdisp.optimizer/1), the text report in sentences, the per-step
// series as CSV and the per-token table.
#pragma once

#include <mpi.h>

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "optimizer/audit_result.hpp"

namespace latdisp {

nlohmann::json optimizer_json(const OptimizerResult& result);
void print_optimizer_text(const OptimizerResult& result, std::FILE* out);
// The series CSV's text (rank 0).
std::string optimizer_series_csv(const OptimizerResult& result);
// Collective: each rank writes its slab's rows of the per-token table.
void write_optimizer_per_token(const OptimizerResult& result, const std::string& target, const std::string& path,
                               MPI_Comm comm);

}  // namespace latdisp
