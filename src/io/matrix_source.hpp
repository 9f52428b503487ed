// A 2-D matrix (tokens x dims) of one element format for the bit-level commands, given as
// FILE[:NAME][@STEP]: a 2-D safetensors tensor or HDF5 dataset, one
// checkpoint, or one step of any trajectory input (HDF5, safetensors,
// series), read through the trajectory readers; each rank reads only its rows.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/hdf5_input.hpp"
#include "io/input_path.hpp"
#include "io/trajectory_reader.hpp"

namespace latdisp {

struct MatrixLocation {
  std::string path;
  std::string name;   // tensor / dataset name
  int64_t step = -1;  // -1: none given (the source must be 2-D)
};

// Parses FILE[:NAME][@STEP]; NAME defaults to `default_name`. Only a ':' or
// '@' after the last '/' counts, so directories may contain them. Throws
// Error(kExitUsage) on a malformed step.
MatrixLocation parse_matrix_location(const std::string& text, const std::string& default_name = "W");

class MatrixSource {
 public:
  // Collective over `comm`: opens and validates (type, rank, step); every
  // rank throws the same Error(kExitInput) on bad input.
  MatrixSource(MPI_Comm comm, const std::string& location_text, const ElementRequest& request = ElementRequest());
  ~MatrixSource();
  MatrixSource(const MatrixSource&) = delete;
  MatrixSource& operator=(const MatrixSource&) = delete;

  int64_t rows() const { return m_rows; }
  int64_t cols() const { return m_cols; }
  const MatrixLocation& location() const { return m_location; }
  // e.g. "M.safetensors:W (BF16, 151936 x 2560)".
  const std::string& description() const { return m_description; }
  InputFormat format() const { return m_format; }
  ElementType element_type() const { return m_reader->element_type(); }
  int element_bytes() const { return m_reader->element_bytes(); }

  // Collective: rows [begin, begin + count) of this rank (count may be 0),
  // C order into `out` (count * cols values of element_bytes() each). Throws the same Error on all ranks.
  void read_slab(int64_t begin, int64_t count, void* out) const;
  // Independent (any rank, any rows): the given rows, in the given order,
  // runs of consecutive ids read at once. Throws Error(kExitInput) on this rank only.
  void read_rows(const std::vector<int64_t>& tokens, void* out) const;

 private:
  void choose_step();

  std::unique_ptr<TrajectoryReader> m_reader;
  MPI_Comm m_comm;
  MatrixLocation m_location;
  InputFormat m_format = InputFormat::safetensors;
  std::string m_description;
  int64_t m_step = 0;  // of the reader
  int64_t m_rows = 0;
  int64_t m_cols = 0;
};

}  // namespace latdisp
