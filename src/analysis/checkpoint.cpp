#include "analysis/checkpoint.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include <nlohmann/json.hpp>

#include "io/durable_file.hpp"
#include "io/file_identity.hpp"
#include "io/input_path.hpp"
#include "parallel/clock.hpp"
#include "parallel/errors.hpp"
#include "parallel/signals.hpp"

namespace latdisp {

namespace {

using nlohmann::json;
constexpr const char* kFormat = "latdisp.checkpoint/2";
constexpr const char* kManifestName = "manifest.json";
constexpr const char* kGenerationPrefix = "generation-";
constexpr size_t kHeadBytes = size_t(1) << 20;

std::string generation_name(int64_t generation) {
  char name[32];
  std::snprintf(name, sizeof name, "%s%06lld", kGenerationPrefix, static_cast<long long>(generation));
  return name;
}

std::string rank_file_name(int rank) {
  char name[32];
  std::snprintf(name, sizeof name, "rank-%05d.ckpt", rank);
  return name;
}

// "generation-" and six or more digits: the only folder names latdisp gives.
bool is_generation_name(const std::string& name) {
  const size_t prefix = std::strlen(kGenerationPrefix);
  return name.size() >= prefix + 6 && name.compare(0, prefix, kGenerationPrefix) == 0 &&
         name.find_first_not_of("0123456789", prefix) == std::string::npos;
}

// "rank-NNNNN.ckpt", or its DurableFile temporary: what a generation folder holds.
bool is_rank_file_name(const std::string& name) {
  const size_t dot = name.find(".ckpt");
  return name.size() >= 15 && name.compare(0, 5, "rank-") == 0 && dot == 10 &&
         name.find_first_not_of("0123456789", 5) == 10 &&
         (name.size() == 15 || name.compare(15, std::string::npos, ".partial") == 0 ||
          name.compare(15, 9, ".partial-") == 0);
}

// Removes generation folder `name` of `directory` if it is latdisp's own
// (a real folder of this user holding only rank files); false if it stays.
bool remove_generation(const std::string& directory, const std::string& name) {
  return is_generation_name(name) && remove_owned_folder(directory + "/" + name, is_rank_file_name);
}

// Rank 0's text on every rank.
void broadcast_text(std::string& text, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  uint64_t length = text.size();
  MPI_Bcast(&length, 1, MPI_UINT64_T, 0, comm);
  text.resize(static_cast<size_t>(length));
  if (length > 0) MPI_Bcast(text.data(), static_cast<int>(length), MPI_CHAR, 0, comm);
}

// `path` made absolute (a glob pattern or a missing path: joined to the
// working directory, unresolved).
std::string absolute_path(const std::string& path) {
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved)) return resolved;
  if (!path.empty() && path[0] == '/') return path;
  char cwd[PATH_MAX];
  return getcwd(cwd, sizeof cwd) ? std::string(cwd) + "/" + path : path;
}

// The input as it is now: where, how many files and bytes, when last
// modified, a hash of each file's name, size and time, and a hash of the
// first MiB of the first file (the HDF5 superblock and dataset headers, or
// the safetensors header).
json input_identity(const std::string& input, const std::vector<std::string>& files) {
  ContentHash listing, head;
  int64_t bytes = 0, latest = 0;
  for (const std::string& file : files) {
    struct stat info {};
    if (stat(file.c_str(), &info) != 0)
      fail(kExitInput, "cannot stat the input file '" + file + "': " + std::strerror(errno));
    const int64_t size = static_cast<int64_t>(info.st_size);
    const int64_t modified = static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec;
    const std::string name = absolute_path(file);
    listing.update(name.c_str(), name.size() + 1);
    listing.update(&size, sizeof size);
    listing.update(&modified, sizeof modified);
    bytes += size;
    latest = std::max(latest, modified);
  }
  if (!files.empty()) {
    if (std::FILE* file = std::fopen(files.front().c_str(), "rb")) {
      std::vector<char> first(kHeadBytes);
      head.update(first.data(), std::fread(first.data(), 1, first.size(), file));
      std::fclose(file);
    }
  }
  return {{"path", absolute_path(input)},
          {"files", files.size()},
          {"bytes", bytes},
          {"modified_ns", latest},
          {"listing_hash", hash_text(listing.value())},
          {"head_hash", hash_text(head.value())}};
}

// Everything that must be the same for a checkpoint to continue this run.
// Options that shape the result are keyed by their command-line names.
json run_identity(const CheckpointSetup& setup, int ranks) {
  ContentHash mask;
  if (setup.dead_mask) mask.update(setup.dead_mask->data(), setup.dead_mask->size());
  return {{"format", kFormat},
          {"latdisp", LATDISP_VERSION},
          {"command", setup.command},
          {"ranks", ranks},
          {"input", input_identity(setup.input, setup.files)},
          {"dataset", setup.dataset},
          {"element_type", setup.element_type},
          {"shape", {setup.steps, setup.tokens, setup.dims}},
          {"dead_mask_hash", hash_text(mask.value())},
          {"options", json::parse(setup.options_json)}};
}

// analyze's setup: its result-shaping options as the option table states them.
CheckpointSetup analyze_setup(const AnalyzeConfig& config, const TrajectoryReader& reader,
                              const std::vector<uint8_t>& dead_mask) {
  CheckpointSetup setup;
  setup.command = "analyze";
  setup.directory = config.checkpoint.directory;
  setup.seconds = config.checkpoint.seconds;
  setup.resume = config.checkpoint.resume;
  setup.input = config.input.path;
  setup.files = reader.source_files();
  setup.dataset = config.input.dataset;
  setup.element_type = formats::element_type_name(reader.element_type());
  setup.steps = reader.shape().steps;
  setup.tokens = reader.shape().tokens;
  setup.dims = reader.shape().dims;
  setup.dead_mask = &dead_mask;
  setup.options_json = config.echo.identity;
  return setup;
}

std::string text_of(const json& value) { return value.is_string() ? value.get<std::string>() : value.dump(); }

std::string modified_text(const json& nanoseconds) {
  if (!nanoseconds.is_number_integer()) return text_of(nanoseconds);
  const std::time_t seconds = static_cast<std::time_t>(nanoseconds.get<int64_t>() / 1000000000);
  char text[64];
  std::tm local{};
  localtime_r(&seconds, &local);
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &local);
  return text;
}

// Why a checkpoint with identity `then` cannot continue a run with identity
// `now`, or "" if it can.
std::string identity_difference(const json& then, const json& now, const std::string& directory) {
  const std::string where = "the checkpoint in '" + directory + "'";
  if (then.value("format", "") != now["format"] || then.value("latdisp", "") != now["latdisp"])
    return where + " was written by latdisp " + text_of(then.value("latdisp", json("?"))) + " (" +
           text_of(then.value("format", json("?"))) + "); this is latdisp " + text_of(now["latdisp"]);
  if (then.value("command", json("analyze")) != now["command"])
    return where + " was written by latdisp " + text_of(then.value("command", json("analyze"))) + "; this is latdisp " +
           text_of(now["command"]);
  if (then.value("ranks", json()) != now["ranks"])
    return where + " was written by " + text_of(then.value("ranks", json("?"))) + " ranks; this run has " +
           text_of(now["ranks"]) + " (resume at the same rank count)";
  const json& input_then = then.value("input", json::object());
  const json& input_now = now["input"];
  if (input_then.value("path", json()) != input_now["path"])
    return where + " belongs to the input '" + text_of(input_then.value("path", json("?"))) + "'; this run reads '" +
           text_of(input_now["path"]) + "'";
  const std::string changed = "the input '" + text_of(input_now["path"]) + "' changed since " + where + " was written";
  if (input_then.value("bytes", json()) != input_now["bytes"])
    return changed + ": " + text_of(input_then.value("bytes", json("?"))) + " bytes then, " +
           text_of(input_now["bytes"]) + " now";
  if (input_then.value("modified_ns", json()) != input_now["modified_ns"])
    return changed + ": modified " + modified_text(input_then.value("modified_ns", json("?"))) + " then, " +
           modified_text(input_now["modified_ns"]) + " now";
  if (input_then.value("files", json()) != input_now["files"])
    return changed + ": " + text_of(input_then.value("files", json("?"))) + " files then, " +
           text_of(input_now["files"]) + " now";
  if (input_then.value("listing_hash", json()) != input_now["listing_hash"])
    return changed + ": one of its files was replaced, resized or modified";
  if (input_then.value("head_hash", json()) != input_now["head_hash"]) return changed + ": its first bytes differ";
  if (then.value("dataset", json()) != now["dataset"] || then.value("shape", json()) != now["shape"])
    return where + " is of dataset '" + text_of(then.value("dataset", json("?"))) + "' with shape " +
           text_of(then.value("shape", json("?"))) + "; this run reads '" + text_of(now["dataset"]) + "' with shape " +
           text_of(now["shape"]);
  const json& options_then = then.value("options", json::object());
  if (then.value("dead_mask_hash", json()) != now["dead_mask_hash"] &&
      options_then.value("--dead-mask", json()) == now["options"]["--dead-mask"])
    return where + " was written with another dead mask (the mask '" + text_of(now["options"]["--dead-mask"]) +
           "' now flags other tokens)";
  for (const auto& [name, value] : now["options"].items())
    if (options_then.value(name, json()) != value)
      return where + " was written with " + name + " " + text_of(options_then.value(name, json("(unset)"))) +
             "; this run has " + name + " " + text_of(value);
  return "";
}

std::string json_type_text(const json& value) { return value.type_name(); }

// The first field of a manifest whose JSON type is wrong ("" if none): named,
// so that a damaged manifest is one clear message, never a parser's text.
std::string manifest_type_problem(const json& manifest) {
  struct Field {
    const json* parent;
    const char* name;
    json::value_t type;
    const char* expected;
  };
  const json& identity = manifest.contains("identity") ? manifest["identity"] : json::object();
  const json no_object = json::object();
  const json& input = identity.is_object() && identity.contains("input") ? identity["input"] : no_object;
  const std::vector<Field> fields{{&manifest, "format", json::value_t::string, "a string"},
                                  {&manifest, "directory", json::value_t::string, "a string"},
                                  {&manifest, "identity", json::value_t::object, "an object"},
                                  {&identity, "format", json::value_t::string, "a string"},
                                  {&identity, "latdisp", json::value_t::string, "a string"},
                                  {&identity, "input", json::value_t::object, "an object"},
                                  {&identity, "options", json::value_t::object, "an object"},
                                  {&input, "path", json::value_t::string, "a string"}};
  for (const Field& field : fields)
    if (field.parent->is_object() && field.parent->contains(field.name) &&
        (*field.parent)[field.name].type() != field.type)
      return "its field \"" + std::string(field.name) + "\" is " + json_type_text((*field.parent)[field.name]) +
             "; expected " + field.expected;
  if (!manifest["files"].is_array()) return "its field \"files\" is not an array";
  for (const json& entry : manifest["files"])
    if (!entry.is_object() || !entry.value("name", json("")).is_string() || !entry.value("hash", json("")).is_string())
      return "an entry of its field \"files\" is not an object with a string \"name\" and \"hash\"";
  return "";
}

// Rank 0 reads and checks the manifest: Error(kExitUsage) with the reason.
json read_manifest(const std::string& directory, const json& identity) {
  const std::string path = checkpoint_manifest_path(directory);
  if (access(path.c_str(), F_OK) != 0)
    fail(kExitUsage, "no checkpoint to resume from in '" + directory + "' (no " + kManifestName +
                         "): run without --resume to start from the beginning");
  json manifest;
  try {
    manifest = json::parse(read_small_file(path, kExitUsage));
  } catch (const json::exception& e) {
    fail(kExitUsage, "the checkpoint manifest '" + path + "' is damaged: " + e.what());
  }
  if (!manifest.is_object()) fail(kExitUsage, "'" + path + "' is not a latdisp checkpoint manifest of this version");
  const std::string problem = manifest_type_problem(manifest);
  if (!problem.empty()) fail(kExitUsage, "the checkpoint manifest '" + path + "' is damaged: " + problem);
  if (manifest.value("format", "") != kFormat || !manifest.contains("identity") ||
      !manifest["files"].is_array() || !manifest["next_step"].is_number_integer() ||
      !manifest["generation"].is_number_integer())
    fail(kExitUsage, "'" + path + "' is not a latdisp checkpoint manifest of this version");
  const std::string difference = identity_difference(manifest["identity"], identity, directory);
  if (!difference.empty()) fail(kExitUsage, difference + "; refusing to resume");
  return manifest;
}

void prepare_directory(const std::string& directory) {
  struct stat info {};
  if (stat(directory.c_str(), &info) != 0) {
    if (mkdir(directory.c_str(), 0755) != 0)
      fail(kExitOutput, "cannot create the checkpoint directory '" + directory + "': " + std::strerror(errno));
  } else if (!S_ISDIR(info.st_mode)) {
    fail(kExitOutput, "--checkpoint-dir '" + directory + "' exists and is not a directory");
  }
  if (access(directory.c_str(), W_OK | X_OK) != 0)
    fail(kExitOutput, "the checkpoint directory '" + directory + "' is not writable");
}

}  // namespace

std::string checkpoint_manifest_path(const std::string& directory) { return directory + "/" + kManifestName; }

Checkpointer::Checkpointer(const AnalyzeConfig& config, const TrajectoryReader& reader,
                           const std::vector<uint8_t>& dead_mask, MPI_Comm comm)
    : Checkpointer(analyze_setup(config, reader, dead_mask), comm) {}

Checkpointer::Checkpointer(const CheckpointSetup& setup, MPI_Comm comm)
    : m_comm(comm), m_command(setup.command), m_interval(setup.seconds), m_steps(setup.steps), m_last(Clock::now()) {
  MPI_Comm_rank(comm, &m_rank);
  MPI_Comm_size(comm, &m_ranks);
  if (setup.directory.empty()) return;
  collectively(comm, [&] {
    if (m_rank != 0) return;
    if (path_kind(setup.input) == PathKind::directory &&
        file_identity(setup.input) == file_identity(setup.directory))
      fail(kExitUsage, "--checkpoint-dir '" + setup.directory + "' is the series directory '" + setup.input +
                           "': its checkpoint folders would be listed as steps of the series; give the checkpoint a "
                           "folder of its own");
    prepare_directory(setup.directory);
    m_identity = run_identity(setup, m_ranks).dump();
    const std::string manifest = checkpoint_manifest_path(setup.directory);
    if (!setup.resume && access(manifest.c_str(), F_OK) == 0)
      fail(kExitUsage, "the checkpoint directory '" + setup.directory +
                           "' already holds a checkpoint: add --resume to continue that run, or remove the "
                           "directory to start afresh");
  });
  broadcast_text(m_identity, comm);
  m_directory = setup.directory;
  m_summary.directory = m_directory;
  m_deferred_stops = std::make_unique<DeferredSignalStops>();
}

Checkpointer::~Checkpointer() = default;

int64_t Checkpointer::restore(const LoadState& load) {
  std::string manifest_text;
  collectively(m_comm, [&] {
    if (m_rank == 0) manifest_text = read_manifest(m_directory, json::parse(m_identity)).dump();
  });
  broadcast_text(manifest_text, m_comm);
  const json manifest = json::parse(manifest_text);
  const int64_t generation = manifest["generation"].get<int64_t>();
  const int64_t next_step = manifest["next_step"].get<int64_t>();
  collectively(m_comm, [&] {
    if (manifest["files"].size() != static_cast<size_t>(m_ranks) || !manifest["files"][m_rank].is_object())
      fail(kExitUsage, "the checkpoint manifest in '" + m_directory + "' does not list one file per rank");
    const json& entry = manifest["files"][static_cast<size_t>(m_rank)];
    const std::string path = m_directory + "/" + manifest.value("directory", "") + "/" + entry.value("name", "");
    const uint64_t hash = verify_archive_file(path, kExitUsage);
    if (hash_text(hash) != entry.value("hash", ""))
      fail(kExitUsage, "checkpoint file '" + path + "' does not match its manifest (content hash " + hash_text(hash) +
                           ", manifest says " + entry.value("hash", "?") + "): refusing to resume");
    ArchiveReader archive(path, kExitUsage);
    if (archive.get_string("format") != kFormat || archive.get_string("identity") != manifest["identity"].dump() ||
        archive.get_int("rank") != m_rank || archive.get_int("ranks") != m_ranks ||
        archive.get_int("generation") != generation || archive.get_int("next_step") != next_step)
      archive.damaged("it belongs to another checkpoint than its manifest describes");
    load(archive, next_step);
    archive.finish();
  });
  m_generation = generation;
  m_summary.resumed_from_step = next_step;
  m_last = Clock::now();
  return next_step;
}

void Checkpointer::at_block_boundary(int64_t next_step, bool final, const SaveState& save) {
  if (!enabled()) return;
  const bool due = m_rank == 0 && seconds_since(m_last) >= m_interval;
  int requests[2] = {received_signal(), due ? 1 : 0};
  MPI_Allreduce(MPI_IN_PLACE, requests, 2, MPI_INT, MPI_MAX, m_comm);
  if (requests[0] != 0 || requests[1] != 0) write(next_step, save);
  if (final) m_deferred_stops.reset();  // what follows (reduce, save, report) cannot be checkpointed
  if (requests[0] != 0)
    fail(kExitSignal, "stopped by " + signal_name(requests[0]) + " at step " + std::to_string(next_step) +
                          " of steps 0.." + std::to_string(m_steps - 1) + "; checkpoint written to '" + m_directory +
                          "' (generation " + std::to_string(m_generation) +
                          "): run the same command with --resume to continue from step " + std::to_string(next_step));
}

void Checkpointer::write(int64_t next_step, const SaveState& save) {
  const Clock::time_point start = Clock::now();
  int64_t generation = m_generation + 1;
  collectively(m_comm, [&] {
    if (m_rank != 0) return;
    // A folder of that name left by a run killed while writing it is removed;
    // anything else of that name is not latdisp's: the next number is taken.
    struct stat info {};
    while (lstat((m_directory + "/" + generation_name(generation)).c_str(), &info) == 0 &&
           !remove_generation(m_directory, generation_name(generation)))
      ++generation;
    const std::string folder = m_directory + "/" + generation_name(generation);
    if (mkdir(folder.c_str(), 0755) != 0)
      fail(kExitOutput, "cannot create the checkpoint folder '" + folder + "': " + std::strerror(errno));
  });
  MPI_Bcast(&generation, 1, MPI_INT64_T, 0, m_comm);
  const std::string folder = m_directory + "/" + generation_name(generation);
  uint64_t size_and_hash[2] = {0, 0};
  collectively(m_comm, [&] {
    DurableFile file(folder + "/" + rank_file_name(m_rank));
    ArchiveWriter archive(file);
    archive.put_string("format", kFormat);
    archive.put_string("identity", m_identity);
    archive.put_int("rank", m_rank);
    archive.put_int("ranks", m_ranks);
    archive.put_int("generation", generation);
    archive.put_int("next_step", next_step);
    save(archive);
    size_and_hash[1] = archive.finish();
    file.commit();
    size_and_hash[0] = file.bytes_written();
  });
  std::vector<uint64_t> sizes_and_hashes(m_rank == 0 ? 2 * static_cast<size_t>(m_ranks) : 0);
  MPI_Gather(size_and_hash, 2, MPI_UINT64_T, sizes_and_hashes.data(), 2, MPI_UINT64_T, 0, m_comm);
  // Every rank file is on disk: only now does the manifest name the new generation.
  collectively(m_comm, [&] {
    if (m_rank == 0) write_manifest(generation, next_step, sizes_and_hashes);
  });
  if (m_rank == 0 && m_generation > 0) remove_replaced_generation(m_generation);
  m_generation = generation;
  m_summary.written += 1;
  m_seconds += seconds_since(start);
  m_summary.bytes_per_rank.clear();
  for (size_t r = 0; r < sizes_and_hashes.size(); r += 2) m_summary.bytes_per_rank.push_back(sizes_and_hashes[r]);
  m_last = Clock::now();
}

void Checkpointer::write_manifest(int64_t generation, int64_t next_step,
                                  const std::vector<uint64_t>& sizes_and_hashes) {
  json files = json::array();
  for (int r = 0; r < m_ranks; ++r)
    files.push_back({{"rank", r},
                     {"name", rank_file_name(r)},
                     {"bytes", sizes_and_hashes[2 * static_cast<size_t>(r)]},
                     {"hash", hash_text(sizes_and_hashes[2 * static_cast<size_t>(r) + 1])}});
  const std::time_t now = std::time(nullptr);
  char written_at[64];
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::strftime(written_at, sizeof written_at, "%Y-%m-%dT%H:%M:%SZ", &utc);
  const json manifest = {{"format", kFormat},        {"generation", generation},
                         {"next_step", next_step},   {"steps", m_steps},
                         {"written_at", written_at}, {"directory", generation_name(generation)},
                         {"files", files},           {"identity", json::parse(m_identity)}};
  const std::string text = manifest.dump(2) + "\n";
  DurableFile file(checkpoint_manifest_path(m_directory));
  file.write(text.data(), text.size());
  file.commit();
}

void Checkpointer::remove_replaced_generation(int64_t replaced) const {
  const std::string name = generation_name(replaced);
  if (!remove_generation(m_directory, name))
    std::fprintf(stderr,
                 "latdisp %s: warning: the old checkpoint folder '%s/%s' was left in place (it holds files "
                 "latdisp did not write there, or cannot be removed)\n",
                 m_command.c_str(), m_directory.c_str(), name.c_str());
}

void remove_checkpoint(const std::string& directory, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  if (directory.empty() || rank != 0) return;
  const std::string manifest = checkpoint_manifest_path(directory);
  remove_durable_temporaries(manifest);
  if (!is_own_regular_file(manifest)) return;
  // Only the generation the manifest names, and only if it is latdisp's own.
  int64_t generation = 0;
  try {
    generation = json::parse(read_small_file(manifest, kExitUsage)).value("generation", int64_t(0));
  } catch (const std::exception&) {
    return;
  }
  if (std::remove(manifest.c_str()) != 0 || generation <= 0) return;
  remove_generation(directory, generation_name(generation));
  // A run killed while writing the next generation left that folder.
  remove_generation(directory, generation_name(generation + 1));
}

}  // namespace latdisp
