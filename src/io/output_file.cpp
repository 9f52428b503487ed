#include "io/output_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>

#include "io/durable_file.hpp"
#include "io/file_identity.hpp"
#include "parallel/errors.hpp"
#include "parallel/memory.hpp"
#include "parallel/signals.hpp"

namespace latdisp {

std::string describe_target(const std::string& option, const std::string& path) {
  return (option.empty() ? std::string("output") : option) + " '" + path + "'";
}

std::string write_failure_reason(const std::string& path, int saved_errno, const std::string& library_text) {
  if (saved_errno != 0) return std::strerror(saved_errno);
  struct statvfs disk {};
  const size_t slash = path.rfind('/');
  const std::string folder = slash == std::string::npos ? "." : path.substr(0, std::max<size_t>(slash, 1));
  if (statvfs(folder.c_str(), &disk) == 0 && disk.f_bavail == 0) return std::strerror(ENOSPC);
  return library_text.empty() ? std::string("the write failed") : library_text;
}

namespace {

// Temporaries of this process's PendingOutputs and their targets.
std::map<std::string, std::string>& pending_targets() {
  static std::map<std::string, std::string> targets;
  return targets;
}

// Bytes reserved per file by reserve_output_space (rank 0).
std::map<std::string, uint64_t>& reserved_bytes() {
  static std::map<std::string, uint64_t> reserved;
  return reserved;
}

std::string directory_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string file_name_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string errno_text() { return std::strerror(errno); }

// A name longer than its folder allows fails now, not when the file is
// written after the work (the temporary's name is cut to fit, not the target's).
void check_name_lengths(const std::string& what, const std::string& path) {
  const long name_max = pathconf(directory_of(path).c_str(), _PC_NAME_MAX);
  const size_t limit = name_max > 0 ? static_cast<size_t>(name_max) : size_t(NAME_MAX);
  if (file_name_of(path).size() > limit)
    fail(kExitOutput, "cannot write " + what + ": its name is " + std::to_string(file_name_of(path).size()) +
                          " characters long; the folder allows at most " + std::to_string(limit));
  if (path.size() >= PATH_MAX)
    fail(kExitOutput, "cannot write " + what + ": the path is " + std::to_string(path.size()) +
                          " characters long; at most " + std::to_string(PATH_MAX - 1) + " are possible");
}

// Throws Error(kExitOutput) unless `path` can be created beside its siblings
// (or, with `overwrite`, replaced).
void check_target(const std::string& option, const std::string& path, bool overwrite) {
  const std::string what = describe_target(option, path);
  if (path.empty()) fail(kExitUsage, what + ": the path is empty");
  if (path.back() == '/') fail(kExitOutput, what + " names a folder; give a file name");
  check_name_lengths(what, path);
  struct stat info {};
  if (lstat(path.c_str(), &info) == 0) {
    const bool resolves = stat(path.c_str(), &info) == 0;
    if (resolves && S_ISDIR(info.st_mode)) fail(kExitOutput, what + " is a folder; give a file name");
    if (resolves && !S_ISREG(info.st_mode)) fail(kExitOutput, what + " exists and is not a regular file");
    if (!overwrite) fail(kExitOutput, what + " exists; pass --overwrite to replace it");
  } else if (errno != ENOENT) {
    fail(kExitOutput, "cannot write " + what + ": " + errno_text());
  }
  const std::string folder = directory_of(path);
  struct stat folder_info {};
  if (stat(folder.c_str(), &folder_info) != 0)
    fail(kExitOutput, "cannot write " + what + ": folder '" + folder + "' " +
                          (errno == ENOENT ? std::string("does not exist") : errno_text()));
  if (!S_ISDIR(folder_info.st_mode)) fail(kExitOutput, "cannot write " + what + ": '" + folder + "' is not a folder");
  if (access(folder.c_str(), W_OK | X_OK) != 0)
    fail(kExitOutput, "cannot write " + what + ": folder '" + folder + "' is not writable (" + errno_text() + ")");
}

std::string host_name() {
  char name[HOST_NAME_MAX + 1] = {0};
  if (gethostname(name, sizeof name - 1) != 0) return "host";
  return name;
}

// Temporaries are `.NAME.latdisp-partial-HOST-PID-RANDOM` beside the target,
// NAME cut short so that the whole name stays within the folder's limit.
constexpr size_t kTemporaryNameRoom = 120;

std::string temporary_prefix(const std::string& target) {
  return "." + file_name_of(target).substr(0, kTemporaryNameRoom) + ".latdisp-partial-";
}

// Creates a new, empty temporary beside `target` for this process (never an
// existing name, never through a symbolic link) and returns its path.
std::string create_temporary(const std::string& target, const std::string& what) {
  const std::string stem = directory_of(target) + "/" + temporary_prefix(target) + host_name() + "-" +
                           std::to_string(getpid()) + "-";
  for (int attempt = 0; attempt < 16; ++attempt) {
    const std::string path = stem + random_name_suffix();
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd >= 0) {
      close(fd);
      return path;
    }
    if (errno != EEXIST) fail(kExitOutput, "cannot create the temporary file for " + what + ": " + errno_text());
  }
  fail(kExitOutput, "cannot create the temporary file for " + what + ": every name tried exists");
}

// The PID of a temporary name's `PID` or `PID-RANDOM` tail; -1 if it is not one.
pid_t pid_of_temporary_tail(const std::string& tail) {
  const size_t dash = tail.find('-');
  const std::string pid_text = tail.substr(0, dash);
  if (pid_text.empty() || pid_text.size() > 9 || pid_text.find_first_not_of("0123456789") != std::string::npos)
    return -1;
  if (dash != std::string::npos) {
    const std::string random = tail.substr(dash + 1);
    if (random.size() != 16 || random.find_first_not_of("0123456789abcdef") != std::string::npos) return -1;
  }
  return static_cast<pid_t>(std::stol(pid_text));
}

// "NAME" and the state letter of a process, from /proc/PID/stat ("" if gone).
std::pair<std::string, char> process_name_and_state(const std::string& pid) {
  std::ifstream stat_file("/proc/" + pid + "/stat");
  std::string text;
  std::getline(stat_file, text);
  const size_t open = text.find('('), close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 2 >= text.size()) return {"", '?'};
  return {text.substr(open + 1, close - open - 1), text[close + 2]};
}

// Is process `pid` a live run of this same program (so its temporary is in use)?
// A zombie, or a process reusing the number, is not.
bool still_writing(pid_t pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return false;
  const auto [name, state] = process_name_and_state(std::to_string(pid));
  if (name.empty()) return true;  // no /proc to ask: assume it is alive
  return state != 'Z' && state != 'X' && name == process_name_and_state("self").first;
}

// Temporaries of `target` that a killed run of this user on this host left:
// named by temporary_prefix, then HOST-PID[-RANDOM], regular files owned by
// this user, with no such process alive any more. Anything else is left alone.
void remove_stale_temporaries(const std::string& target) {
  const std::string folder = directory_of(target), prefix = temporary_prefix(target) + host_name() + "-";
  DIR* directory = opendir(folder.c_str());
  if (!directory) return;
  while (const dirent* entry = readdir(directory)) {
    const std::string name = entry->d_name;
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const pid_t pid = pid_of_temporary_tail(name.substr(prefix.size()));
    if (pid <= 0 || pid == getpid() || still_writing(pid)) continue;
    const std::string stale = folder + "/" + name;
    if (is_own_regular_file(stale) && unlink(stale.c_str()) == 0)
      std::fprintf(stderr, "latdisp: removed '%s', a partial file that an interrupted run left\n", stale.c_str());
  }
  closedir(directory);
}

void broadcast_string(std::string& text, MPI_Comm comm) {
  int length = static_cast<int>(text.size());
  MPI_Bcast(&length, 1, MPI_INT, 0, comm);
  std::vector<char> bytes(text.begin(), text.end());
  bytes.resize(static_cast<size_t>(length));
  if (length > 0) MPI_Bcast(bytes.data(), length, MPI_CHAR, 0, comm);
  text.assign(bytes.begin(), bytes.end());
}

int rank_of(MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  return rank;
}

// Flushes a finished file's data to the disk (so a full disk or a quota that
// only shows at write-back is seen now, before the rename).
void sync_file(const std::string& path, const std::string& target) {
  const int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) fail(kExitOutput, "cannot write '" + target + "': " + errno_text());
  const int status = fsync(fd);
  const int saved = errno;
  close(fd);
  if (status != 0) fail(kExitOutput, "cannot write '" + target + "': " + std::strerror(saved));
}

// Gives back what reserve_output_space held beyond the file's final size.
void release_unused_reservation(const std::string& path) {
  const auto found = reserved_bytes().find(path);
  if (found == reserved_bytes().end()) return;
  const uint64_t reserved = found->second;
  reserved_bytes().erase(found);
  const int fd = open(path.c_str(), O_WRONLY);
  if (fd < 0) return;
  struct stat info {};
  if (fstat(fd, &info) == 0 && static_cast<uint64_t>(info.st_size) < reserved)
    fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, info.st_size,
              static_cast<off_t>(reserved - static_cast<uint64_t>(info.st_size)));
  close(fd);
}

void sync_folder(const std::string& folder) {
  const int fd = open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  fsync(fd);  // not every file system syncs folders; the rename itself is done
  close(fd);
}

}  // namespace

std::string output_name_of(const std::string& path) {
  const auto found = pending_targets().find(path);
  return found == pending_targets().end() ? path : found->second;
}

void check_outputs(MPI_Comm comm, const std::vector<OutputTarget>& outputs, const std::vector<std::string>& inputs,
                   bool overwrite) {
  collectively(comm, [&] {
    if (rank_of(comm) != 0) return;
    std::vector<std::pair<std::string, std::string>> read_files;  // (input, a file read for it)
    for (const std::string& input : inputs)
      if (!input.empty())
        for (const std::string& file : files_read_for(input)) read_files.emplace_back(input, file);
    std::vector<std::pair<std::string, const OutputTarget*>> seen;
    for (const OutputTarget& output : outputs) {
      if (output.path.empty()) continue;
      const std::string key = file_identity(output.path);
      for (const auto& [input, file] : read_files)
        if (file_identity(file) == key)
          fail(kExitOutput, describe_target(output.option, output.path) +
                                (file == input ? " is the input '" + input + "'"
                                               : " is '" + file + "', a file of the input '" + input + "'") +
                                ": latdisp never writes over what it reads");
      for (const auto& [other_key, other] : seen)
        if (other_key == key)
          fail(kExitOutput, describe_target(output.option, output.path) + " is the same file as " +
                                describe_target(other->option, other->path) + ": give each output its own name");
      check_target(output.option, output.path, overwrite);
      seen.emplace_back(key, &output);
    }
  });
}

PendingOutput::PendingOutput(MPI_Comm comm, const std::string& target, bool overwrite, const std::string& option)
    : m_comm(comm), m_target(target) {
  collectively(comm, [&] {
    if (rank_of(comm) != 0) return;
    check_target(option, target, overwrite);
    remove_stale_temporaries(target);
    m_temporary = create_temporary(target, describe_target(option, target));
  });
  broadcast_string(m_temporary, comm);
  m_signal_slot = register_temporary(m_temporary);
  pending_targets()[m_temporary] = m_target;
}

PendingOutput::~PendingOutput() {
  unregister_temporary(m_signal_slot);
  pending_targets().erase(m_temporary);
  reserved_bytes().erase(m_temporary);
  if (!m_committed && rank_of(m_comm) == 0) unlink(m_temporary.c_str());
}

void PendingOutput::commit() {
  // Every rank has reached this point without an error or a stop signal.
  collectively(m_comm, [] {});
  collectively(m_comm, [&] {
    if (rank_of(m_comm) != 0) return;
    release_unused_reservation(m_temporary);
    sync_file(m_temporary, m_target);
    if (std::rename(m_temporary.c_str(), m_target.c_str()) != 0)
      fail(kExitOutput,
           "cannot move the finished '" + m_target + "' into place (from '" + m_temporary + "'): " + errno_text());
    sync_folder(directory_of(m_target));
  });
  m_committed = true;
  unregister_temporary(m_signal_slot);
  m_signal_slot = -1;
}

void reserve_output_space(MPI_Comm comm, const std::string& path, uint64_t bytes) {
  collectively(comm, [&] {
    if (rank_of(comm) != 0 || bytes <= reserved_bytes()[path]) return;
    const int fd = open(path.c_str(), O_WRONLY);
    if (fd < 0) fail(kExitOutput, "cannot write '" + output_name_of(path) + "': " + errno_text());
    const int status = fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(bytes));
    const int saved = errno;
    close(fd);
    if (status == 0) {
      reserved_bytes()[path] = bytes;
      return;
    }
    if (saved == EOPNOTSUPP || saved == ENOSYS || saved == EINVAL) return;  // cannot reserve here: writes still checked
    struct statvfs disk {};
    std::string available;
    if (statvfs(directory_of(path).c_str(), &disk) == 0)
      available = "; " + format_bytes(static_cast<uint64_t>(disk.f_bavail) * disk.f_frsize) + " more are free";
    fail(kExitOutput, "cannot write '" + output_name_of(path) + "': " + std::strerror(saved) + " (the file needs " +
                          format_bytes(bytes) + available + ")");
  });
}

void write_text_output(MPI_Comm comm, const std::string& target, bool overwrite, const std::string& text,
                       const std::string& option) {
  PendingOutput output(comm, target, overwrite, option);
  collectively(comm, [&] {
    if (rank_of(comm) != 0) return;
    const std::string& path = output.temporary_path();
    const int fd = open(path.c_str(), O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
    std::FILE* file = fd < 0 ? nullptr : fdopen(fd, "wb");
    if (fd >= 0 && !file) close(fd);
    if (!file) fail(kExitOutput, "cannot write " + describe_target(option, target) + ": " + errno_text());
    errno = 0;
    bool ok = std::fwrite(text.data(), 1, text.size(), file) == text.size();
    ok = ok && std::fflush(file) == 0;
    ok = ok && fsync(fileno(file)) == 0;
    int saved = ok ? 0 : errno;
    if (std::fclose(file) != 0 && ok) {
      ok = false;
      saved = errno;
    }
    if (!ok)
      fail(kExitOutput,
           "cannot write " + describe_target(option, target) + ": " + write_failure_reason(path, saved, ""));
  });
  output.commit();
}

}  // namespace latdisp
