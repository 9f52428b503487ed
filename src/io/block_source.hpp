// How a step block reaches the kernel: what --read-method asks for and what
// the plan decides (docs/operations.md, "Mapped step blocks").
#pragma once

namespace latdisp {

// --read-method, parsed once (config/kernel_settings.hpp: parse_read_method).
enum class ReadMethod {
  automatic,  // auto: mapped where W and the kernel's memory allow, else read
  read,       // always copied into buffers
  map,        // mapped, or a usage error where it cannot be
};

enum class BlockSource {
  read,    // copied into the stream's buffers
  mapped,  // mapped from the file in place (the reader has a contiguous_offset)
  direct,  // read (pread) a few steps at a time, as the kernel takes them (likewise)
};

// As the report names it (run.read_method): "map", "read" or "direct".
inline const char* block_source_name(BlockSource source) {
  return source == BlockSource::mapped ? "map" : source == BlockSource::direct ? "direct" : "read";
}

}  // namespace latdisp
