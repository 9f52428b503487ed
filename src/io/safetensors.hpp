// The safetensors container: header parsing with full validation, bounded
// reads of a tensor's bytes, and building a header for writing.
// Format: 8-byte little-endian header length N, N bytes of JSON
// {"NAME": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {..}},
// then the data buffer; offsets are relative to the data buffer.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace latdisp {

struct SafetensorsTensor {
  std::string name;
  std::string dtype;  // "BF16", "U16", "I64", ...
  std::vector<int64_t> shape;
  int64_t begin = 0;  // absolute file offsets of the tensor's bytes
  int64_t end = 0;
  int64_t elements() const;
};

struct SafetensorsFile {
  std::string path;
  int64_t file_size = 0;
  int64_t data_start = 0;                  // 8 + header length
  std::vector<SafetensorsTensor> tensors;  // in data-offset order
  std::map<std::string, std::string> metadata;

  // nullptr if absent.
  const SafetensorsTensor* find(const std::string& name) const;
  // "A, B, C" (sorted), for error messages.
  std::string tensor_names() const;
};

// Bytes per element of a safetensors dtype; 0 if unknown.
int safetensors_dtype_size(const std::string& dtype);

// Largest header accepted (the format's own limit).
constexpr int64_t kMaxSafetensorsHeader = 100 * 1000 * 1000;

// Reads and validates the header: sane length within the file, JSON object,
// known dtypes, shape/offset consistency, offsets inside the data buffer,
// no overlapping tensors. Throws Error(kExitInput) naming the file and fault.
SafetensorsFile read_safetensors_header(const std::string& path);

// Same checks on a header already in memory (tests); `file_size` is the
// size of the whole file it came from.
SafetensorsFile parse_safetensors_header(const std::string& path, const std::string& json_text, int64_t file_size);

// pread of exactly `size` bytes at `offset`; throws Error(kExitInput) on a
// short read (never reads past the end silently).
void read_file_bytes(const std::string& path, int fd, int64_t offset, int64_t size, void* target);

// Builds the 8-byte length + JSON header (space-padded to a multiple of 8, or
// to exactly `padded_length` JSON bytes when given: room reserved before the
// tensors were written; Error(kExitOutput) if it does not fit) for tensors
// laid out back to back in the given order; returns the bytes and fills
// `absolute_offsets` with each tensor's absolute file offset.
struct SafetensorsEntry {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
};
std::string build_safetensors_header(const std::vector<SafetensorsEntry>& entries,
                                     const std::map<std::string, std::string>& metadata,
                                     std::vector<int64_t>* absolute_offsets, uint64_t padded_length = 0);

}  // namespace latdisp
