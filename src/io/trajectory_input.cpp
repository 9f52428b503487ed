#include "io/trajectory_input.hpp"

#include "io/shape_text.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

// "[steps, tokens, dims]".
std::string shape_text_of(const TrajectoryShape& shape) {
  return tensor_shape_text(std::vector<int64_t>{shape.steps, shape.tokens, shape.dims});
}

bool same_shape(const TrajectoryShape& a, const TrajectoryShape& b) {
  return a.steps == b.steps && a.tokens == b.tokens && a.dims == b.dims;
}

// Collective: a tensor beside W, opened the way W was and of W's shape.
std::unique_ptr<TrajectoryReader> open_companion(MPI_Comm comm, const TrajectoryInputSpec& spec,
                                                 const NamedTensor& tensor, const NamedTensor& w_tensor,
                                                 const TrajectoryShape& w_shape) {
  std::unique_ptr<TrajectoryReader> reader;
  try {
    reader = open_trajectory_source(comm, spec.path, tensor.name, SourceUse::trajectory, spec.request,
                                    spec.skip_incomplete);
  } catch (const Error& e) {
    throw Error(e.exit_code(), spec.reader_name + " needs " + tensor.role + " (" + tensor.option + " '" +
                                   tensor.name + "'): " + e.what());
  }
  if (!same_shape(reader->shape(), w_shape))
    fail(kExitInput, tensor.role + " '" + tensor.name + "' has shape " + shape_text_of(reader->shape()) + "; " +
                         w_tensor.role + " '" + w_tensor.name + "' has " + shape_text_of(w_shape) +
                         " (every tensor needs one snapshot per step of the same matrix)");
  return reader;
}

}  // namespace

TrajectoryInput open_trajectory_input(MPI_Comm comm, const TrajectoryInputSpec& spec,
                                      const std::vector<NamedTensor>& tensors) {
  if (tensors.empty()) fail(kExitUsage, "no tensor of '" + spec.path + "' was asked for");
  TrajectoryInput input;
  input.readers.push_back(open_trajectory(comm, spec.path, tensors[0].name, spec.dead_mask, input.dead_mask,
                                          input.dead_mask_found, spec.request, spec.skip_incomplete));
  const TrajectoryShape w_shape = input.w().shape();
  for (size_t i = 1; i < tensors.size(); ++i)
    input.readers.push_back(open_companion(comm, spec, tensors[i], tensors[0], w_shape));
  return input;
}

}  // namespace latdisp
