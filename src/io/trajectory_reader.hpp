// Reading W (steps x tokens x dims, the raw bits of one element format) from any of the input
// formats (docs/formats.md §1-§7): one interface, one implementation per
// format (HDF5, a safetensors trajectory, a checkpoint series), chosen by
// what the path is. Each rank reads only its token slab of each step.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/element_recognition.hpp"
#include "io/input_path.hpp"
#include "io/trajectory_shape.hpp"
#include "parallel/partition.hpp"

namespace latdisp {

class TrajectoryReader {
 public:
  virtual ~TrajectoryReader() = default;
  TrajectoryReader(const TrajectoryReader&) = delete;
  TrajectoryReader& operator=(const TrajectoryReader&) = delete;

  // A 2-D matrix opened for the bit-level commands reads as one step.
  const TrajectoryShape& shape() const { return m_shape; }
  // The stored type: "uint16", "int16", "float32" (HDF5), "BF16", "U16", "F8_E4M3" (safetensors).
  const std::string& type_description() const { return m_type_description; }
  // The element format of W's values, and the bytes of one value.
  ElementType element_type() const { return m_element_type; }
  int element_bytes() const { return formats::element_bytes(m_element_type); }
  InputFormat format() const { return m_format; }
  // The training step number of each step when the input records them (a
  // series' names or manifest, a `steps` dataset or tensor); else empty.
  const std::vector<int64_t>& step_numbers() const { return m_step_numbers; }
  // Checkpoints of a series left out as incomplete (opened with skip_incomplete),
  // each "PATH: why"; else empty.
  const std::vector<std::string>& skipped() const { return m_skipped; }
  const std::string& path() const { return m_path; }
  const std::string& dataset() const { return m_dataset; }
  // 3 for a trajectory, 2 for a single matrix (a 2-D tensor or one checkpoint).
  int source_rank() const { return m_source_rank; }
  // Where step `step` comes from, for messages ("checkpoint 'ckpt-20'"); "" if
  // the format has no such name.
  virtual std::string step_origin(int64_t step) const;
  // The files W is read from, in step order without repeats: the input
  // itself, or a series' checkpoint files (what identifies the input to a
  // checkpoint of the analysis).
  virtual std::vector<std::string> source_files() const;
  // The byte offset in path() of W[0, 0, 0] when W lies there as one run of
  // little-endian values in C order (a contiguous HDF5 dataset, a
  // safetensors tensor), so that step blocks can be mapped instead of read
  // (io/step_mapping.hpp); nullopt otherwise (chunked storage, a series).
  virtual std::optional<uint64_t> contiguous_offset() const { return std::nullopt; }
  // The communicator the collective reads use.
  MPI_Comm comm() const { return m_comm; }

  // Collective: reads steps [first_step, first_step + step_count) of the token
  // slab `tokens` into `buffer` (step-major, then token, then dim). Every rank
  // must call it the same number of times; `max_slab_tokens` (the largest slab
  // of any rank) splits big reads identically on every rank; `buffer` gets
  // the raw values, element_bytes() each. Throws the same
  // Error(kExitInput) on every rank; a short read is an error, never zeros.
  void read_steps(const TokenRange& tokens, int64_t first_step, int64_t step_count, int64_t max_slab_tokens,
                  void* buffer) const;

  // Independent (any rank, alone): rows [first_row, first_row + count) of one
  // step. Throws Error(kExitInput) on this rank only.
  virtual void read_rows(int64_t step, int64_t first_row, int64_t count, void* out) const = 0;

  // Collective. The dead mask stored in this input under `name` as 0/1 per
  // token; empty if there is none (the caller warns). Throws on a wrong
  // shape, type or value.
  virtual std::vector<uint8_t> read_dead_mask(const std::string& name) const = 0;

 protected:
  TrajectoryReader(MPI_Comm comm, const std::string& path, const std::string& dataset, InputFormat format)
      : m_comm(comm), m_path(path), m_dataset(dataset), m_format(format) {}

  // Takes a 3-D `extent` as the shape or, when opened as a `matrix`, a 2-D one
  // as a single step; else throws Error(kExitInput) "WHAT has shape SHAPE;
  // expected ..." (`trajectory_hint` appended when a trajectory was expected).
  void adopt_shape(const std::vector<int64_t>& extent, bool matrix, const std::string& what, const std::string& shape,
                   const std::string& trajectory_hint = "");

  // Collective: one transfer of at most a gigabyte per rank: steps
  // [first_step, first_step + steps) x tokens [first_token, first_token +
  // tokens) x all dims, C order; `tokens` may be 0 on some ranks.
  virtual void read_block(int64_t first_step, int64_t steps, int64_t first_token, int64_t tokens,
                          void* out) const = 0;

  MPI_Comm m_comm;
  std::string m_path;
  std::string m_dataset;
  InputFormat m_format;
  TrajectoryShape m_shape;
  std::string m_type_description;
  ElementType m_element_type = ElementType::bf16;
  std::vector<int64_t> m_step_numbers;
  std::vector<std::string> m_skipped;
  int m_source_rank = 3;
};

// What the input is opened for: a whole trajectory (analyze, save, pack), or
// one matrix or one step of a trajectory (inspect, separation, blackholes).
enum class SourceUse { trajectory, matrix };

// Collective: picks the reader from what `path` is (HDF5 signature,
// safetensors file, directory, glob pattern, .txt manifest) and opens
// `dataset` in it; checks shape and type but not the step count; the
// element type as `request` allows (docs/formats.md §19).
// Throws the same Error(kExitInput) on every rank.
// `skip_incomplete`: a series leaves out the checkpoints that are not complete
// yet (docs/formats.md §4) instead of refusing the input.
std::unique_ptr<TrajectoryReader> open_trajectory_source(MPI_Comm comm, const std::string& path,
                                                         const std::string& dataset, SourceUse use,
                                                         const ElementRequest& request = ElementRequest(),
                                                         bool skip_incomplete = false);

// Collective: opens W (at least 2 steps) and reads its dead mask. `dead_mask_spec`
// is a name inside the input or FILE:NAME in another safetensors or HDF5
// file; `dead_mask` is all live (0) when there is none (`dead_mask_found`
// false). Throws the same Error on every rank.
std::unique_ptr<TrajectoryReader> open_trajectory(MPI_Comm comm, const std::string& path, const std::string& dataset,
                                                  const std::string& dead_mask_spec, std::vector<uint8_t>& dead_mask,
                                                  bool& dead_mask_found,
                                                  const ElementRequest& request = ElementRequest(),
                                                  bool skip_incomplete = false);

// --dead-mask: NAME inside the input, or FILE:NAME in another safetensors or
// HDF5 file (the last colon splits them).
struct DeadMaskSpec {
  std::string file;        // empty: the input's own (or a FILE part left empty)
  std::string name;        // the whole spec when it has no colon
  bool has_colon = false;  // FILE:NAME was meant, even with a part left empty
  // FILE:NAME with both parts, or a NAME alone.
  bool well_formed() const { return !has_colon || (!file.empty() && !name.empty()); }
};

// The one split of a --dead-mask spec; never throws (open_trajectory refuses
// a spec that is not well formed).
DeadMaskSpec split_dead_mask_spec(const std::string& spec);

// The files a command reads: `input`, and the dead mask's own file if the
// spec names one (so that no output overwrites either).
std::vector<std::string> input_files_of(const std::string& input, const std::string& dead_mask_spec);

// The warning for a dead mask that was not found ("no dead mask 'NAME' in 'FILE'").
std::string missing_dead_mask_text(const std::string& input, const std::string& dead_mask_spec);

// For the readers: throws Error(kExitInput) unless every value is 0 or 1.
void require_mask_values(const std::vector<uint8_t>& mask, const std::string& what);

}  // namespace latdisp
