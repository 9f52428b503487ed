// The safetensors trajectory: W as one tensor (steps, tokens, dims) of one
// element format (BF16, F16, F32, F8_E4M3, F8_E5M2, or U16/I16 bits) among
// other tensors of one file. A rank's slab of a step
// block is strided in the file: one subarray view, one collective read.
#pragma once

#include <memory>

#include "io/mpi_input_file.hpp"
#include "io/safetensors.hpp"
#include "io/trajectory_reader.hpp"

namespace latdisp {

class SafetensorsTrajectory : public TrajectoryReader {
 public:
  // Collective. Throws Error(kExitInput) naming what was found and expected.
  SafetensorsTrajectory(MPI_Comm comm, const std::string& path, const std::string& dataset, SourceUse use,
                        const ElementRequest& request = ElementRequest());

  void read_rows(int64_t step, int64_t first_row, int64_t count, void* out) const override;
  std::vector<uint8_t> read_dead_mask(const std::string& name) const override;
  std::optional<uint64_t> contiguous_offset() const override;

 protected:
  void read_block(int64_t first_step, int64_t steps, int64_t first_token, int64_t tokens, void* out) const override;

 private:
  SafetensorsFile m_header;
  int64_t m_first_byte = 0;  // of W's element 0
  std::unique_ptr<MpiInputFile> m_file;
};

}  // namespace latdisp
