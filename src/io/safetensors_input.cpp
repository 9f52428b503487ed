#include "io/safetensors_input.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "io/input_path.hpp"
#include "io/shape_text.hpp"
#include "io/trajectory_reader.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

std::string serialize(const SafetensorsFile& file) {
  nlohmann::json tensors = nlohmann::json::array();
  for (const SafetensorsTensor& t : file.tensors)
    tensors.push_back({{"name", t.name}, {"dtype", t.dtype}, {"shape", t.shape}, {"begin", t.begin}, {"end", t.end}});
  return nlohmann::json{
      {"size", file.file_size}, {"data", file.data_start}, {"tensors", tensors}, {"metadata", file.metadata}}
      .dump();
}

SafetensorsFile deserialize(const std::string& path, const std::string& text) {
  const nlohmann::json json = nlohmann::json::parse(text);
  SafetensorsFile file;
  file.path = path;
  file.file_size = json["size"].get<int64_t>();
  file.data_start = json["data"].get<int64_t>();
  file.metadata = json["metadata"].get<std::map<std::string, std::string>>();
  for (const nlohmann::json& t : json["tensors"]) {
    SafetensorsTensor tensor;
    tensor.name = t["name"].get<std::string>();
    tensor.dtype = t["dtype"].get<std::string>();
    tensor.shape = t["shape"].get<std::vector<int64_t>>();
    tensor.begin = t["begin"].get<int64_t>();
    tensor.end = t["end"].get<int64_t>();
    file.tensors.push_back(std::move(tensor));
  }
  return file;
}

// Rank 0's bytes on every rank.
void broadcast_bytes(MPI_Comm comm, std::vector<uint8_t>& bytes) {
  int64_t size = static_cast<int64_t>(bytes.size());
  MPI_Bcast(&size, 1, MPI_INT64_T, 0, comm);
  bytes.resize(static_cast<size_t>(size));
  constexpr int64_t kPiece = int64_t(1) << 30;
  for (int64_t done = 0; done < size; done += kPiece)
    MPI_Bcast(bytes.data() + done, static_cast<int>(std::min(kPiece, size - done)), MPI_BYTE, 0, comm);
}

bool is_integer_dtype(const std::string& d) {
  return d == "I8" || d == "I16" || d == "I32" || d == "I64" || d == "U8" || d == "U16" || d == "U32" || d == "U64";
}

}  // namespace

SafetensorsFile broadcast_safetensors_header(MPI_Comm comm, const std::string& path, const std::string& role) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  std::string text;
  collectively(comm, [&] {
    if (rank != 0) return;
    require_readable_file(path, role);
    text = serialize(read_safetensors_header(path));
  });
  std::vector<uint8_t> bytes(text.begin(), text.end());
  broadcast_bytes(comm, bytes);
  return deserialize(path, std::string(bytes.begin(), bytes.end()));
}

void require_bfloat16_bits(const std::string& dtype, const std::string& what) {
  if (dtype == "BF16" || dtype == "U16" || dtype == "I16") return;
  const bool floating = dtype == "F32" || dtype == "F16" || dtype == "F64" || dtype.rfind("F8", 0) == 0;
  if (floating)
    fail(kExitInput, what + " has dtype " + dtype + ": " + dtype +
                         " values are not bfloat16 bits, and latdisp does not convert them (a conversion would "
                         "change what is measured); record the bfloat16 tensor itself (BF16, or its bits as U16/I16)");
  fail(kExitInput, what + " has dtype " + dtype + "; expected BF16 (or U16/I16 holding bfloat16 bits)");
}

std::string tensor_names_text(const SafetensorsFile& file, size_t limit) {
  std::vector<std::string> names;
  for (const SafetensorsTensor& t : file.tensors) names.push_back(t.name);
  if (names.empty()) return "none";
  std::sort(names.begin(), names.end());
  std::string text;
  for (size_t i = 0; i < names.size() && i < limit; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > limit) text += " (and " + std::to_string(names.size() - limit) + " more)";
  return text;
}

void read_file_range(const std::string& path, int64_t offset, int64_t size, void* target) {
  const int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) fail(kExitInput, "cannot open '" + path + "': " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  read_file_bytes(path, fd, offset, size, target);
}

std::vector<uint8_t> read_safetensors_mask(MPI_Comm comm, const SafetensorsFile& file, const std::string& name,
                                           int64_t tokens, const std::string& tensor_of) {
  const SafetensorsTensor* tensor = file.find(name);
  if (!tensor) return {};
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  const std::string what = "dead mask '" + name + "' in '" + file.path + "'";
  std::vector<uint8_t> mask;
  collectively(comm, [&] {
    if (tensor->dtype != "BOOL" && tensor->dtype != "U8" && tensor->dtype != "I8")
      fail(kExitInput, what + " has dtype " + tensor->dtype + "; expected BOOL, U8 or I8 (0/1 per token)");
    if (tensor->shape.size() != 1 || tensor->shape[0] != tokens)
      fail(kExitInput, what + " has shape " + tensor_shape_text(tensor->shape) + "; expected (" +
                           std::to_string(tokens) + ",) to match the tokens of " + tensor_of);
    if (rank != 0) return;
    mask.resize(static_cast<size_t>(tokens));
    read_file_range(file.path, tensor->begin, tokens, mask.data());
  });
  broadcast_bytes(comm, mask);
  collectively(comm, [&] { require_mask_values(mask, what); });
  return mask;
}

std::vector<int64_t> read_safetensors_steps(MPI_Comm comm, const SafetensorsFile& file, const std::string& name,
                                            int64_t count) {
  const SafetensorsTensor* tensor = file.find(name);
  if (!tensor || !is_integer_dtype(tensor->dtype) || tensor->shape.size() != 1 || tensor->shape[0] != count) return {};
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  const int size = safetensors_dtype_size(tensor->dtype);
  std::vector<uint8_t> bytes;
  collectively(comm, [&] {
    if (rank != 0) return;
    bytes.resize(static_cast<size_t>(tensor->end - tensor->begin));
    read_file_range(file.path, tensor->begin, tensor->end - tensor->begin, bytes.data());
  });
  broadcast_bytes(comm, bytes);
  const bool is_signed = tensor->dtype[0] == 'I';
  std::vector<int64_t> steps(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    uint64_t raw = 0;
    for (int b = size - 1; b >= 0; --b) raw = (raw << 8) | bytes[static_cast<size_t>(i * size + b)];
    if (is_signed && size < 8 && (raw >> (8 * size - 1)) != 0) raw |= ~uint64_t(0) << (8 * size);
    steps[static_cast<size_t>(i)] = static_cast<int64_t>(raw);
  }
  return steps;
}

}  // namespace latdisp
