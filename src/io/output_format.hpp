// The format of an output file, chosen by its extension (docs/formats.md).
#pragma once

#include <string>

namespace latdisp {

enum class OutputFormat { hdf5, safetensors };

// .h5 / .hdf5 -> hdf5, .safetensors -> safetensors. Throws Error(kExitUsage)
// naming `option` for any other name.
OutputFormat output_format_of(const std::string& option, const std::string& path);

// Throws Error(kExitUsage) unless `path` names a known output format.
void require_output_format(const std::string& option, const std::string& path);

// "hdf5" or "safetensors", as the reports print it.
const char* format_name(OutputFormat format);

}  // namespace latdisp
