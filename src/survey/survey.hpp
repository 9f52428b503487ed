// The model survey (docs/definitions.md §18): one pass over the
// embedding's rows (zero, non-finite, hash, norm, unchanged against a
// second model), the groups of bit-identical rows found from the hashes and
// verified byte by byte, and a second pass giving every other row its
// L-infinity lattice distance to the nearest of the largest groups. Rows are
// split over ranks; each rank reads only its rows. The result is complete on
// rank 0 and the same for any rank count and memory budget.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/survey_config.hpp"
#include "parallel/phase_timer.hpp"
#include "survey/embedding_source.hpp"
#include "survey/tokenizer.hpp"

namespace latdisp {

struct SurveyResult {
  EmbeddingLocation input;
  std::optional<EmbeddingLocation> compare;
  std::optional<TokenizerStrings> tokenizer;
  int64_t near = 1;
  int64_t groups_max = 64;
  uint64_t hash_mask = ~uint64_t(0);  // testing: fewer hash bits force collisions

  // Per token (rank 0 only; empty elsewhere).
  std::vector<uint8_t> zero, nonfinite, unchanged;  // unchanged: empty without --compare
  std::vector<double> norm;                         // NaN for non-finite rows
  std::vector<int32_t> group;                       // index among the reported groups, or -1
  std::vector<int32_t> nearest;                     // -1 for members, non-finite rows, or no groups
  std::vector<int64_t> distance;                    // -1 likewise

  std::vector<std::vector<int64_t>> groups;  // every group of >= 2 identical finite rows, report order
  int64_t reported_groups = 0;               // min(groups_max, groups.size())
  // Between the reported groups' representatives, row-major G x G.
  std::vector<int64_t> linf, l1, active_dims;

  // The distance pass, for the speed figure.
  int ranks = 1;
  int64_t lattice_comparisons = 0;  // rows measured x groups x dims
  double distance_seconds = 0;      // the slowest rank's kernel time
  double first_pass_seconds = 0;    // read, summaries, compare (the slowest rank)
  double group_seconds = 0;         // grouping and the representatives (rank 0)
  double distance_pass_seconds = 0; // read and distances (the slowest rank)
  double seconds = 0;               // the whole survey
  uint64_t block_rows = 0;          // rows per block (the largest over ranks)
  uint64_t peak_rss = 0;            // the largest peak resident memory of a rank
  PhaseSummary phases;              // where time went, up to the reports (rank 0)
};

// The phases of a survey, in report order (docs/report.md §15): open
// (outputs checked, the model and the tokenizer opened, the blocks
// planned), first_pass (each rank's rows read and summarized), gather (the
// rows' results onto rank 0), group (rank 0 groups the rows and reads the
// representatives), share (the groups and representatives sent to every
// rank), distance_pass (the rows read again and measured against the
// groups), pairs (rank 0: the distances between the groups), reduce (the
// counts and the peak memory), write (the groups file).
const std::vector<std::string>& survey_phases();

// Collective, timed in `phases` (survey_phases(), from "open" on). Every
// rank throws the same Error on bad input.
SurveyResult survey_model(const SurveyConfig& config, PhaseTimer& phases, MPI_Comm comm);

}  // namespace latdisp
