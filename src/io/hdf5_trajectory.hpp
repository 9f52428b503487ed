// The HDF5 input: W as a dataset (steps, tokens, dims) of one element format
// (16-bit integers of bf16 bits, IEEE float16/float32, 8-bit integers with a
// declared FP8 format; docs/formats.md §19), read by
// collective hyperslabs over the ranks' token slabs.
#pragma once

#include "io/hdf5_handles.hpp"
#include "io/trajectory_reader.hpp"

namespace latdisp {

class Hdf5Trajectory : public TrajectoryReader {
 public:
  // Collective. Throws Error(kExitInput) naming what was found and expected.
  Hdf5Trajectory(MPI_Comm comm, const std::string& path, const std::string& dataset, SourceUse use,
                 const ElementRequest& request = ElementRequest());

  void read_rows(int64_t step, int64_t first_row, int64_t count, void* out) const override;
  std::vector<uint8_t> read_dead_mask(const std::string& name) const override;
  std::optional<uint64_t> contiguous_offset() const override;

 protected:
  void read_block(int64_t first_step, int64_t steps, int64_t first_token, int64_t tokens, void* out) const override;

 private:
  void recognize_type(const std::string& what, const ElementRequest& request);
  void read_step_numbers();
  std::vector<hsize_t> box_start(int64_t step, int64_t token) const;
  std::vector<hsize_t> box_count(int64_t steps, int64_t tokens) const;

  Hdf5Handle m_file;
  Hdf5Handle m_values;
  Hdf5Handle m_memory_type;
};

// Collective: the dead mask `name` of an open HDF5 file (bool enum, uint8 or
// int8; shape (tokens,); 0/1), empty if absent. `tensor_of` names W in messages.
std::vector<uint8_t> read_hdf5_mask(hid_t file, const std::string& path, const std::string& name, int64_t tokens,
                                    const std::string& tensor_of);

}  // namespace latdisp
