// Writing W (steps x tokens x dims, the raw bits of one element format) as a
// new HDF5 trajectory (docs/formats.md §1): the one writer of generate and
// pack. Each rank writes its token slab of each step block; every write,
// flush and close goes through Hdf5OutputFile, checked and agreed by all
// ranks. The file is written at a PendingOutput's temporary path and
// committed by the caller (io/output_file.hpp).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "io/hdf5_handles.hpp"
#include "io/hdf5_output_file.hpp"
#include "io/trajectory_shape.hpp"
#include "kokkos_kernels/formats/element_type.hpp"
#include "parallel/partition.hpp"

namespace latdisp {

// What the file holds besides W, created in this order after it.
struct TrajectoryFileLayout {
  std::string dataset = "W";      // W's name
  formats::ElementType type = formats::ElementType::bf16;
  TrajectoryShape shape;
  std::string dead_mask;          // the dead mask's name (h5py booleans, one per token); empty: none
  bool step_numbers = false;      // an int64 `steps` dataset of the training step numbers
};

class TrajectoryWriter {
 public:
  // Collective: creates `path` (truncated) with W in the element format's
  // storage and its dtype attribute, then the dead mask and the step
  // numbers as `layout` asks, and reserves their disk space.
  // Throws Error(kExitOutput) on every rank.
  TrajectoryWriter(MPI_Comm comm, const std::string& path, const TrajectoryFileLayout& layout);

  // Collective: this rank's slab of the dead mask (0/1 per token of `slab`).
  void write_dead_mask(const TokenRange& slab, const uint8_t* slab_mask);
  // Collective: the step numbers, written by rank 0 (the others select nothing).
  void write_step_numbers(const std::vector<int64_t>& numbers);
  // Collective: steps [first, first + count) of this rank's slab from `block`
  // (step-major, then token, then dim; the format's bytes per value).
  void write_steps(const TokenRange& slab, int64_t first, int64_t count, const void* block);
  // Collective: flushes (synced), closes the datasets, then the file.
  void close() { m_file.close(); }

 private:
  void create_datasets(const TrajectoryFileLayout& layout);

  MPI_Comm m_comm;
  TrajectoryFileLayout m_layout;
  Hdf5OutputFile m_file;
  Hdf5Handle m_value_type;
  Hdf5Handle m_bool_type;
  hid_t m_values = -1;
  hid_t m_mask = -1;
  hid_t m_steps = -1;
};

}  // namespace latdisp
