// Which files a run reads, and whether two paths name one file: the output
// checks compare every file a run writes against every file it reads
// (docs/operations.md §5).
#pragma once

#include <string>
#include <vector>

namespace latdisp {

// The files read for the input `path`: the path itself, and for a checkpoint
// series (a directory, a glob pattern, a .txt manifest, a checkpoint folder
// or a sharded index) every checkpoint file, index and shard it names. A
// series that cannot be listed yields what could be listed (the reader
// reports the fault when it opens the input). Never opens a FIFO.
std::vector<std::string> files_read_for(const std::string& path);

// One key per file: device and inode when the path resolves, else the real
// path of its folder and its name, so that two spellings, a hard link or a
// symbolic link of one file compare equal.
std::string file_identity(const std::string& path);

}  // namespace latdisp
