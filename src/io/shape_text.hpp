// Tensor shapes in error messages, written the way the user sees them
// elsewhere: as numpy prints an HDF5 dataset's shape, or as a safetensors
// header stores a tensor's.
#pragma once

#include <string>
#include <vector>

namespace latdisp {

namespace shape_text_detail {
template <typename Extent>
std::string joined(const std::vector<Extent>& shape) {
  std::string text;
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text;
}
}  // namespace shape_text_detail

// "(11, 1000, 64)", "(5,)".
template <typename Extent>
std::string shape_text(const std::vector<Extent>& shape) {
  return "(" + shape_text_detail::joined(shape) + (shape.size() == 1 ? ",)" : ")");
}

// "[11, 1000, 64]".
template <typename Extent>
std::string tensor_shape_text(const std::vector<Extent>& shape) {
  return "[" + shape_text_detail::joined(shape) + "]";
}

}  // namespace latdisp
