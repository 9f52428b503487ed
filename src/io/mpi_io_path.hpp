// The name under which a file is handed to MPI-IO (and so to parallel HDF5).
// Open MPI 4.1's default MPI-IO component aborts the whole job on a path
// longer than about 210 characters (a fixed-size buffer in its shared file
// pointer component), so a long path is handed over as /proc/self/fd/N of a
// descriptor this process holds on the same file (docs/operations.md §5).
#pragma once

#include <string>

namespace latdisp {

class MpiIoPath {
 public:
  // `path` exists (an input checked to be a regular file, or a temporary
  // already created). Short paths are used as they are.
  explicit MpiIoPath(const std::string& path);
  ~MpiIoPath();
  MpiIoPath(const MpiIoPath&) = delete;
  MpiIoPath& operator=(const MpiIoPath&) = delete;

  const char* c_str() const { return m_name.c_str(); }

 private:
  int m_fd = -1;
  std::string m_name;
};

}  // namespace latdisp
