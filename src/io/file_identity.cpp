#include "io/file_identity.hpp"

#include <sys/stat.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/checkpoint_series.hpp"
#include "io/file_names.hpp"
#include "io/input_path.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

const char* const kModelFile = "model.safetensors";
const char* const kIndexFile = "model.safetensors.index.json";

// An index and every shard its weight map names.
void add_index_files(const std::string& index, std::vector<std::string>& files) {
  files.push_back(index);
  if (path_kind(index) != PathKind::regular) return;
  std::ifstream file(index);
  std::stringstream text;
  text << file.rdbuf();
  const nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object() || !json.contains("weight_map") || !json["weight_map"].is_object())
    return;
  for (const auto& item : json["weight_map"].items())
    if (item.value().is_string()) files.push_back(join_path(parent_directory(index), item.value().get<std::string>()));
}

// The files of one checkpoint: a .safetensors file, an index, or a folder.
void add_checkpoint_files(const std::string& checkpoint, std::vector<std::string>& files) {
  if (path_kind(checkpoint) == PathKind::directory) {
    const std::string model = join_path(checkpoint, kModelFile);
    if (path_kind(model) != PathKind::missing) files.push_back(model);
    const std::string index = join_path(checkpoint, kIndexFile);
    if (path_kind(index) != PathKind::missing) add_index_files(index, files);
    return;
  }
  if (has_suffix(checkpoint, ".json")) return add_index_files(checkpoint, files);
  files.push_back(checkpoint);
}

std::vector<SeriesEntry> series_entries(const std::string& path) {
  const PathKind kind = path_kind(path);
  if (kind == PathKind::directory)
    return holds_numbered_checkpoints(path) ? list_series_directory(path) : std::vector<SeriesEntry>{};
  if (kind == PathKind::regular && has_suffix(path, ".txt")) return read_series_manifest(path);
  if (kind == PathKind::missing && path.find_first_of("*?[") != std::string::npos) return list_series_glob(path);
  return {};
}

}  // namespace

std::vector<std::string> files_read_for(const std::string& path) {
  std::vector<std::string> files{path};
  if (path.empty()) return files;
  try {
    if (path_kind(path) == PathKind::directory && is_checkpoint_folder(path)) add_checkpoint_files(path, files);
    if (path_kind(path) == PathKind::regular && has_suffix(path, ".json")) add_index_files(path, files);
    for (const SeriesEntry& entry : series_entries(path)) add_checkpoint_files(entry.path, files);
  } catch (const Error&) {
    // A series that cannot be listed is the reader's to report, with its own message.
  }
  return files;
}

std::string file_identity(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) == 0) return "inode " + std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino);
  const std::string folder = parent_directory(path);
  char* real = realpath(folder.c_str(), nullptr);
  const std::string key = "path " + std::string(real ? real : folder.c_str()) + "/" + base_name(path);
  std::free(real);
  return key;
}

}  // namespace latdisp
