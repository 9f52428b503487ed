#include "app/run_survey.hpp"

#include <cstdio>
#include <memory>

#include "io/input_path.hpp"
#include "io/output_file.hpp"
#include "io/output_format.hpp"
#include "io/token_groups.hpp"
#include "parallel/errors.hpp"
#include "parallel/phase_timer.hpp"
#include "survey/survey.hpp"
#include "survey/survey_report.hpp"

namespace latdisp {

namespace {

// Files this run may read, so that no output replaces one of them.
std::vector<std::string> survey_inputs(const SurveyConfig& o) {
  std::vector<std::string> inputs;
  for (const std::string& model : {o.model, o.compare}) {
    if (model.empty()) continue;
    inputs.push_back(model);
    if (path_kind(model) == PathKind::directory)
      for (const char* name : {"model.safetensors", "model.safetensors.index.json", "tokenizer.json", "config.json"})
        inputs.push_back(join_path(model, name));
  }
  if (!o.tokenizer.empty()) inputs.push_back(o.tokenizer);
  return inputs;
}

void write_groups(const SurveyConfig& o, const SurveyResult& s, PendingOutput& output, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  collectively(comm, [&] {
    if (rank != 0) return;
    std::vector<TokenGroup> groups;
    for (size_t g = 0; g < s.groups.size(); ++g) groups.push_back({blackhole_group_name(g), s.groups[g]});
    write_token_groups(output.temporary_path(), o.output_format, groups,
                       {{"generator", "latdisp survey"}, {"model", s.input.model}, {"tensor", s.input.tensor}});
  });
  output.commit();
}

}  // namespace

int run_survey(const SurveyConfig& o, MPI_Comm comm) {
  PhaseTimer phases(survey_phases(), {}, PhaseTimer::Origin::process_start);
  phases.enter("open");
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  check_outputs(comm,
                {{"--report", o.outputs.report}, {"--per-token", o.outputs.per_token}, {"--output", o.output},
                 {"--summary", o.summary}},
                survey_inputs(o), o.outputs.overwrite);
  std::unique_ptr<PendingOutput> groups;
  if (!o.output.empty()) groups = std::make_unique<PendingOutput>(comm, o.output, o.outputs.overwrite, "--output");
  SurveyResult result = survey_model(o, phases, comm);
  phases.enter("write");
  if (groups) write_groups(o, result, *groups, comm);
  // Every phase up to the reports (the reports themselves are not timed).
  result.phases = summarize_phases(phases, comm);
  std::string report, summary, csv;
  collectively(comm, [&] {
    if (rank != 0) return;
    const nlohmann::json json = survey_json(result);
    report = json.dump(2) + "\n";
    summary = survey_text(json, result.phases);
    std::fputs((o.json ? report : summary).c_str(), stdout);
    std::fflush(stdout);
    if (!o.outputs.per_token.empty()) csv = survey_csv(result);
  });
  const OutputFiles& files = o.outputs;
  if (!files.report.empty()) write_text_output(comm, files.report, files.overwrite, report, "--report");
  if (!o.summary.empty()) write_text_output(comm, o.summary, files.overwrite, summary, "--summary");
  if (!files.per_token.empty()) write_text_output(comm, files.per_token, files.overwrite, csv, "--per-token");
  return kExitOk;
}

}  // namespace latdisp
