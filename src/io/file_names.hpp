// File names: suffixes (the format they select: io/output_format.hpp).
#pragma once

#include <string>

namespace latdisp {

inline bool has_suffix(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

inline bool is_safetensors_name(const std::string& path) { return has_suffix(path, ".safetensors"); }
inline bool is_hdf5_name(const std::string& path) { return has_suffix(path, ".h5") || has_suffix(path, ".hdf5"); }

}  // namespace latdisp
