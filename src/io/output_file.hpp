// The one safe-output path for every file latdisp writes: paths checked before
// the work starts, written under a temporary name beside the target, renamed
// only when every rank finished without error, never replacing an existing
// file without --overwrite, never the input (docs/operations.md).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace latdisp {

// A file a subcommand will write: the option that named it and its path.
struct OutputTarget {
  std::string option;  // e.g. "--report"
  std::string path;    // empty: not requested
};

// Collective; call before any work. Refuses (Error(kExitOutput), one message
// naming the option and the path) a target whose folder is missing or not
// writable, that names a folder or a non-regular file, that exists without
// `overwrite`, that is one of `inputs` (files read by this run), or that is
// another target of the same run. Paths are compared as files (device and
// inode when they exist, the canonical folder plus the name otherwise), so
// `./x.h5`, `x.h5` and a symbolic link to it are one file.
void check_outputs(MPI_Comm comm, const std::vector<OutputTarget>& outputs, const std::vector<std::string>& inputs,
                   bool overwrite);

class PendingOutput {
 public:
  // Collective. Checks the target as check_outputs does (without the inputs),
  // removes the temporaries that killed runs left for this target, and agrees
  // on one temporary name, `.NAME.latdisp-partial-HOST-PID` beside the target.
  // Throws Error(kExitOutput). `option` only names the target in messages.
  PendingOutput(MPI_Comm comm, const std::string& target, bool overwrite, const std::string& option = "");
  // Removes the temporary file unless committed.
  ~PendingOutput();
  PendingOutput(const PendingOutput&) = delete;
  PendingOutput& operator=(const PendingOutput&) = delete;

  const std::string& temporary_path() const { return m_temporary; }
  const std::string& target() const { return m_target; }
  // Collective, once every rank has written and closed the temporary without
  // error: agrees that no rank failed or was signalled, then rank 0 syncs the
  // file to disk and renames it into place. Throws Error(kExitOutput) naming
  // the file and the OS reason; the temporary is then removed.
  void commit();

 private:
  MPI_Comm m_comm;
  std::string m_target;
  std::string m_temporary;
  int m_signal_slot = -1;
  bool m_committed = false;
};

// Collective: rank 0 writes `text` to `target` through a PendingOutput (every
// write, flush, sync and close checked), then every rank commits. For the
// JSON reports and CSV tables.
void write_text_output(MPI_Comm comm, const std::string& target, bool overwrite, const std::string& text,
                       const std::string& option = "");

// Collective: reserves disk space for the first `bytes` of `path` (rank 0,
// fallocate, the file's size unchanged), so that a full disk or an exhausted
// quota is an error now, agreed by every rank, not a collective write that
// fails on one rank only (MPI-IO's collective writes can then leave the
// others waiting). File systems that cannot reserve are left alone. Throws
// Error(kExitOutput). Space reserved beyond the final size is released by
// PendingOutput::commit().
void reserve_output_space(MPI_Comm comm, const std::string& path, uint64_t bytes);

// Why a write to `path` failed, in the OS's words: `saved_errno` if it is set,
// else "No space left on device" if the file system holding `path` is full,
// else `library_text` (the library's own message).
std::string write_failure_reason(const std::string& path, int saved_errno, const std::string& library_text);

// The name to show for a file being written: its target if `path` is the
// temporary of a PendingOutput of this process, else `path` itself.
std::string output_name_of(const std::string& path);

// The path a target option was given as, for messages: "--report 'r.json'".
std::string describe_target(const std::string& option, const std::string& path);

}  // namespace latdisp
