#include "analysis/analysis_result.hpp"

#include "kokkos_kernels/bf16_lattice.hpp"

namespace latdisp {

std::string verdict_of(const PopulationTally& tally) {
  if (tally.counts[kCountNonInteger] > 0) return "GENERAL_QUARTERS";
  if (tally.counts[kCountHalf] > 0) return "HALF_INTEGERS";
  if (tally.counts[kCountAlmost] > 0) return "ROUNDING";
  return "PERFECT";
}

namespace {

std::string count_of(const PopulationTally& tally, int count) { return std::to_string(tally.counts[count]); }

}  // namespace

std::string verdict_reason_of(const PopulationTally& tally) {
  const int64_t finite = tally.coordinates() - tally.counts[kCountNonfinite];
  const std::string of = " of " + std::to_string(finite) + " finite coordinates";
  const std::string verdict = verdict_of(tally);
  if (verdict == "GENERAL_QUARTERS")
    return count_of(tally, kCountNonInteger) + of + " moved by a fraction of a cell (x farther than epsilon from an integer and from a half; " +
           count_of(tally, kCountHalf) + " by ~1/2, " + count_of(tally, kCountAlmost) + " by almost whole cells)";
  if (verdict == "HALF_INTEGERS")
    return count_of(tally, kCountHalf) + of + " moved by a whole number of cells and a half (" +
           count_of(tally, kCountAlmost) + " by almost whole cells, none by another fraction)";
  if (verdict == "ROUNDING")
    return count_of(tally, kCountAlmost) + of +
           " moved by almost (within epsilon), not exactly, whole cells; none by a half or another fraction";
  return "all " + std::to_string(finite) + " finite coordinates moved by exact whole numbers of cells";
}

const std::vector<std::string>& analysis_phases() {
  // open: outputs checked, W opened, its dead mask read, the plan made;
  // setup: the pass's state and buffers (a checkpoint restored); then per
  // block: wait (for its values), kernel, near_zero, fold (its tallies and
  // magnitudes into this rank's state), agree (the block's error agreement:
  // waiting for every rank), checkpoint, block_pause; imbalance: waiting for
  // the slowest rank's last block; reduce; save (--output); write
  // (--per-token, --series-csv, --per-row).
  static const std::vector<std::string> phases = {"open",   "setup", "wait",       "kernel",      "near_zero",
                                                  "fold",   "agree", "checkpoint", "block_pause", "imbalance",
                                                  "reduce", "save",  "write"};
  return phases;
}

const std::vector<std::string>& analysis_concurrent_work() {
  static const std::vector<std::string> work = {"read_busy"};
  return work;
}

Timings timings_of(const PhaseSummary& phases) {
  Timings t;
  t.read = phases.rank_0("wait");
  t.compute = phases.rank_0_sum({"kernel", "near_zero", "fold", "agree", "imbalance"});
  t.near_zero = phases.rank_0("near_zero");
  t.reduce = phases.rank_0("reduce");
  t.write = phases.rank_0_sum({"save", "write"});
  t.checkpoint = phases.rank_0("checkpoint");
  t.total = phases.wall - phases.rank_0_sum({kStartupPhase, kInitPhase});
  t.phases = phases;
  return t;
}

}  // namespace latdisp
