#include "io/safetensors.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "io/shape_text.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  fail(kExitInput, "'" + path + "' is not a valid safetensors file: " + what);
}

// A JSON number that is a non-negative integer (int64), else -1.
int64_t non_negative_integer(const nlohmann::json& value) {
  if (value.is_number_unsigned()) {
    const uint64_t v = value.get<uint64_t>();
    return v > static_cast<uint64_t>(INT64_MAX) ? -1 : static_cast<int64_t>(v);
  }
  if (value.is_number_integer()) {
    const int64_t v = value.get<int64_t>();
    return v < 0 ? -1 : v;
  }
  return -1;
}

}  // namespace

int64_t SafetensorsTensor::elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

const SafetensorsTensor* SafetensorsFile::find(const std::string& name) const {
  for (const SafetensorsTensor& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

std::string SafetensorsFile::tensor_names() const {
  std::vector<std::string> names;
  for (const SafetensorsTensor& t : tensors) names.push_back(t.name);
  std::sort(names.begin(), names.end());
  std::string text;
  for (size_t i = 0; i < names.size(); ++i) text += (i ? ", " : "") + names[i];
  return names.empty() ? "none" : text;
}

int safetensors_dtype_size(const std::string& dtype) {
  // The FNUZ variants are known here so that the readers can refuse them by name.
  if (dtype == "BOOL" || dtype == "U8" || dtype == "I8" || dtype == "F8_E4M3" || dtype == "F8_E5M2" ||
      dtype == "F8_E4M3FNUZ" || dtype == "F8_E5M2FNUZ")
    return 1;
  if (dtype == "U16" || dtype == "I16" || dtype == "F16" || dtype == "BF16") return 2;
  if (dtype == "U32" || dtype == "I32" || dtype == "F32") return 4;
  if (dtype == "U64" || dtype == "I64" || dtype == "F64") return 8;
  return 0;
}

void read_file_bytes(const std::string& path, int fd, int64_t offset, int64_t size, void* target) {
  char* out = static_cast<char*>(target);
  while (size > 0) {
    const size_t chunk = static_cast<size_t>(std::min<int64_t>(size, int64_t(1) << 30));
    const ssize_t got = pread(fd, out, chunk, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0)
      fail(kExitInput, "reading '" + path + "' at byte " + std::to_string(offset) + " failed: " + std::strerror(errno));
    if (got == 0)
      fail(kExitInput, "'" + path + "' ends at byte " + std::to_string(offset) + " but " + std::to_string(size) +
                           " more bytes were expected (truncated file?)");
    out += got;
    offset += got;
    size -= got;
  }
}

namespace {

std::map<std::string, std::string> metadata_of(const std::string& path, const nlohmann::json& entry) {
  if (!entry.is_object()) bad(path, "__metadata__ is not an object of strings");
  std::map<std::string, std::string> metadata;
  for (auto m = entry.begin(); m != entry.end(); ++m) {
    if (!m.value().is_string()) bad(path, "__metadata__ entry '" + m.key() + "' is not a string");
    metadata[m.key()] = m.value().get<std::string>();
  }
  return metadata;
}

// The bytes a shape of `element_size`-byte values takes, with overflow
// checks: the product must stay below 2^62.
int64_t shape_bytes(const std::string& path, const std::string& where, const nlohmann::json& shape, int element_size,
                    std::vector<int64_t>& extents) {
  int64_t bytes = element_size;
  for (const nlohmann::json& extent : shape) {
    const int64_t d = non_negative_integer(extent);
    if (d < 0) bad(path, where + " has a shape entry that is not a non-negative integer");
    extents.push_back(d);
    if (d != 0 && bytes > (int64_t(1) << 62) / d) bad(path, where + " has an impossibly large shape");
    bytes *= d;
  }
  return bytes;
}

// One tensor's header entry, checked against its shape and the data that
// follows the header (`data_start`, `data_size` bytes).
SafetensorsTensor tensor_of(const std::string& path, const std::string& name, const nlohmann::json& entry,
                            int64_t data_start, int64_t data_size) {
  const std::string where = "tensor '" + name + "'";
  if (!entry.is_object()) bad(path, where + " is not an object");
  if (!entry.contains("dtype") || !entry["dtype"].is_string()) bad(path, where + " has no dtype string");
  if (!entry.contains("shape") || !entry["shape"].is_array()) bad(path, where + " has no shape list");
  if (!entry.contains("data_offsets") || !entry["data_offsets"].is_array() || entry["data_offsets"].size() != 2)
    bad(path, where + " has no data_offsets [begin, end]");
  SafetensorsTensor tensor;
  tensor.name = name;
  tensor.dtype = entry["dtype"].get<std::string>();
  const int element_size = safetensors_dtype_size(tensor.dtype);
  if (element_size == 0) bad(path, where + " has unknown dtype '" + tensor.dtype + "'");
  const int64_t bytes = shape_bytes(path, where, entry["shape"], element_size, tensor.shape);
  const int64_t begin = non_negative_integer(entry["data_offsets"][0]);
  const int64_t end = non_negative_integer(entry["data_offsets"][1]);
  if (begin < 0 || end < 0 || end < begin) bad(path, where + " has data_offsets that are not 0 <= begin <= end");
  if (end - begin != bytes)
    bad(path, where + " has data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "] (" +
                  std::to_string(end - begin) + " bytes) but its shape " + tensor_shape_text(tensor.shape) + " of " +
                  tensor.dtype + " needs " + std::to_string(bytes) + " bytes");
  if (end > data_size)
    bad(path, where + " ends at data offset " + std::to_string(end) + ", past the end of the file (" +
                  std::to_string(std::max<int64_t>(data_size, 0)) + " data bytes; truncated file?)");
  tensor.begin = data_start + begin;
  tensor.end = data_start + end;
  return tensor;
}

// Sorts the tensors by their place in the file; throws if two overlap.
void sort_and_check_overlaps(const std::string& path, std::vector<SafetensorsTensor>& tensors) {
  std::sort(tensors.begin(), tensors.end(), [](const SafetensorsTensor& a, const SafetensorsTensor& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (size_t i = 1; i < tensors.size(); ++i) {
    const SafetensorsTensor& previous = tensors[i - 1];
    const SafetensorsTensor& current = tensors[i];
    if (current.begin < previous.end && current.begin != current.end)
      bad(path, "tensors '" + previous.name + "' and '" + current.name + "' overlap");
  }
}

}  // namespace

SafetensorsFile parse_safetensors_header(const std::string& path, const std::string& json_text, int64_t file_size) {
  SafetensorsFile file;
  file.path = path;
  file.file_size = file_size;
  file.data_start = 8 + static_cast<int64_t>(json_text.size());
  const int64_t data_size = file_size - file.data_start;
  const nlohmann::json header = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded()) bad(path, "its header is not valid JSON");
  if (!header.is_object()) bad(path, "its header is JSON but not an object");
  for (auto item = header.begin(); item != header.end(); ++item) {
    if (item.key() == "__metadata__")
      file.metadata = metadata_of(path, item.value());
    else
      file.tensors.push_back(tensor_of(path, item.key(), item.value(), file.data_start, data_size));
  }
  sort_and_check_overlaps(path, file.tensors);
  return file;
}

SafetensorsFile read_safetensors_header(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) {
    if (errno == ENOENT) fail(kExitInput, "input file '" + path + "' does not exist");
    fail(kExitInput, "cannot open '" + path + "': " + std::strerror(errno));
  }
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  struct stat info {};
  if (fstat(fd, &info) != 0) fail(kExitInput, "cannot stat '" + path + "': " + std::strerror(errno));
  const int64_t file_size = static_cast<int64_t>(info.st_size);
  if (file_size < 8) bad(path, "only " + std::to_string(file_size) + " bytes, too short for the 8-byte header length");
  unsigned char length_bytes[8];
  read_file_bytes(path, fd, 0, 8, length_bytes);
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = (length << 8) | length_bytes[i];
  if (length < 2) bad(path, "header length " + std::to_string(length) + " is too small");
  if (length > static_cast<uint64_t>(kMaxSafetensorsHeader))
    bad(path, "header length " + std::to_string(length) + " exceeds the format's limit of " +
                  std::to_string(kMaxSafetensorsHeader) + " bytes");
  if (static_cast<int64_t>(length) > file_size - 8)
    bad(path, "header length " + std::to_string(length) + " runs past the end of the file (" +
                  std::to_string(file_size) + " bytes; truncated file?)");
  std::string text(static_cast<size_t>(length), '\0');
  read_file_bytes(path, fd, 8, static_cast<int64_t>(length), text.data());
  if (text[0] != '{') bad(path, "its header does not start with '{'");
  return parse_safetensors_header(path, text, file_size);
}

std::string build_safetensors_header(const std::vector<SafetensorsEntry>& entries,
                                     const std::map<std::string, std::string>& metadata,
                                     std::vector<int64_t>* absolute_offsets, uint64_t padded_length) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<int64_t> relative;
  int64_t offset = 0;
  for (const SafetensorsEntry& e : entries) {
    int64_t bytes = safetensors_dtype_size(e.dtype);
    for (int64_t d : e.shape) bytes *= d;
    header[e.name] = {{"dtype", e.dtype}, {"shape", e.shape}, {"data_offsets", {offset, offset + bytes}}};
    relative.push_back(offset);
    offset += bytes;
  }
  std::string json_text = header.dump();
  if (padded_length == 0) {
    json_text.append((8 - json_text.size() % 8) % 8, ' ');
  } else {
    if (json_text.size() > padded_length) fail(kExitOutput, "safetensors header larger than its reserved space");
    json_text.resize(padded_length, ' ');
  }
  std::string bytes(8, '\0');
  uint64_t length = json_text.size();
  for (int i = 0; i < 8; ++i) bytes[static_cast<size_t>(i)] = static_cast<char>((length >> (8 * i)) & 0xFF);
  bytes += json_text;
  if (absolute_offsets) {
    absolute_offsets->clear();
    for (int64_t r : relative) absolute_offsets->push_back(static_cast<int64_t>(bytes.size()) + r);
  }
  return bytes;
}

}  // namespace latdisp
