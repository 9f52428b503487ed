#include "io/checkpoint_series.hpp"

#include <dirent.h>
#include <glob.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "io/file_names.hpp"
#include "io/input_path.hpp"
#include "io/safetensors_input.hpp"
#include "io/shape_text.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

const char* const kModelFile = "model.safetensors";
const char* const kIndexFile = "model.safetensors.index.json";

std::string in_quotes(const std::string& text) { return "'" + text + "'"; }

// Orders by step number; two entries with one number are ambiguous.
void order_by_step(std::vector<SeriesEntry>& entries, const std::string& series) {
  std::stable_sort(entries.begin(), entries.end(),
                   [](const SeriesEntry& a, const SeriesEntry& b) { return a.step < b.step; });
  for (size_t i = 1; i < entries.size(); ++i)
    if (entries[i].step == entries[i - 1].step)
      fail(kExitInput, "series " + in_quotes(series) + ": " + in_quotes(base_name(entries[i - 1].path)) + " and " +
                           in_quotes(base_name(entries[i].path)) + " both carry step number " +
                           std::to_string(entries[i].step) + ", so their order is ambiguous (list them in a manifest)");
}

// model-00001-of-00002.safetensors: a shard, part of a checkpoint, not one.
bool is_shard_name(const std::string& name) {
  const size_t of = name.rfind("-of-");
  if (of == std::string::npos || !is_safetensors_name(name)) return false;
  const size_t dash = name.rfind('-', of - 1);
  auto digits = [&](size_t begin, size_t end) {
    return end > begin && name.find_first_not_of("0123456789", begin) >= end;
  };
  return dash != std::string::npos && digits(dash + 1, of) && digits(of + 4, name.size() - 12);
}

// The step number an entry's name carries (its extension aside).
bool step_in_name(const std::string& name, int64_t& step) {
  return last_integer(is_safetensors_name(name) ? name.substr(0, name.size() - 12) : name, step);
}

std::vector<std::string> directory_names(const std::string& directory) {
  require_readable_directory(directory, "series directory");
  std::vector<std::string> names;
  DIR* handle = opendir(directory.c_str());
  if (!handle) fail(kExitInput, "cannot read the series directory " + in_quotes(directory));
  while (const dirent* entry = readdir(handle))
    if (entry->d_name[0] != '.') names.emplace_back(entry->d_name);
  closedir(handle);
  std::sort(names.begin(), names.end());
  return names;
}

// A checkpoint named by a glob or a manifest: a regular file or a checkpoint folder.
void require_checkpoint_path(const std::string& path, const std::string& where) {
  const PathKind kind = path_kind(path);
  if (kind == PathKind::missing) fail(kExitInput, where + ": " + in_quotes(path) + " does not exist");
  if (kind == PathKind::other)
    fail(kExitInput, where + ": " + in_quotes(path) + " is " + path_kind_text(path) + ", not a checkpoint");
  if (kind == PathKind::directory && !is_checkpoint_folder(path))
    fail(kExitInput, where + ": folder " + in_quotes(path) + " holds neither " + kModelFile + " nor " + kIndexFile);
}

std::string trim(const std::string& text) {
  size_t begin = 0, end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return text.substr(begin, end - begin);
}

nlohmann::json read_index(const std::string& checkpoint, const std::string& index) {
  require_readable_file(index, "the index of checkpoint " + in_quotes(checkpoint));
  std::ifstream file(index);
  std::stringstream text;
  text << file.rdbuf();
  const nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object())
    fail(kExitInput,
         "checkpoint " + in_quotes(checkpoint) + ": its index " + in_quotes(index) + " is not a JSON object");
  if (!json.contains("weight_map") || !json["weight_map"].is_object())
    fail(kExitInput,
         "checkpoint " + in_quotes(checkpoint) + ": its index " + in_quotes(index) + " has no weight_map object");
  return json;
}

std::string weight_map_names(const nlohmann::json& weight_map) {
  std::string text;
  size_t shown = 0;
  for (auto item = weight_map.begin(); item != weight_map.end() && shown < 12; ++item, ++shown)
    text += (shown ? ", " : "") + item.key();
  if (weight_map.size() > shown) text += " (and " + std::to_string(weight_map.size() - shown) + " more)";
  return text.empty() ? "none" : text;
}

CheckpointTensor locate_in_index(const std::string& checkpoint, const std::string& index, const std::string& name,
                                 bool required) {
  const nlohmann::json json = read_index(checkpoint, index);
  const nlohmann::json& weight_map = json["weight_map"];
  CheckpointTensor located;
  if (!weight_map.contains(name)) {
    if (required)
      fail(kExitInput, "checkpoint " + in_quotes(checkpoint) + " has no tensor " + in_quotes(name) +
                           ": the weight map of " + in_quotes(index) + " lists " + weight_map_names(weight_map));
    return located;
  }
  if (!weight_map[name].is_string())
    fail(kExitInput, "checkpoint " + in_quotes(checkpoint) + ": the weight map entry of " + in_quotes(name) +
                         " is not a file name");
  const std::string shard = weight_map[name].get<std::string>();
  located.file = join_path(parent_directory(index), shard);
  if (path_kind(located.file) == PathKind::missing)
    fail(kExitInput, "checkpoint " + in_quotes(checkpoint) + ": the weight map names shard " + in_quotes(shard) +
                         " for " + in_quotes(name) + ", but " + in_quotes(located.file) + " does not exist");
  require_readable_file(located.file, "shard of checkpoint " + in_quotes(checkpoint));
  const SafetensorsFile header = read_safetensors_header(located.file);
  const SafetensorsTensor* tensor = header.find(name);
  if (!tensor)
    fail(kExitInput, "checkpoint " + in_quotes(checkpoint) + ": shard " + in_quotes(located.file) + " has no tensor " +
                         in_quotes(name) +
                         ", though the weight map names it (tensors present: " + tensor_names_text(header) + ")");
  located.tensor = *tensor;
  located.found = true;
  return located;
}

}  // namespace

bool last_integer(const std::string& name, int64_t& value) {
  size_t end = name.size();
  while (end > 0 && !std::isdigit(static_cast<unsigned char>(name[end - 1]))) --end;
  if (end == 0) return false;
  size_t begin = end;
  while (begin > 0 && std::isdigit(static_cast<unsigned char>(name[begin - 1]))) --begin;
  while (begin + 1 < end && name[begin] == '0') ++begin;
  if (end - begin > 18) return false;
  value = std::stoll(name.substr(begin, end - begin));
  return true;
}

bool holds_numbered_checkpoints(const std::string& directory) {
  DIR* handle = opendir(directory.c_str());
  if (!handle) return false;
  bool found = false;
  while (const dirent* entry = readdir(handle)) {
    const std::string name = entry->d_name;
    int64_t step = 0;
    if (name[0] == '.' || is_shard_name(name)) continue;
    const bool file = is_safetensors_name(name);
    if (!step_in_name(name, step)) continue;
    const std::string path = join_path(directory, name);
    if ((file && path_kind(path) == PathKind::regular) || is_checkpoint_folder(path)) {
      found = true;
      break;
    }
  }
  closedir(handle);
  return found;
}

bool is_checkpoint_folder(const std::string& path) {
  return path_kind(path) == PathKind::directory && (path_kind(join_path(path, kModelFile)) == PathKind::regular ||
                                                    path_kind(join_path(path, kIndexFile)) == PathKind::regular);
}

std::vector<SeriesEntry> list_series_directory(const std::string& directory) {
  std::vector<SeriesEntry> entries;
  for (const std::string& name : directory_names(directory)) {
    const std::string path = join_path(directory, name);
    int64_t step = 0;
    const PathKind kind = path_kind(path);
    const bool file = is_safetensors_name(name);
    if (is_shard_name(name) || !step_in_name(name, step)) continue;
    if (kind == PathKind::directory) {
      if (!is_checkpoint_folder(path))
        fail(kExitInput, "series " + in_quotes(directory) + ": folder " + in_quotes(name) + " holds neither " +
                             kModelFile + " nor " + kIndexFile +
                             " (a checkpoint not written yet, or not a checkpoint?)");
    } else if (!file) {
      continue;
    } else if (kind != PathKind::regular) {
      fail(kExitInput, "series " + in_quotes(directory) + ": " + in_quotes(name) + " is " + path_kind_text(path) +
                           ", not a checkpoint file");
    }
    entries.push_back({path, step});
  }
  order_by_step(entries, directory);
  return entries;
}

std::vector<SeriesEntry> list_series_glob(const std::string& pattern) {
  glob_t found{};
  const int status = glob(pattern.c_str(), 0, nullptr, &found);
  std::vector<std::string> paths;
  if (status == 0)
    for (size_t i = 0; i < found.gl_pathc; ++i) paths.emplace_back(found.gl_pathv[i]);
  globfree(&found);
  if (status != 0 && status != GLOB_NOMATCH) fail(kExitInput, "cannot expand the pattern " + in_quotes(pattern));
  std::vector<SeriesEntry> entries;
  for (const std::string& path : paths) {
    const std::string name = base_name(path);
    int64_t step = 0;
    if (!step_in_name(name, step))
      fail(kExitInput, "series " + in_quotes(pattern) + ": " + in_quotes(path) +
                           " has no step number in its name, so its place in the series is unknown");
    require_checkpoint_path(path, "series " + in_quotes(pattern));
    entries.push_back({path, step});
  }
  order_by_step(entries, pattern);
  return entries;
}

std::vector<SeriesEntry> read_series_manifest(const std::string& manifest) {
  require_readable_file(manifest, "series manifest");
  std::ifstream file(manifest);
  const std::string folder = parent_directory(manifest);
  std::vector<SeriesEntry> entries;
  int numbered = 0;
  std::string line;
  for (int number = 1; std::getline(file, line); ++number) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    SeriesEntry entry;
    const size_t space = line.find_first_of(" \t");
    const std::string first = line.substr(0, space);
    if (space != std::string::npos && !first.empty() && first.size() <= 18 &&
        first.find_first_not_of("0123456789") == std::string::npos) {
      entry.step = std::stoll(first);
      line = trim(line.substr(space));
      ++numbered;
    }
    entry.path = join_path(folder, line);
    require_checkpoint_path(entry.path, "manifest " + in_quotes(manifest) + " line " + std::to_string(number));
    entries.push_back(entry);
  }
  const int count = static_cast<int>(entries.size());
  if (numbered > 0 && numbered < count)
    fail(kExitInput, "manifest " + in_quotes(manifest) + " gives step numbers on " + std::to_string(numbered) + " of " +
                         std::to_string(count) + " lines: give one on every line or on none");
  if (numbered == 0) {
    for (SeriesEntry& entry : entries) {
      const std::string name = base_name(entry.path);
      if (!step_in_name(name, entry.step)) {
        for (SeriesEntry& e : entries) e.step = -1;
        break;
      }
    }
  }
  return entries;
}

CheckpointTensor locate_checkpoint_tensor(const std::string& checkpoint, const std::string& name, bool required) {
  std::string file = checkpoint;
  if (path_kind(checkpoint) == PathKind::directory) {
    file = join_path(checkpoint, kModelFile);
    if (path_kind(file) != PathKind::regular) file = join_path(checkpoint, kIndexFile);
  }
  if (has_suffix(file, ".json")) return locate_in_index(checkpoint, file, name, required);
  require_readable_file(file, "checkpoint file");
  const SafetensorsFile header = read_safetensors_header(file);
  CheckpointTensor located;
  located.file = file;
  const SafetensorsTensor* tensor = header.find(name);
  if (!tensor) {
    if (required)
      fail(kExitInput, "checkpoint " + in_quotes(checkpoint) + " has no tensor " + in_quotes(name) +
                           " (tensors present: " + tensor_names_text(header) + ")");
    return located;
  }
  located.tensor = *tensor;
  located.found = true;
  return located;
}

SeriesTrajectory::SeriesTrajectory(MPI_Comm comm, Listing listing, const std::string& path, const std::string& dataset,
                                   SourceUse use, const ElementRequest& request)
    : TrajectoryReader(comm, path, dataset, InputFormat::series) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  collectively(comm, [&] {
    if (rank == 0) scan(listing, use, request);
  });
  broadcast();
}

void SeriesTrajectory::scan(Listing listing, SourceUse use, const ElementRequest& request) {
  std::vector<SeriesEntry> entries;
  if (listing == Listing::directory) entries = list_series_directory(m_path);
  if (listing == Listing::glob) entries = list_series_glob(m_path);
  if (listing == Listing::manifest) entries = read_series_manifest(m_path);
  if (listing == Listing::single_checkpoint) entries = {{m_path, -1}};
  if (entries.empty())
    fail(kExitInput, "series " + in_quotes(m_path) + " is empty: " +
                         (listing == Listing::glob ? std::string("the pattern matches nothing")
                          : listing == Listing::manifest
                              ? std::string("the manifest lists no checkpoint")
                              : std::string("no *.safetensors file or checkpoint folder with a step number in "
                                            "its name (checkpoint-20/model.safetensors, step_20.safetensors, ...)")));
  std::string first_checkpoint;
  std::vector<int64_t> first_shape;
  for (const SeriesEntry& entry : entries) {
    const CheckpointTensor located = locate_checkpoint_tensor(entry.path, m_dataset, true);
    const SafetensorsTensor& tensor = located.tensor;
    const std::string what = "tensor " + in_quotes(m_dataset) + " in checkpoint " + in_quotes(entry.path);
    const ElementType type = safetensors_element_type(tensor.dtype, what, request);
    if (tensor.shape.size() != 2)
      fail(kExitInput, what + " has shape " + tensor_shape_text(tensor.shape) +
                           "; expected 2 dimensions (tokens, dims), one matrix per checkpoint");
    if (first_checkpoint.empty()) {
      first_checkpoint = entry.path;
      first_shape = tensor.shape;
      m_type_description = tensor.dtype;
      m_element_type = type;
    } else if (tensor.shape != first_shape || tensor.dtype != m_type_description) {
      fail(kExitInput, "checkpoint " + in_quotes(entry.path) + " holds " + in_quotes(m_dataset) + " as " +
                           tensor.dtype + " " + tensor_shape_text(tensor.shape) + ", but the first checkpoint " +
                           in_quotes(first_checkpoint) + " holds it as " + m_type_description + " " +
                           tensor_shape_text(first_shape) + ": every checkpoint must hold it with one shape and dtype");
    }
    m_files.push_back({entry.path, located.file, tensor.begin});
    m_step_numbers.push_back(entry.step);
  }
  if (std::find(m_step_numbers.begin(), m_step_numbers.end(), -1) != m_step_numbers.end()) m_step_numbers.clear();
  m_shape = {static_cast<int64_t>(entries.size()), first_shape[0], first_shape[1]};
  if (m_shape.tokens < 1 || m_shape.dims < 1)
    fail(kExitInput, "tensor " + in_quotes(m_dataset) + " in checkpoint " + in_quotes(first_checkpoint) +
                         " has shape " + tensor_shape_text(first_shape) + "; it holds no coordinates");
  m_source_rank = listing == Listing::single_checkpoint && use == SourceUse::matrix ? 2 : 3;
}

void SeriesTrajectory::broadcast() {
  int rank = 0;
  MPI_Comm_rank(m_comm, &rank);
  std::string text;
  if (rank == 0) {
    nlohmann::json files = nlohmann::json::array();
    for (const StepFile& f : m_files) files.push_back({f.checkpoint, f.file, f.offset});
    text = nlohmann::json{{"files", files},
                          {"steps", m_step_numbers},
                          {"shape", {m_shape.steps, m_shape.tokens, m_shape.dims}},
                          {"dtype", m_type_description},
                          {"element_type", static_cast<int>(m_element_type)},
                          {"rank", m_source_rank}}
               .dump();
  }
  int64_t size = static_cast<int64_t>(text.size());
  MPI_Bcast(&size, 1, MPI_INT64_T, 0, m_comm);
  text.resize(static_cast<size_t>(size));
  constexpr int64_t kPiece = int64_t(1) << 30;
  for (int64_t done = 0; done < size; done += kPiece)
    MPI_Bcast(&text[static_cast<size_t>(done)], static_cast<int>(std::min(kPiece, size - done)), MPI_CHAR, 0, m_comm);
  if (rank == 0) return;
  const nlohmann::json json = nlohmann::json::parse(text);
  for (const nlohmann::json& f : json["files"])
    m_files.push_back({f[0].get<std::string>(), f[1].get<std::string>(), f[2].get<int64_t>()});
  m_step_numbers = json["steps"].get<std::vector<int64_t>>();
  const std::vector<int64_t> shape = json["shape"].get<std::vector<int64_t>>();
  m_shape = {shape[0], shape[1], shape[2]};
  m_type_description = json["dtype"].get<std::string>();
  m_element_type = static_cast<ElementType>(json["element_type"].get<int>());
  m_source_rank = json["rank"].get<int>();
}

std::vector<std::string> SeriesTrajectory::source_files() const {
  std::vector<std::string> files;
  for (const StepFile& f : m_files)
    if (files.empty() || files.back() != f.file) files.push_back(f.file);
  return files;
}

std::string SeriesTrajectory::step_origin(int64_t step) const {
  return "checkpoint " + in_quotes(m_files[static_cast<size_t>(step)].checkpoint);
}

void SeriesTrajectory::read_block(int64_t first_step, int64_t steps, int64_t first_token, int64_t tokens,
                                  void* values) const {
  char* out = static_cast<char*>(values);
  // A rank's rows of one checkpoint are one contiguous byte range: a plain
  // read per rank and step (a collective MPI-IO open per checkpoint costs
  // more than the read itself); the ranks agree on errors once per block.
  const int64_t row_bytes = m_shape.dims * element_bytes();
  collectively(m_comm, [&] {
    for (int64_t s = 0; s < steps; ++s) {
      const StepFile& step = m_files[static_cast<size_t>(first_step + s)];
      if (tokens > 0)
        read_file_range(step.file, step.offset + first_token * row_bytes, tokens * row_bytes,
                        out + s * tokens * row_bytes);
    }
  });
}

void SeriesTrajectory::read_rows(int64_t step, int64_t first_row, int64_t count, void* out) const {
  const StepFile& file = m_files[static_cast<size_t>(step)];
  const int64_t row_bytes = m_shape.dims * element_bytes();
  read_file_range(file.file, file.offset + first_row * row_bytes, count * row_bytes, out);
}

std::vector<uint8_t> SeriesTrajectory::read_dead_mask(const std::string& name) const {
  // A mask inside the series lives in its first checkpoint.
  int rank = 0;
  MPI_Comm_rank(m_comm, &rank);
  std::string file;
  collectively(m_comm, [&] {
    if (rank != 0) return;
    const CheckpointTensor located = locate_checkpoint_tensor(m_files.front().checkpoint, name, false);
    if (located.found) file = located.file;
  });
  int length = static_cast<int>(file.size());
  MPI_Bcast(&length, 1, MPI_INT, 0, m_comm);
  file.resize(static_cast<size_t>(length));
  if (length == 0) return {};
  MPI_Bcast(&file[0], length, MPI_CHAR, 0, m_comm);
  const SafetensorsFile header = broadcast_safetensors_header(m_comm, file, "checkpoint file");
  return read_safetensors_mask(m_comm, header, name, m_shape.tokens, in_quotes(m_dataset));
}

}  // namespace latdisp
