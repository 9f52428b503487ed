#include "io/matrix_source.hpp"

#include <algorithm>

#include "io/transfer_limits.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

std::string source_text(const TrajectoryReader& reader) {
  const std::string name = "'" + reader.dataset() + "'";
  if (reader.format() == InputFormat::series)
    return "series '" + reader.path() + "' of " + std::to_string(reader.shape().steps) + " checkpoints of " + name;
  return (reader.format() == InputFormat::hdf5 ? "dataset " : "tensor ") + name + " in '" + reader.path() + "'";
}

}  // namespace

MatrixLocation parse_matrix_location(const std::string& text, const std::string& default_name) {
  MatrixLocation location;
  const size_t slash = text.rfind('/');
  const size_t tail = slash == std::string::npos ? 0 : slash + 1;
  std::string rest = text;
  const size_t at = rest.find('@', tail);
  if (at != std::string::npos) {
    const std::string step = rest.substr(at + 1);
    if (step.empty() || step.find_first_not_of("0123456789") != std::string::npos || step.size() > 18)
      fail(kExitUsage, "'" + text + "': the step after '@' must be a non-negative integer, not '" + step + "'");
    location.step = std::stoll(step);
    rest = rest.substr(0, at);
  }
  const size_t colon = rest.find(':', tail);
  if (colon != std::string::npos) {
    location.name = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    if (location.name.empty()) fail(kExitUsage, "'" + text + "': empty tensor name after ':'");
  } else {
    location.name = default_name;
  }
  if (rest.empty()) fail(kExitUsage, "'" + text + "': no file name");
  location.path = rest;
  return location;
}

MatrixSource::MatrixSource(MPI_Comm comm, const std::string& location_text, const ElementRequest& request)
    : m_comm(comm) {
  collectively(comm, [&] { m_location = parse_matrix_location(location_text); });
  m_reader = open_trajectory_source(comm, m_location.path, m_location.name, SourceUse::matrix, request);
  collectively(comm, [&] { choose_step(); });
}

MatrixSource::~MatrixSource() = default;

void MatrixSource::choose_step() {
  const TrajectoryReader& reader = *m_reader;
  const TrajectoryShape& shape = reader.shape();
  const std::string what = source_text(reader);
  const int64_t step = m_location.step;
  const std::string matrix_shape = std::to_string(shape.tokens) + ", " + std::to_string(shape.dims);
  if (reader.source_rank() == 3) {
    if (step < 0)
      fail(kExitInput, what + " has shape (" + std::to_string(shape.steps) + ", " + matrix_shape +
                           ") (steps, tokens, dims); choose one step as FILE:" + m_location.name + "@STEP");
    if (step >= shape.steps)
      fail(kExitInput, "step " + std::to_string(step) + " is out of range: " + what + " has " +
                           std::to_string(shape.steps) + " steps");
    m_step = step;
  } else if (step >= 0) {
    fail(kExitInput, what + " is 2-D (" + matrix_shape + "); '@" + std::to_string(step) +
                         "' needs a 3-D (steps, tokens, dims) source or a series");
  }
  m_rows = shape.tokens;
  m_cols = shape.dims;
  m_format = reader.format();
  std::string origin = reader.source_rank() == 3 ? reader.step_origin(m_step) : "";
  if (!reader.step_numbers().empty() && reader.source_rank() == 3)
    origin += (origin.empty() ? "" : ", ") + std::string("training step ") +
              std::to_string(reader.step_numbers()[static_cast<size_t>(m_step)]);
  m_description = m_location.path + ":" + m_location.name + (step >= 0 ? "@" + std::to_string(step) : "") + " (" +
                  reader.type_description() + ", " + std::to_string(m_rows) + " x " + std::to_string(m_cols) +
                  (origin.empty() ? "" : "; " + origin) + ")";
}

void MatrixSource::read_slab(int64_t begin, int64_t count, void* out) const {
  int64_t most = 0;
  MPI_Allreduce(&count, &most, 1, MPI_INT64_T, MPI_MAX, m_comm);
  if (most == 0) return;
  m_reader->read_steps(TokenRange{begin, count}, m_step, 1, most, out);
}

void MatrixSource::read_rows(const std::vector<int64_t>& tokens, void* values) const {
  char* out = static_cast<char*>(values);
  const int64_t row_bytes = m_cols * element_bytes();
  const int64_t max_run = std::max<int64_t>(1, kMaxTransferBytes / row_bytes);
  size_t i = 0;
  while (i < tokens.size()) {
    size_t j = i + 1;
    while (j < tokens.size() && tokens[j] == tokens[j - 1] + 1 && static_cast<int64_t>(j - i) < max_run) ++j;
    if (tokens[i] < 0 || tokens[j - 1] >= m_rows)
      fail(kExitInput, "token id " + std::to_string(tokens[i] < 0 ? tokens[i] : tokens[j - 1]) +
                           " is out of range: " + m_description + " has " + std::to_string(m_rows) + " rows");
    m_reader->read_rows(m_step, tokens[i], static_cast<int64_t>(j - i), out + static_cast<int64_t>(i) * row_bytes);
    i = j;
  }
}

}  // namespace latdisp
