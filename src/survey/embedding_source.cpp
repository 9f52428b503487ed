#include "survey/embedding_source.hpp"

#include <hdf5.h>
#include <unistd.h>
#include <fcntl.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "io/hdf5_handles.hpp"
#include "io/hdf5_input.hpp"
#include "io/input_path.hpp"
#include "io/safetensors.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

using formats::ElementType;

const char* kIndexName = "model.safetensors.index.json";
const char* kSingleName = "model.safetensors";

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text;
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? " x " : "") + std::to_string(shape[i]);
  return "(" + text + ")";
}

// The element format of a stored type, `override_name` applying to integer
// storage only (a float container it contradicts is an input error).
ElementType element_type_of(const std::string& stored, bool integer_storage, int bytes, const std::string& declared,
                            const std::string& override_name, const std::string& what) {
  ElementType type = ElementType::bf16;
  if (!override_name.empty()) {
    formats::parse_element_type(override_name, type);
    if (formats::element_bytes(type) != bytes || (!integer_storage && declared != override_name))
      fail(kExitInput, what + " is stored as " + stored + ": --element-type " + override_name + " does not fit it");
    return type;
  }
  if (!declared.empty() && formats::parse_element_type(declared, type)) {
    if (formats::element_bytes(type) != bytes)
      fail(kExitInput, what + " is stored as " + stored + ", whose width does not match " + declared);
    return type;
  }
  fail(kExitInput, what + " is stored as " + stored +
                       ", which is none of the element formats (" + formats::element_type_names() +
                       "; 8-bit integers need --element-type)");
}

// The format a safetensors dtype declares ("" for integer bits without one).
std::string declared_by_dtype(const std::string& dtype) {
  static const std::map<std::string, std::string> names = {{"BF16", "bf16"},       {"F16", "f16"},
                                                           {"F32", "f32"},         {"F8_E4M3", "f8e4m3"},
                                                           {"F8_E5M2", "f8e5m2"},  {"U16", "bf16"},
                                                           {"I16", "bf16"}};
  const auto found = names.find(dtype);
  return found == names.end() ? "" : found->second;
}

bool is_integer_dtype(const std::string& dtype) { return !dtype.empty() && (dtype[0] == 'U' || dtype[0] == 'I'); }

nlohmann::json read_json_file(const std::string& path, const std::string& role) {
  require_readable_file(path, role);
  std::ifstream in(path);
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    fail(kExitInput, role + " '" + path + "' is not valid JSON: " + e.what());
  }
}

// A shard named by the index must stay inside the folder: relative, and no
// ".." that climbs above it (symbolic links inside are followed, as the
// Hugging Face cache links snapshot files to its blobs).
std::string shard_path(const std::string& folder, const std::string& shard, const std::string& index) {
  bool escapes = shard.empty() || shard[0] == '/';
  int depth = 0;
  std::stringstream parts(shard);
  for (std::string part; std::getline(parts, part, '/');) {
    if (part == "..") depth -= 1;
    else if (!part.empty() && part != ".") depth += 1;
    escapes = escapes || depth < 0;
  }
  if (escapes) fail(kExitInput, "'" + index + "' names the shard '" + shard + "', a path outside the model folder");
  return join_path(folder, shard);
}

// 2-D tensors of safetensors files, "NAME (R x C)", for the message when none is the embedding.
std::string two_d_tensors(const std::vector<SafetensorsFile>& files) {
  std::vector<std::string> names;
  for (const auto& file : files)
    for (const auto& t : file.tensors)
      if (t.shape.size() == 2) names.push_back(t.name + " " + shape_text(t.shape));
  std::sort(names.begin(), names.end());
  std::string text;
  for (const auto& n : names) text += (text.empty() ? "" : ", ") + n;
  return text.empty() ? "none" : text;
}

std::string choose_tensor(const std::string& requested, const std::function<bool(const std::string&)>& present) {
  if (!requested.empty()) return present(requested) ? requested : "";
  for (const auto& name : embedding_tensor_names())
    if (present(name)) return name;
  return "";
}

void no_embedding(const std::string& where, const std::string& requested, const std::string& two_d) {
  if (!requested.empty()) fail(kExitInput, where + " holds no tensor '" + requested + "'; its 2-D tensors: " + two_d);
  fail(kExitInput, where + " holds no embedding (none of model.embed_tokens.weight, transformer.wte.weight, "
                           "embed_tokens.weight, tok_embeddings.weight, wte.weight, lm_head.weight; use --tensor); "
                           "its 2-D tensors: " + two_d);
}

void fill_from_safetensors(EmbeddingLocation& loc, const SafetensorsTensor& t, const std::string& override_name) {
  const std::string what = "tensor '" + t.name + "' of '" + loc.file + "'";
  if (t.shape.size() != 2) fail(kExitInput, what + " has shape " + shape_text(t.shape) + ": the embedding must be 2-D");
  loc.stored_type = t.dtype;
  loc.element_type = element_type_of(t.dtype, is_integer_dtype(t.dtype), safetensors_dtype_size(t.dtype),
                                     declared_by_dtype(t.dtype), override_name, what);
  loc.rows = t.shape[0];
  loc.dims = t.shape[1];
  loc.data_offset = t.begin;
}

void locate_in_safetensors(EmbeddingLocation& loc, const std::string& tensor, const std::string& override_name) {
  const SafetensorsFile file = read_safetensors_header(loc.file);
  const std::string name = choose_tensor(tensor, [&](const std::string& n) { return file.find(n) != nullptr; });
  if (name.empty()) no_embedding("'" + loc.file + "'", tensor, two_d_tensors({file}));
  loc.tensor = name;
  fill_from_safetensors(loc, *file.find(name), override_name);
}

void locate_in_index(EmbeddingLocation& loc, const std::string& index_path, const std::string& tensor,
                     const std::string& override_name) {
  const nlohmann::json index = read_json_file(index_path, "sharded model index");
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    fail(kExitInput, "'" + index_path + "' has no weight_map object (tensor name -> shard file)");
  std::map<std::string, std::string> weight_map;
  for (const auto& item : index["weight_map"].items()) {
    if (!item.value().is_string()) fail(kExitInput, "'" + index_path + "': weight_map entries must be file names");
    weight_map[item.key()] = item.value().get<std::string>();
  }
  const std::string name = choose_tensor(tensor, [&](const std::string& n) { return weight_map.count(n) > 0; });
  if (name.empty()) {
    std::vector<SafetensorsFile> shards;
    std::set<std::string> distinct;
    for (const auto& entry : weight_map) distinct.insert(entry.second);
    for (const auto& shard : distinct) {
      const std::string path = shard_path(loc.model, shard, index_path);
      if (path_kind(path) == PathKind::regular) shards.push_back(read_safetensors_header(path));
    }
    no_embedding("the model '" + loc.model + "'", tensor, two_d_tensors(shards));
  }
  loc.file = shard_path(loc.model, weight_map[name], index_path);
  if (path_kind(loc.file) != PathKind::regular)
    fail(kExitInput, "'" + index_path + "' places '" + name + "' in the shard '" + weight_map[name] + "', which is " +
                         (path_kind(loc.file) == PathKind::missing ? "missing" : path_kind_text(loc.file)));
  const SafetensorsFile file = read_safetensors_header(loc.file);
  const SafetensorsTensor* t = file.find(name);
  if (t == nullptr)
    fail(kExitInput, "'" + index_path + "' places '" + name + "' in '" + loc.file + "', which does not hold it");
  loc.tensor = name;
  fill_from_safetensors(loc, *t, override_name);
}

std::string hdf5_dtype_attribute(hid_t dataset) {
  if (H5Aexists(dataset, "dtype") <= 0) return "";
  Hdf5Handle attribute(H5Aopen(dataset, "dtype", H5P_DEFAULT), H5Aclose);
  Hdf5Handle type(H5Aget_type(attribute.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING) return "";
  std::string value;
  if (H5Tis_variable_str(type.get()) > 0) {
    char* text = nullptr;
    if (H5Aread(attribute.get(), type.get(), &text) >= 0 && text != nullptr) value = text;
    H5free_memory(text);
  } else {
    std::vector<char> text(H5Tget_size(type.get()) + 1, '\0');
    if (H5Aread(attribute.get(), type.get(), text.data()) >= 0) value = text.data();
  }
  if (value == "float8_e4m3fn") return "f8e4m3";
  if (value == "float8_e5m2") return "f8e5m2";
  if (value == "bfloat16") return "bf16";
  return "";
}

void locate_in_hdf5(EmbeddingLocation& loc, const std::string& tensor, const std::string& override_name) {
  loc.hdf5 = true;
  Hdf5Handle file(H5Fopen(loc.file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.valid()) fail(kExitInput, "cannot open HDF5 file '" + loc.file + "': " + hdf5_error_text());
  const std::vector<std::string> names = hdf5_root_datasets(file.get());
  const std::string name = choose_tensor(
      tensor, [&](const std::string& n) { return std::find(names.begin(), names.end(), n) != names.end(); });
  if (name.empty()) {
    std::string two_d;
    for (const auto& n : names) {
      Hdf5Handle d(H5Dopen2(file.get(), n.c_str(), H5P_DEFAULT), H5Dclose);
      const auto extent = hdf5_dataset_extent(d.get());
      if (extent.size() == 2) two_d += (two_d.empty() ? "" : ", ") + n + " " + shape_text(extent);
    }
    no_embedding("'" + loc.file + "'", tensor, two_d.empty() ? "none" : two_d);
  }
  Hdf5Handle dataset(H5Dopen2(file.get(), name.c_str(), H5P_DEFAULT), H5Dclose);
  const std::string what = "dataset '" + name + "' of '" + loc.file + "'";
  const auto extent = hdf5_dataset_extent(dataset.get());
  if (extent.size() != 2) fail(kExitInput, what + " has shape " + shape_text(extent) + ": the embedding must be 2-D");
  require_written_storage(dataset.get(), what);
  Hdf5Handle type(H5Dget_type(dataset.get()), H5Tclose);
  const H5T_class_t type_class = H5Tget_class(type.get());
  const int bytes = int(H5Tget_size(type.get()));
  loc.stored_type = describe_type(type.get());
  if (H5Tget_order(type.get()) == H5T_ORDER_BE) fail(kExitInput, what + " is big-endian (" + loc.stored_type + ")");
  std::string declared = hdf5_dtype_attribute(dataset.get());
  const bool integer = type_class == H5T_INTEGER;
  if (integer && bytes == 2 && declared.empty()) declared = "bf16";
  if (type_class == H5T_FLOAT) declared = bytes == 2 ? "f16" : bytes == 4 ? "f32" : "";
  if (!integer && type_class != H5T_FLOAT) declared = "";
  loc.element_type = element_type_of(loc.stored_type, integer, bytes, declared, override_name, what);
  loc.tensor = name;
  loc.rows = extent[0];
  loc.dims = extent[1];
}

}  // namespace

const std::vector<std::string>& embedding_tensor_names() {
  static const std::vector<std::string> names = {"model.embed_tokens.weight", "transformer.wte.weight",
                                                 "embed_tokens.weight",       "tok_embeddings.weight",
                                                 "wte.weight",                "lm_head.weight"};
  return names;
}

EmbeddingLocation locate_embedding(const std::string& model, const std::string& tensor,
                                   const std::string& element_type) {
  EmbeddingLocation loc;
  loc.model = model;
  const PathKind kind = path_kind(model);
  if (kind == PathKind::directory) {
    require_readable_directory(model, "model folder");
    loc.folder = true;
    const std::string tokenizer = join_path(model, "tokenizer.json");
    if (path_kind(tokenizer) == PathKind::regular) loc.tokenizer = tokenizer;
    const std::string index = join_path(model, kIndexName);
    const std::string single = join_path(model, kSingleName);
    if (path_kind(index) != PathKind::missing) {
      locate_in_index(loc, index, tensor, element_type);
    } else if (path_kind(single) != PathKind::missing) {
      loc.file = single;
      require_readable_file(single, "model file");
      locate_in_safetensors(loc, tensor, element_type);
    } else {
      fail(kExitInput, "the model folder '" + model + "' holds neither " + kSingleName + " nor " + kIndexName);
    }
    return loc;
  }
  require_readable_file(model, "model file");
  loc.file = model;
  if (is_hdf5_file(model)) locate_in_hdf5(loc, tensor, element_type);
  else if (looks_like_safetensors(model)) locate_in_safetensors(loc, tensor, element_type);
  else fail(kExitInput, "'" + model + "' is neither a model folder nor a safetensors or HDF5 file");
  return loc;
}

// --- reading rows --------------------------------------------------------------------
struct EmbeddingRows::Impl {
  EmbeddingLocation location;
  int fd = -1;
  Hdf5Handle file, dataset, type;
};

EmbeddingRows::EmbeddingRows(const EmbeddingLocation& location) : m_impl(new Impl) {
  m_impl->location = location;
  if (location.hdf5) {
    m_impl->file = Hdf5Handle(H5Fopen(location.file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
    if (m_impl->file.valid())
      m_impl->dataset = Hdf5Handle(H5Dopen2(m_impl->file.get(), location.tensor.c_str(), H5P_DEFAULT), H5Dclose);
    if (!m_impl->dataset.valid()) fail(kExitInput, "cannot open '" + location.file + "': " + hdf5_error_text());
    m_impl->type = Hdf5Handle(H5Dget_type(m_impl->dataset.get()), H5Tclose);
  } else {
    m_impl->fd = ::open(location.file.c_str(), O_RDONLY | O_CLOEXEC);
    if (m_impl->fd < 0) fail(kExitInput, "cannot open '" + location.file + "'");
  }
}

EmbeddingRows::~EmbeddingRows() {
  if (m_impl->fd >= 0) ::close(m_impl->fd);
}

void EmbeddingRows::read(int64_t begin, int64_t count, unsigned char* out) const {
  if (count <= 0) return;
  const EmbeddingLocation& loc = m_impl->location;
  if (!loc.hdf5) {
    read_file_bytes(loc.file, m_impl->fd, loc.data_offset + begin * loc.row_bytes(), count * loc.row_bytes(), out);
    return;
  }
  const std::vector<hsize_t> start = {hsize_t(begin), 0}, extent = {hsize_t(count), hsize_t(loc.dims)};
  if (read_hyperslab(m_impl->dataset.get(), m_impl->type.get(), start, extent, out, false) < 0)
    fail(kExitInput, "cannot read rows of '" + loc.file + "': " + hdf5_error_text());
}

void EmbeddingRows::read_rows(const std::vector<int64_t>& rows, unsigned char* out) const {
  const int64_t row_bytes = m_impl->location.row_bytes();
  for (size_t i = 0; i < rows.size();) {
    size_t run = 1;
    while (i + run < rows.size() && rows[i + run] == rows[i] + int64_t(run)) ++run;
    read(rows[i], int64_t(run), out + int64_t(i) * row_bytes);
    i += run;
  }
}

}  // namespace latdisp
