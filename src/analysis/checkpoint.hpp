// Checkpoint and restart of `analyze` (docs/operations.md §6,
// docs/formats.md §13). At step-block boundaries the
// reduction state of every rank is written to --checkpoint-dir (one file per
// rank, then a manifest written last by rank 0), at least every
// --checkpoint-seconds and when SIGUSR1/SIGTERM/SIGINT arrives; then the run
// exits 5. --resume restores the state and names the first step to read.
// The state itself is whatever the caller's save/load functions write: each
// piece serializes itself through the archive.
#pragma once

#include <mpi.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "analysis/analysis_result.hpp"
#include "config/analyze_config.hpp"
#include "io/checkpoint_archive.hpp"
#include "io/trajectory_reader.hpp"

namespace latdisp {

class DeferredSignalStops;

// What any command's checkpointed run is (analyze, optimizer): where and how
// often it checkpoints, and what its identity holds, so that a checkpoint of
// another command, input, option set or rank count is refused.
struct CheckpointSetup {
  std::string command = "analyze";  // in messages and the identity
  std::string directory;            // empty: no checkpoints
  double seconds = 300;
  bool resume = false;
  std::string input;                // as given on the command line
  std::vector<std::string> files;   // the input's files (a series: each checkpoint)
  std::string dataset;              // the tensor(s) read
  std::string element_type;
  int64_t steps = 0, tokens = 0, dims = 0;
  const std::vector<uint8_t>* dead_mask = nullptr;
  std::string options_json;  // the result-shaping options, a JSON object keyed by command-line names (OptionEcho)
};

class Checkpointer {
 public:
  using SaveState = std::function<void(ArchiveWriter&)>;
  // `next_step`: the first step not yet analyzed, as saved.
  using LoadState = std::function<void(ArchiveReader&, int64_t next_step)>;

  // Collective. Without --checkpoint-dir it does nothing. Else it prepares the
  // directory (created if missing), computes the run's identity (the input's
  // files, shape and dead mask, result-shaping options, rank count, version)
  // and defers stop
  // signals to the block boundaries until the final block. A run without
  // --resume refuses a directory that already holds a checkpoint. Throws Error.
  Checkpointer(const AnalyzeConfig& config, const TrajectoryReader& reader, const std::vector<uint8_t>& dead_mask,
               MPI_Comm comm);
  // The same for any command: the identity is the setup's.
  Checkpointer(const CheckpointSetup& setup, MPI_Comm comm);
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  bool enabled() const { return !m_directory.empty(); }

  // Collective, with --resume: refuses (exit 1, with the reason) a checkpoint
  // of another input, option set, rank count or version, or a damaged one;
  // else loads the state and returns the first step not yet analyzed.
  int64_t restore(const LoadState& load);

  // Collective, at a step-block boundary (`next_step`: the first step of the
  // next block; `final`: no block follows). Writes a checkpoint when one is
  // due or a stop signal arrived on any rank; after a signal throws
  // Error(kExitSignal) saying where the checkpoint is and how to resume.
  // After the final block, signals stop the run as without checkpoints.
  void at_block_boundary(int64_t next_step, bool final, const SaveState& save);

  // For the report; seconds spent writing checkpoints.
  const CheckpointSummary& summary() const { return m_summary; }
  double seconds() const { return m_seconds; }

 private:
  void write(int64_t next_step, const SaveState& save);
  void write_manifest(int64_t generation, int64_t next_step, const std::vector<uint64_t>& sizes_and_hashes);
  // Removes the generation the previous manifest named, if it is latdisp's own.
  void remove_replaced_generation(int64_t replaced) const;

  MPI_Comm m_comm;
  int m_rank = 0;
  int m_ranks = 1;
  std::string m_command;    // "analyze", "optimizer"
  std::string m_directory;  // empty: disabled
  double m_interval = 0;
  int64_t m_steps = 0;
  std::string m_identity;  // canonical JSON text, the same on every rank
  int64_t m_generation = 0;
  std::chrono::steady_clock::time_point m_last;
  CheckpointSummary m_summary;
  double m_seconds = 0;
  std::unique_ptr<DeferredSignalStops> m_deferred_stops;  // during the step blocks
};

// Collective: after a completed run (its report written) the checkpoint is of
// no more use; removes the manifest first, then the generation folder it
// names. Nothing else in the directory is touched: only regular files of
// this user that latdisp names, never through a symbolic link.
void remove_checkpoint(const std::string& directory, MPI_Comm comm);

// The manifest's path in a checkpoint directory.
std::string checkpoint_manifest_path(const std::string& directory);

}  // namespace latdisp
