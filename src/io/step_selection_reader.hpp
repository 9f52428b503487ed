// A step selection over any trajectory reader (`analyze --steps A:B[:K]`,
// docs/formats.md §17): the snapshots A, A+K, ... up to B of the input read as
// if they were a trajectory of their own, so that everything downstream (the
// plan, the pass, the reports) sees the sliced trajectory. The selected
// snapshots' training steps (or, when the input has none, their snapshot
// indices) become the reader's step numbers. A contiguous selection (K = 1)
// keeps the input's contiguous layout, so its blocks can still be mapped; a
// strided one is read step by step.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "io/trajectory_reader.hpp"

namespace latdisp {

// Snapshot indices first, first + stride, ... <= last (last < 0: the input's last step).
struct SnapshotSelection {
  int64_t first = 0;
  int64_t last = -1;
  int64_t stride = 1;
};

// Collective (every rank the same answer). Wraps `input`; throws
// Error(kExitInput) naming `option` when the selection leaves the input or
// holds fewer than two snapshots.
std::unique_ptr<TrajectoryReader> select_snapshots(std::unique_ptr<TrajectoryReader> input,
                                                   const SnapshotSelection& selection, const std::string& option);

}  // namespace latdisp
