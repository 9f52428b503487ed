// A tensor shape as Python prints it, for error messages: "(3, 4)", "(7,)".
#pragma once

#include <string>
#include <vector>

namespace latdisp {

template <typename Extent>
std::string shape_text(const std::vector<Extent>& shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

}  // namespace latdisp
