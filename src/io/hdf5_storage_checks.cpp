#include "io/hdf5_storage_checks.hpp"

#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "io/hdf5_handles.hpp"
#include "io/input_path.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

// The name HDF5 gave the file an object was opened from.
std::string file_name_of_object(hid_t object) {
  const Hdf5Handle file(H5Iget_file_id(object), H5Fclose);
  if (!file.valid()) return "";
  const ssize_t length = H5Fget_name(file.get(), nullptr, 0);
  if (length <= 0) return "";
  std::vector<char> name(static_cast<size_t>(length) + 1);
  H5Fget_name(file.get(), name.data(), name.size());
  return std::string(name.data());
}

// HDF5's prefix for relative external file names: HDF5_EXTFILE_PREFIX, else
// the dataset access property; "${ORIGIN}" is the folder of the HDF5 file.
std::string external_prefix(hid_t dataset) {
  std::string prefix;
  if (const char* from_environment = std::getenv("HDF5_EXTFILE_PREFIX")) {
    prefix = from_environment;
  } else {
    const Hdf5Handle access(H5Dget_access_plist(dataset), H5Pclose);
    const ssize_t length = access.valid() ? H5Pget_efile_prefix(access.get(), nullptr, 0) : -1;
    if (length > 0) {
      std::vector<char> text(static_cast<size_t>(length) + 1);
      H5Pget_efile_prefix(access.get(), text.data(), text.size());
      prefix = text.data();
    }
  }
  H5Eclear2(H5E_DEFAULT);
  if (prefix.compare(0, 9, "${ORIGIN}") == 0) prefix = parent_directory(file_name_of_object(dataset)) + prefix.substr(9);
  return prefix == "." ? "" : prefix;
}

std::string resolve_external(const std::string& prefix, const std::string& name) {
  if (prefix.empty() || name.empty() || name[0] == '/') return name;
  return prefix + (prefix.back() == '/' ? "" : "/") + name;
}

// The dataset's size in bytes; false if it does not fit 64 bits.
bool dataset_bytes(hid_t dataset, uint64_t& bytes) {
  const Hdf5Handle space(H5Dget_space(dataset), H5Sclose);
  const Hdf5Handle type(H5Dget_type(dataset), H5Tclose);
  const hssize_t values = space.valid() ? H5Sget_simple_extent_npoints(space.get()) : -1;
  const size_t size = type.valid() ? H5Tget_size(type.get()) : 0;
  if (values < 0 || size == 0) return false;
  return !__builtin_mul_overflow(static_cast<uint64_t>(values), static_cast<uint64_t>(size), &bytes);
}

// Throws unless the external file `path` holds `need` bytes from `offset`.
void require_external_part(const std::string& path, uint64_t offset, uint64_t need, const std::string& what) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0)
    fail(kExitInput, what + " keeps its values in the external file '" + path + "', which " +
                         (errno == ENOENT ? std::string("does not exist") : "cannot be read"));
  if (!S_ISREG(info.st_mode))
    fail(kExitInput, what + " keeps its values in the external file '" + path + "', which is " +
                         path_kind_text(path) + ", not a regular file");
  uint64_t end = 0;
  if (__builtin_add_overflow(offset, need, &end) || static_cast<uint64_t>(info.st_size) < end)
    fail(kExitInput, what + " keeps bytes " + std::to_string(offset) + ".." + std::to_string(offset + need) +
                         " of its values in the external file '" + path + "', which holds only " +
                         std::to_string(info.st_size) + " bytes (a truncated file? HDF5 would read zeros)");
}

}  // namespace

bool dataset_bytes_in_file(hid_t file, hid_t dataset) {
  const Hdf5Handle creation(H5Dget_create_plist(dataset), H5Pclose);
  const bool external = !creation.valid() || H5Pget_external_count(creation.get()) != 0;
  const std::string opened = file_name_of_object(file), holder = file_name_of_object(dataset);
  H5Eclear2(H5E_DEFAULT);
  return !external && !opened.empty() && opened == holder;
}

void require_readable_external_storage(hid_t dataset, const std::string& what) {
  const Hdf5Handle creation(H5Dget_create_plist(dataset), H5Pclose);
  const int count = creation.valid() ? H5Pget_external_count(creation.get()) : 0;
  H5Eclear2(H5E_DEFAULT);
  if (count <= 0) return;
  uint64_t remaining = 0;
  if (!dataset_bytes(dataset, remaining)) fail(kExitInput, what + " declares more bytes than can be addressed");
  const std::string prefix = external_prefix(dataset);
  for (int i = 0; i < count && remaining > 0; ++i) {
    char name[4096] = {0};
    off_t offset = 0;
    hsize_t size = 0;
    if (H5Pget_external(creation.get(), static_cast<unsigned>(i), sizeof name, name, &offset, &size) < 0)
      fail(kExitInput, what + ": its external storage list cannot be read: " + hdf5_error_text());
    const uint64_t need = std::min<uint64_t>(remaining, size);
    require_external_part(resolve_external(prefix, name), static_cast<uint64_t>(offset), need, what);
    remaining -= need;
  }
}

}  // namespace latdisp
