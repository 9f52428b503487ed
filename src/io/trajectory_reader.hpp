// Reading W (steps x tokens x dims, raw bfloat16 bits) and dead_mask with
// parallel HDF5: each rank reads only its token slab, collectively.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/hdf5_handles.hpp"
#include "io/trajectory_shape.hpp"
#include "parallel/partition.hpp"

namespace latdisp {

class TrajectoryReader {
 public:
  // Collective. Throws Error(kExitInput) naming what was found and expected.
  TrajectoryReader(MPI_Comm comm, const std::string& path, const std::string& dataset);

  const TrajectoryShape& shape() const { return m_shape; }
  const std::string& type_description() const { return m_type_description; }

  // Collective: reads steps [first_step, first_step + step_count) of the token
  // slab `tokens` into `buffer` (step-major, then token, then dim). Every rank
  // must call it the same number of times; `max_slab_tokens` (the largest slab
  // of any rank) splits big reads identically on every rank.
  void read_steps(const TokenRange& tokens, int64_t first_step, int64_t step_count, int64_t max_slab_tokens,
                  uint16_t* buffer) const;

  // Collective. The dead mask as 0/1 per token; empty if the dataset does
  // not exist (the caller warns). Throws on a wrong shape, type or value.
  std::vector<uint8_t> read_dead_mask(const std::string& name) const;

 private:
  MPI_Comm m_comm;
  std::string m_path;
  std::string m_dataset_name;
  Hdf5Handle m_file;
  Hdf5Handle m_dataset;
  Hdf5Handle m_memory_type;
  TrajectoryShape m_shape;
  std::string m_type_description;
};

// Collective: opens W and reads its dead mask; `dead_mask` is all live (0)
// when the file has none (`dead_mask_found` false). Throws the same Error on
// every rank.
std::unique_ptr<TrajectoryReader> open_trajectory(MPI_Comm comm, const std::string& path, const std::string& dataset,
                                                  const std::string& dead_mask_name, std::vector<uint8_t>& dead_mask,
                                                  bool& dead_mask_found);

}  // namespace latdisp
