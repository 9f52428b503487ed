#include "io/safetensors_trajectory.hpp"

#include "io/safetensors_input.hpp"
#include "io/shape_text.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

// The tensor of training step numbers a trajectory file may carry.
const char* const kStepsTensor = "steps";

}  // namespace

SafetensorsTrajectory::SafetensorsTrajectory(MPI_Comm comm, const std::string& path, const std::string& dataset,
                                             SourceUse use, const ElementRequest& request)
    : TrajectoryReader(comm, path, dataset, InputFormat::safetensors) {
  const bool matrix = use == SourceUse::matrix;
  m_header = broadcast_safetensors_header(comm, path, matrix ? "matrix file" : "input file");
  const SafetensorsTensor* tensor = m_header.find(dataset);
  if (!tensor)
    fail(kExitInput, "'" + path + "' has no tensor '" + dataset + "' (tensors present: " + tensor_names_text(m_header) +
                         (matrix ? "; name one as FILE:TENSOR)" : "; use --dataset to name it)"));
  const std::string what = "tensor '" + dataset + "' in '" + path + "'";
  m_element_type = safetensors_element_type(tensor->dtype, what, request);
  m_type_description = tensor->dtype;
  const std::vector<int64_t>& shape = tensor->shape;
  adopt_shape(shape, matrix, what, tensor_shape_text(shape),
              "; one matrix per checkpoint is a series: give the folder of checkpoints, a glob or a manifest");
  if (m_shape.tokens < 1 || m_shape.dims < 1 || m_shape.steps < 1)
    fail(kExitInput, what + " has shape " + tensor_shape_text(shape) + "; it holds no coordinates");
  m_first_byte = tensor->begin;
  m_file = std::make_unique<MpiInputFile>(comm, path);
  if (m_source_rank == 3 && dataset != kStepsTensor)
    m_step_numbers = read_safetensors_steps(comm, m_header, kStepsTensor, m_shape.steps);
}

void SafetensorsTrajectory::read_block(int64_t first_step, int64_t steps, int64_t first_token, int64_t tokens,
                                       void* out) const {
  m_file->read_box(m_first_byte, {m_shape.steps, m_shape.tokens, m_shape.dims}, {first_step, first_token, 0},
                   {steps, tokens, m_shape.dims}, element_bytes(), out,
                   "steps " + std::to_string(first_step) + ".." + std::to_string(first_step + steps - 1) + " of '" +
                       m_dataset + "'");
}

void SafetensorsTrajectory::read_rows(int64_t step, int64_t first_row, int64_t count, void* out) const {
  const int64_t row_bytes = m_shape.dims * element_bytes();
  read_file_range(m_path, m_first_byte + (step * m_shape.tokens + first_row) * row_bytes, count * row_bytes, out);
}

// safetensors stores little-endian values in C order; a mapping needs the
// host to be little-endian too, and values aligned to their size.
std::optional<uint64_t> SafetensorsTrajectory::contiguous_offset() const {
  const uint16_t one = 1;
  const bool little_endian_host = *reinterpret_cast<const uint8_t*>(&one) == 1;
  if (!little_endian_host || m_first_byte % element_bytes() != 0) return std::nullopt;
  return static_cast<uint64_t>(m_first_byte);
}

std::vector<uint8_t> SafetensorsTrajectory::read_dead_mask(const std::string& name) const {
  return read_safetensors_mask(m_comm, m_header, name, m_shape.tokens, "'" + m_dataset + "'");
}

}  // namespace latdisp
