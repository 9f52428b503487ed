#include "io/output_format.hpp"

#include "io/file_names.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

std::optional<OutputFormat> format_from_name(const std::string& path) {
  if (is_hdf5_name(path)) return OutputFormat::hdf5;
  if (is_safetensors_name(path)) return OutputFormat::safetensors;
  return std::nullopt;
}

OutputFormat output_format_of(const std::string& option, const std::string& path) {
  if (const std::optional<OutputFormat> format = format_from_name(path)) return *format;
  fail(kExitUsage, option + " '" + path + "': the format comes from the extension, .h5, .hdf5 or .safetensors");
}

const char* format_name(OutputFormat format) { return format == OutputFormat::hdf5 ? "hdf5" : "safetensors"; }

}  // namespace latdisp
