#include "io/trajectory_reader.hpp"

#include <algorithm>

#include "io/checkpoint_series.hpp"
#include "io/file_names.hpp"
#include "io/hdf5_input.hpp"
#include "io/hdf5_trajectory.hpp"
#include "io/input_path.hpp"
#include "io/output_format.hpp"
#include "io/safetensors_input.hpp"
#include "io/safetensors_trajectory.hpp"
#include "io/transfer_limits.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

enum class InputKind : int { hdf5, safetensors, directory, glob, manifest, checkpoint };

bool has_glob_characters(const std::string& path) { return path.find_first_of("*?[") != std::string::npos; }

// What the path is, from a stat and the first bytes; refuses what can be
// nothing (a FIFO, a device, a missing path).
InputKind classify_input(const std::string& path, SourceUse use) {
  const std::string role = use == SourceUse::matrix ? "matrix" : "input";
  const PathKind kind = path_kind(path);
  if (kind == PathKind::missing) {
    if (has_glob_characters(path)) return InputKind::glob;
    fail(kExitInput, role + " '" + path + "' does not exist");
  }
  if (kind == PathKind::other)
    fail(kExitInput,
         role + " '" + path + "' is " + path_kind_text(path) + ", not a regular file or a directory of checkpoints");
  if (kind == PathKind::directory) {
    if (format_from_name(path)) fail(kExitInput, role + " '" + path + "' is a directory, not a file");
    // An output folder may hold the final model beside its numbered checkpoints.
    if (!is_checkpoint_folder(path) || holds_numbered_checkpoints(path)) return InputKind::directory;
    if (use == SourceUse::matrix) return InputKind::checkpoint;
    fail(kExitInput, "input '" + path +
                         "' is a single checkpoint; a series needs one checkpoint per step: give the folder that "
                         "holds them, a glob pattern or a manifest");
  }
  require_readable_file(path, role + " file");
  if (is_hdf5_file(path)) return InputKind::hdf5;
  if (has_suffix(path, ".txt")) return InputKind::manifest;
  if (has_suffix(path, ".index.json")) {
    if (use == SourceUse::matrix) return InputKind::checkpoint;
    fail(kExitInput,
         "input '" + path + "' is the index of a single checkpoint; a series needs one checkpoint per step");
  }
  if (format_from_name(path) == OutputFormat::safetensors || looks_like_safetensors(path))
    return InputKind::safetensors;
  return InputKind::hdf5;  // HDF5's own message says what is wrong with it
}

std::string steps_text(const TrajectoryReader& reader) {
  if (reader.format() == InputFormat::series)
    return "series '" + reader.path() + "' has " + std::to_string(reader.shape().steps) + " checkpoint(s)";
  return (reader.format() == InputFormat::hdf5 ? "dataset '" : "tensor '") + reader.dataset() + "' has " +
         std::to_string(reader.shape().steps) + " step(s)";
}

std::vector<uint8_t> read_mask_file(MPI_Comm comm, const std::string& file, const std::string& name,
                                    const TrajectoryReader& reader) {
  bool hdf5 = false;
  collectively(comm, [&] {
    require_readable_file(file, "dead-mask file");
    hdf5 = is_hdf5_file(file);
  });
  const std::string tensor_of = "'" + reader.dataset() + "' in '" + reader.path() + "'";
  if (!hdf5) {
    const SafetensorsFile header = broadcast_safetensors_header(comm, file, "dead-mask file");
    return read_safetensors_mask(comm, header, name, reader.shape().tokens, tensor_of);
  }
  std::vector<uint8_t> mask;
  collectively(comm, [&] {
    const Hdf5Handle handle = open_hdf5_input(comm, file, "dead-mask file");
    mask = read_hdf5_mask(handle.get(), file, name, reader.shape().tokens, tensor_of);
  });
  return mask;
}

}  // namespace

std::string TrajectoryReader::step_origin(int64_t) const { return ""; }

void TrajectoryReader::adopt_shape(const std::vector<int64_t>& extent, bool matrix, const std::string& what,
                                   const std::string& shape, const std::string& trajectory_hint) {
  if (extent.size() == 3) {
    m_shape = {extent[0], extent[1], extent[2]};
  } else if (extent.size() == 2 && matrix) {
    m_shape = {1, extent[0], extent[1]};
    m_source_rank = 2;
  } else {
    fail(kExitInput, what + " has shape " + shape +
                         (matrix ? "; expected 2 dimensions (tokens, dims), or 3 with @STEP"
                                 : "; expected 3 dimensions (steps, tokens, dims)" + trajectory_hint));
  }
}

std::vector<std::string> TrajectoryReader::source_files() const { return {m_path}; }

void TrajectoryReader::read_steps(const TokenRange& tokens, int64_t first_step, int64_t step_count,
                                  int64_t max_slab_tokens, void* values) const {
  char* buffer = static_cast<char*>(values);
  const int64_t value_bytes = element_bytes();
  const int64_t row_bytes = m_shape.dims * value_bytes;
  const int64_t step_bytes = std::max<int64_t>(1, max_slab_tokens * row_bytes);
  const int64_t step_bytes_here = tokens.count * row_bytes;
  if (step_bytes <= kMaxTransferBytes) {
    const int64_t steps_per_transfer = kMaxTransferBytes / step_bytes;
    for (int64_t done = 0; done < step_count; done += steps_per_transfer) {
      const int64_t count = std::min(steps_per_transfer, step_count - done);
      read_block(first_step + done, count, tokens.begin, tokens.count, buffer + done * step_bytes_here);
    }
    return;
  }
  // A step slab over the limit: split its rows, the same number of pieces on every rank.
  const int64_t rows_per_transfer = std::max<int64_t>(1, kMaxTransferBytes / row_bytes);
  for (int64_t s = 0; s < step_count; ++s)
    for (int64_t row = 0; row < max_slab_tokens; row += rows_per_transfer) {
      const int64_t count = std::max<int64_t>(0, std::min(rows_per_transfer, tokens.count - row));
      read_block(first_step + s, 1, tokens.begin + std::min(row, tokens.count), count,
                 buffer + s * step_bytes_here + std::min(row, tokens.count) * row_bytes);
    }
}

std::unique_ptr<TrajectoryReader> open_trajectory_source(MPI_Comm comm, const std::string& path,
                                                         const std::string& dataset, SourceUse use,
                                                         const ElementRequest& request, bool skip_incomplete) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  int kind = 0;
  collectively(comm, [&] {
    if (rank == 0) kind = static_cast<int>(classify_input(path, use));
  });
  MPI_Bcast(&kind, 1, MPI_INT, 0, comm);
  std::unique_ptr<TrajectoryReader> reader;
  using Listing = SeriesTrajectory::Listing;
  collectively(comm, [&] {
    switch (static_cast<InputKind>(kind)) {
      case InputKind::hdf5:
        reader = std::make_unique<Hdf5Trajectory>(comm, path, dataset, use, request);
        break;
      case InputKind::safetensors:
        reader = std::make_unique<SafetensorsTrajectory>(comm, path, dataset, use, request);
        break;
      case InputKind::directory:
        reader = std::make_unique<SeriesTrajectory>(comm, Listing::directory, path, dataset, use, request,
                                                    skip_incomplete);
        break;
      case InputKind::glob:
        reader = std::make_unique<SeriesTrajectory>(comm, Listing::glob, path, dataset, use, request, skip_incomplete);
        break;
      case InputKind::manifest:
        reader =
            std::make_unique<SeriesTrajectory>(comm, Listing::manifest, path, dataset, use, request, skip_incomplete);
        break;
      case InputKind::checkpoint:
        reader = std::make_unique<SeriesTrajectory>(comm, Listing::single_checkpoint, path, dataset, use, request);
        break;
    }
    require_requested_format(reader->element_type(), "'" + dataset + "' in '" + path + "'",
                             (reader->format() == InputFormat::hdf5 ? "type " : "dtype ") + reader->type_description(),
                             request);
  });
  return reader;
}

std::unique_ptr<TrajectoryReader> open_trajectory(MPI_Comm comm, const std::string& path, const std::string& dataset,
                                                  const std::string& dead_mask_spec, std::vector<uint8_t>& dead_mask,
                                                  bool& dead_mask_found, const ElementRequest& request,
                                                  bool skip_incomplete) {
  std::unique_ptr<TrajectoryReader> reader =
      open_trajectory_source(comm, path, dataset, SourceUse::trajectory, request, skip_incomplete);
  if (reader->shape().steps < 2)
    fail(kExitInput, steps_text(*reader) + "; at least 2 steps are needed for a displacement");
  const DeadMaskSpec mask = split_dead_mask_spec(dead_mask_spec);
  if (!mask.well_formed()) fail(kExitUsage, "--dead-mask '" + dead_mask_spec + "': expected NAME or FILE:NAME");
  if (mask.file.empty()) {
    collectively(comm, [&] { dead_mask = reader->read_dead_mask(mask.name); });
  } else {
    dead_mask = read_mask_file(comm, mask.file, mask.name, *reader);
  }
  dead_mask_found = !dead_mask.empty();
  if (!dead_mask_found) dead_mask.assign(static_cast<size_t>(reader->shape().tokens), 0);
  return reader;
}

DeadMaskSpec split_dead_mask_spec(const std::string& spec) {
  DeadMaskSpec mask;
  const size_t colon = spec.rfind(':');
  mask.has_colon = colon != std::string::npos;
  mask.file = mask.has_colon ? spec.substr(0, colon) : "";
  mask.name = mask.has_colon ? spec.substr(colon + 1) : spec;
  return mask;
}

std::vector<std::string> input_files_of(const std::string& input, const std::string& dead_mask_spec) {
  std::vector<std::string> files{input};
  const DeadMaskSpec mask = split_dead_mask_spec(dead_mask_spec);
  if (!mask.file.empty()) files.push_back(mask.file);
  return files;
}

std::string missing_dead_mask_text(const std::string& input, const std::string& dead_mask_spec) {
  const DeadMaskSpec mask = split_dead_mask_spec(dead_mask_spec);
  return "no dead mask '" + mask.name + "' in '" + (mask.has_colon ? mask.file : input) + "'";
}

void require_mask_values(const std::vector<uint8_t>& mask, const std::string& what) {
  for (size_t i = 0; i < mask.size(); ++i)
    if (mask[i] > 1)
      fail(kExitInput, what + " holds " + std::to_string(static_cast<int>(static_cast<int8_t>(mask[i]))) +
                           " at token " + std::to_string(i) + "; expected only 0/1 (false/true)");
}

}  // namespace latdisp
