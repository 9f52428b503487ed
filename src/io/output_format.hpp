// The format of an output file, chosen by its extension (docs/formats.md).
#pragma once

#include <optional>
#include <string>

namespace latdisp {

enum class OutputFormat { hdf5, safetensors };

// The one place a name's extension picks a format: .h5 / .hdf5 -> hdf5,
// .safetensors -> safetensors; nothing for any other name.
std::optional<OutputFormat> format_from_name(const std::string& path);

// format_from_name, or Error(kExitUsage) naming `option` for any other name.
OutputFormat output_format_of(const std::string& option, const std::string& path);

// "hdf5" or "safetensors", as the reports print it.
const char* format_name(OutputFormat format);

}  // namespace latdisp
