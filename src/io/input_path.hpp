// Checks on every path latdisp reads, made before anything opens it: opening
// a FIFO blocks until a writer appears, and HDF5 or MPI-IO would wait there.
#pragma once

#include <string>

namespace latdisp {

// The layout W is read from (docs/formats.md): chosen once, from what the
// path is, by the trajectory reader.
enum class InputFormat { hdf5, safetensors, series };

// "hdf5", "safetensors" or "series", as the reports print it.
const char* format_name(InputFormat format);

enum class PathKind { missing, regular, directory, other };

// What `path` is, without opening it (stat follows symbolic links).
PathKind path_kind(const std::string& path);

// "a FIFO", "a directory", "a socket", ... for messages.
std::string path_kind_text(const std::string& path);

// Throws Error(kExitInput) unless `path` is a readable regular file; `role`
// names it in the message ("input file", "matrix file", ...).
void require_readable_file(const std::string& path, const std::string& role);

// Throws Error(kExitInput) unless `path` is a readable directory.
void require_readable_directory(const std::string& path, const std::string& role);

// True if the file starts with the HDF5 signature (at byte 0 or after a user
// block of 512, 1024, ... bytes). Call after require_readable_file.
bool is_hdf5_file(const std::string& path);

// True if the file starts like a safetensors file: a little-endian header
// length that fits the file, then '{'.
bool looks_like_safetensors(const std::string& path);

// The folder of `path` ("." when it has none) and its last component.
std::string parent_directory(const std::string& path);
std::string base_name(const std::string& path);
// `relative` resolved against `directory` (absolute paths unchanged).
std::string join_path(const std::string& directory, const std::string& relative);

}  // namespace latdisp
