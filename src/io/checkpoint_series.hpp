// The checkpoint series: one checkpoint per step, each holding the matrix
// (tokens, dims) under one name. A series is a directory of checkpoints, a
// glob pattern, or a .txt manifest; a checkpoint is a .safetensors file, or a
// folder with model.safetensors or a sharded model.safetensors.index.json
// (only the shard its weight map names is opened). docs/formats.md §4.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/safetensors.hpp"
#include "io/trajectory_reader.hpp"

namespace latdisp {

// One checkpoint of a series as listed.
struct SeriesEntry {
  std::string path;   // a .safetensors file, an index .json, or a checkpoint folder
  int64_t step = -1;  // the training step number; -1 if unknown
};

// The value of the last run of decimal digits in `name`; false if it has none
// (or one too long for int64).
bool last_integer(const std::string& name, int64_t& value);

// A folder holding model.safetensors or model.safetensors.index.json.
bool is_checkpoint_folder(const std::string& path);

// A directory with at least one entry list_series_directory would take.
bool holds_numbered_checkpoints(const std::string& directory);

// The checkpoints of a directory: its *.safetensors files and checkpoint
// folders whose names carry a step number, ordered by it. Entries without a
// number (config files, the final model.safetensors) are not part of it;
// hidden entries neither. Throws Error(kExitInput) on two entries with one
// step number or a numbered folder that holds no checkpoint. Shards
// (model-00001-of-00002.safetensors) belong to their checkpoint, not here.
std::vector<SeriesEntry> list_series_directory(const std::string& directory);

// The paths matching a glob pattern, ordered by the last integer in their
// names (each must have one). Throws Error(kExitInput).
std::vector<SeriesEntry> list_series_glob(const std::string& pattern);

// The lines of a manifest: `[STEP ]PATH`, PATH relative to the manifest's
// folder; blank lines and lines starting with '#' are skipped. Without step
// numbers, the last integer of each name is the step when every name has
// one. Throws Error(kExitInput) naming the line of a path that does not exist.
std::vector<SeriesEntry> read_series_manifest(const std::string& manifest);

// Where checkpoint `checkpoint` keeps tensor `name`: the file (the shard an
// index names) and the tensor's header entry (absolute offsets).
struct CheckpointTensor {
  std::string file;
  SafetensorsTensor tensor;
  bool found = false;
};

// Reads the index and the one header it needs. A missing tensor throws when
// `required`, else returns found = false. Throws Error(kExitInput) naming the
// checkpoint on a bad index, a missing shard or an invalid header.
CheckpointTensor locate_checkpoint_tensor(const std::string& checkpoint, const std::string& name, bool required);

class SeriesTrajectory : public TrajectoryReader {
 public:
  enum class Listing { directory, glob, manifest, single_checkpoint };

  // Collective: rank 0 lists the series and checks every checkpoint's header
  // (one shape and dtype); every rank gets the list. Throws the same
  // Error(kExitInput) on every rank, naming the first checkpoint at fault.
  SeriesTrajectory(MPI_Comm comm, Listing listing, const std::string& path, const std::string& dataset, SourceUse use,
                   const ElementRequest& request = ElementRequest());

  std::string step_origin(int64_t step) const override;
  std::vector<std::string> source_files() const override;
  void read_rows(int64_t step, int64_t first_row, int64_t count, void* out) const override;
  std::vector<uint8_t> read_dead_mask(const std::string& name) const override;

 protected:
  void read_block(int64_t first_step, int64_t steps, int64_t first_token, int64_t tokens, void* out) const override;

 private:
  struct StepFile {
    std::string checkpoint;
    std::string file;
    int64_t offset = 0;  // of the matrix's element 0
  };
  void scan(Listing listing, SourceUse use, const ElementRequest& request);
  void broadcast();

  std::vector<StepFile> m_files;
};

}  // namespace latdisp
