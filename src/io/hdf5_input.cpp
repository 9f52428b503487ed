#include "io/hdf5_input.hpp"

#include <algorithm>

#include "io/hdf5_storage_checks.hpp"
#include "io/input_path.hpp"
#include "io/mpi_io_path.hpp"
#include "io/shape_text.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

// HDF5 1.12 renamed the link and object info types and their calls.
#if H5_VERSION_GE(1, 12, 0)
using LinkInfo = H5L_info2_t;
bool is_dataset(hid_t group, const char* name) {
  H5O_info2_t info;
  return H5Oget_info_by_name3(group, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) >= 0 && info.type == H5O_TYPE_DATASET;
}
#else
using LinkInfo = H5L_info_t;
bool is_dataset(hid_t group, const char* name) {
  H5O_info_t info;
  return H5Oget_info_by_name2(group, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) >= 0 && info.type == H5O_TYPE_DATASET;
}
#endif

herr_t collect_dataset_name(hid_t group, const char* name, const LinkInfo*, void* data) {
  if (is_dataset(group, name)) static_cast<std::vector<std::string>*>(data)->push_back(name);
  return 0;
}

// "3..5, 9" from a sorted list of steps.
std::string step_ranges(const std::vector<int64_t>& steps) {
  std::string text;
  for (size_t i = 0; i < steps.size();) {
    size_t j = i;
    while (j + 1 < steps.size() && steps[j + 1] == steps[j] + 1) ++j;
    text += (text.empty() ? "" : ", ") + std::to_string(steps[i]) + (j > i ? ".." + std::to_string(steps[j]) : "");
    i = j + 1;
  }
  return text;
}

// Chunk lookups are B-tree searches; past this many the message gives counts only.
constexpr int64_t kMaxChunkLookups = 4 * 1000 * 1000;

// The indices along axis 0 whose chunks are not all written; empty if the
// grid is too large to search.
std::vector<int64_t> steps_with_missing_chunks(hid_t dataset, const std::vector<int64_t>& extent,
                                               const std::vector<hsize_t>& chunk) {
  std::vector<int64_t> grid(extent.size());
  int64_t lookups = 1;
  for (size_t i = 0; i < extent.size(); ++i) {
    grid[i] = (extent[i] + static_cast<int64_t>(chunk[i]) - 1) / static_cast<int64_t>(chunk[i]);
    lookups *= std::max<int64_t>(grid[i], 1);
  }
  std::vector<int64_t> steps;
  if (extent.empty() || lookups > kMaxChunkLookups) return steps;
  std::vector<int64_t> index(extent.size(), 0);
  std::vector<hsize_t> offset(extent.size());
  for (int64_t n = 0; n < lookups; ++n) {
    int64_t rest = n;
    for (size_t i = extent.size(); i-- > 0;) {
      index[i] = rest % grid[i];
      rest /= grid[i];
      offset[i] = static_cast<hsize_t>(index[i]) * chunk[i];
    }
    unsigned filter_mask = 0;
    haddr_t address = HADDR_UNDEF;
    hsize_t size = 0;
    if (H5Dget_chunk_info_by_coord(dataset, offset.data(), &filter_mask, &address, &size) < 0 ||
        address == HADDR_UNDEF) {
      const int64_t first = index[0] * static_cast<int64_t>(chunk[0]);
      const int64_t last = std::min(extent[0], first + static_cast<int64_t>(chunk[0]));
      for (int64_t s = first; s < last; ++s)
        if (steps.empty() || steps.back() < s) steps.push_back(s);
    }
  }
  H5Eclear2(H5E_DEFAULT);
  std::sort(steps.begin(), steps.end());
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  return steps;
}

}  // namespace

Hdf5Handle open_hdf5_input(MPI_Comm comm, const std::string& path, const std::string& role, bool collective_metadata) {
  require_readable_file(path, role);
  Hdf5Handle fapl;
  if (collective_metadata) {
    fapl = mpio_file_access(comm);
  } else {
    fapl = Hdf5Handle(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
    H5Pset_fapl_mpio(fapl.get(), comm, MPI_INFO_NULL);
  }
  const MpiIoPath mpi_path(path);
  Hdf5Handle file(H5Fopen(mpi_path.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose);
  if (!file.valid()) {
    const std::string why = hdf5_error_text();
    fail(kExitInput, "cannot open " + role + " '" + path + "' as an HDF5 file (not HDF5, truncated or corrupt" +
                         (why.empty() ? std::string(")") : "; HDF5 says: " + why + ")"));
  }
  // MPI-IO reads past the end of a file return zeros: catch a truncated file
  // here rather than analyze zeros.
  haddr_t allocated = 0;
  hsize_t size = 0;
  if (H5Fget_eoa(file.get(), &allocated) >= 0 && H5Fget_filesize(file.get(), &size) >= 0 && size < allocated)
    fail(kExitInput, role + " '" + path + "' is truncated: " + std::to_string(size) + " bytes, but its HDF5 " +
                         "metadata needs " + std::to_string(allocated) + " (an interrupted copy or write?)");
  return file;
}

bool hdf5_link_exists(hid_t file, const std::string& name) {
  const htri_t exists = H5Lexists(file, name.c_str(), H5P_DEFAULT);
  H5Eclear2(H5E_DEFAULT);
  return exists > 0;
}

std::vector<std::string> hdf5_root_datasets(hid_t file) {
  std::vector<std::string> names;
#if H5_VERSION_GE(1, 12, 0)
  H5Literate2(file, H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_dataset_name, &names);
#else
  H5Literate(file, H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_dataset_name, &names);
#endif
  H5Eclear2(H5E_DEFAULT);
  return names;
}

std::string names_text(const std::vector<std::string>& names, size_t limit) {
  std::string text;
  for (size_t i = 0; i < names.size() && i < limit; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > limit) text += " (and " + std::to_string(names.size() - limit) + " more)";
  return text;
}

std::vector<int64_t> hdf5_dataset_extent(hid_t dataset) {
  Hdf5Handle space(H5Dget_space(dataset), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(static_cast<size_t>(std::max(rank, 0)));
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return std::vector<int64_t>(dims.begin(), dims.end());
}

void require_written_storage(hid_t dataset, const std::string& what) {
  const std::vector<int64_t> extent = hdf5_dataset_extent(dataset);
  int64_t values = 1;
  for (int64_t e : extent)
    if (__builtin_mul_overflow(values, e, &values))
      fail(kExitInput, what + " has shape " + shape_text(extent) + ": more values than 64 bits can count");
  if (values == 0) return;
  require_readable_external_storage(dataset, what);
  H5D_space_status_t status = H5D_SPACE_STATUS_ERROR;
  if (H5Dget_space_status(dataset, &status) >= 0 && status == H5D_SPACE_STATUS_NOT_ALLOCATED)
    fail(kExitInput,
         what + " was created but never written: its storage is unallocated, so every read would " +
             "return fill values" +
             (extent.empty() ? std::string()
                             : " (all " + std::to_string(extent[0]) + " steps); an interrupted recording?"));
  const Hdf5Handle dcpl(H5Dget_create_plist(dataset), H5Pclose);
  if (H5Pget_layout(dcpl.get()) != H5D_CHUNKED) return;
  std::vector<hsize_t> chunk(extent.size());
  if (H5Pget_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()) != static_cast<int>(chunk.size())) return;
  int64_t expected = 1;
  for (size_t i = 0; i < extent.size(); ++i)
    expected *= (extent[i] - 1) / static_cast<int64_t>(chunk[i]) + 1;
  hsize_t written = 0;
  const Hdf5Handle space(H5Dget_space(dataset), H5Sclose);  // HDF5 1.10 refuses H5S_ALL here
  if (H5Dget_num_chunks(dataset, space.get(), &written) < 0) {
    H5Eclear2(H5E_DEFAULT);
    return;
  }
  if (static_cast<int64_t>(written) >= expected) return;
  const std::vector<int64_t> steps = steps_with_missing_chunks(dataset, extent, chunk);
  fail(kExitInput,
       what + " has " + std::to_string(expected - static_cast<int64_t>(written)) + " of " + std::to_string(expected) +
           " chunks never written" +
           (steps.empty() ? std::string() : " (steps " + step_ranges(steps) + " would read as fill values)") +
           "; an interrupted recording?");
}

herr_t read_hyperslab(hid_t dataset, hid_t memory_type, const std::vector<hsize_t>& start,
                      const std::vector<hsize_t>& count, void* buffer, bool collective) {
  herr_t status = -1;
  hid_t errors = -1;
  {
    const BoxSpaces box = box_spaces(dataset, start, count);
    if (!box.selected) return -1;
    const Hdf5Handle transfer = collective ? collective_transfer() : Hdf5Handle();
    status = H5Dread(dataset, memory_type, box.memory.get(), box.file.get(), collective ? transfer.get() : H5P_DEFAULT,
                     buffer);
    if (status < 0) errors = H5Eget_current_stack();
  }
  // Closing the handles above cleared HDF5's error stack: the read's own
  // errors go back on it, so that the message can say why (hdf5_error_text).
  if (errors >= 0) H5Eset_current_stack(errors);
  return status;
}

}  // namespace latdisp
