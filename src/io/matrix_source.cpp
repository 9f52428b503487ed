#include "io/matrix_source.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <hdf5.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "parallel/errors.hpp"
#include "io/hdf5_handles.hpp"
#include "io/safetensors.hpp"
#include "io/transfer_limits.hpp"

namespace latdisp {

namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

#if H5_VERSION_GE(1, 12, 0)
herr_t collect_dataset_name(hid_t group, const char* name, const H5L_info2_t*, void* data) {
  H5O_info2_t info;
  const herr_t status = H5Oget_info_by_name3(group, name, &info, H5O_INFO_BASIC, H5P_DEFAULT);
#else
herr_t collect_dataset_name(hid_t group, const char* name, const H5L_info_t*, void* data) {
  H5O_info_t info;
  const herr_t status = H5Oget_info_by_name2(group, name, &info, H5O_INFO_BASIC, H5P_DEFAULT);
#endif
  if (status >= 0 && info.type == H5O_TYPE_DATASET) static_cast<std::vector<std::string>*>(data)->push_back(name);
  return 0;
}

}  // namespace

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

MatrixLocation parse_matrix_location(const std::string& text, const std::string& default_name) {
  MatrixLocation location;
  const size_t slash = text.rfind('/');
  const size_t tail = slash == std::string::npos ? 0 : slash + 1;
  std::string rest = text;
  const size_t at = rest.find('@', tail);
  if (at != std::string::npos) {
    const std::string step = rest.substr(at + 1);
    if (step.empty() || step.find_first_not_of("0123456789") != std::string::npos || step.size() > 18)
      fail(kExitUsage, "'" + text + "': the step after '@' must be a non-negative integer, not '" + step + "'");
    location.step = std::stoll(step);
    rest = rest.substr(0, at);
  }
  const size_t colon = rest.find(':', tail);
  if (colon != std::string::npos) {
    location.name = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    if (location.name.empty()) fail(kExitUsage, "'" + text + "': empty tensor name after ':'");
  } else {
    location.name = default_name;
  }
  if (rest.empty()) fail(kExitUsage, "'" + text + "': no file name");
  location.path = rest;
  return location;
}

bool is_hdf5_file(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return false;
  char signature[8] = {};
  const ssize_t got = pread(fd, signature, 8, 0);
  close(fd);
  return got == 8 && std::memcmp(signature, "\x89HDF\r\n\x1a\n", 8) == 0;
}

struct MatrixSource::Impl {
  int fd = -1;
  int64_t first_byte = 0;  // safetensors: file offset of row 0 of the chosen step
  Hdf5Handle file;
  Hdf5Handle dataset;
  Hdf5Handle memory_type;
  bool three_d = false;
  ~Impl() {
    if (fd >= 0) close(fd);
  }
};

MatrixSource::MatrixSource(MPI_Comm comm, const std::string& location_text)
    : m_impl(std::make_unique<Impl>()), m_comm(comm) {
  collectively(comm, [&] {
    m_location = parse_matrix_location(location_text);
    const std::string& path = m_location.path;
    const std::string& name = m_location.name;
    if (access(path.c_str(), F_OK) != 0) fail(kExitInput, "matrix file '" + path + "' does not exist");
    if (access(path.c_str(), R_OK) != 0) fail(kExitInput, "matrix file '" + path + "' is not readable");
    std::vector<int64_t> shape;
    std::string type_name;
    if (!is_hdf5_file(path)) {
      m_format = "safetensors";
      const SafetensorsFile header = read_safetensors_header(path);
      const SafetensorsTensor* tensor = header.find(name);
      if (!tensor)
        fail(kExitInput, "'" + path + "' has no tensor '" + name + "' (tensors present: " + header.tensor_names() +
                             "; name one as FILE:TENSOR)");
      type_name = tensor->dtype;
      if (type_name != "BF16" && type_name != "U16" && type_name != "I16")
        fail(kExitInput, "tensor '" + name + "' in '" + path + "' has dtype " + type_name +
                             "; expected BF16 (or U16/I16 holding bfloat16 bits)");
      shape = tensor->shape;
      m_impl->first_byte = tensor->begin;
      m_impl->fd = open(path.c_str(), O_RDONLY);
      if (m_impl->fd < 0) fail(kExitInput, "cannot open '" + path + "': " + std::strerror(errno));
    } else {
      m_format = "hdf5";
      Hdf5Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
      // No collective metadata reads: single ranks read rows independently.
      H5Pset_fapl_mpio(fapl.get(), comm, MPI_INFO_NULL);
      m_impl->file = Hdf5Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose);
      if (!m_impl->file.valid())
        fail(kExitInput, "cannot open '" + path + "' as HDF5 (truncated or corrupt?): " + hdf5_error_text());
      haddr_t allocated = 0;
      hsize_t size = 0;
      if (H5Fget_eoa(m_impl->file.get(), &allocated) >= 0 && H5Fget_filesize(m_impl->file.get(), &size) >= 0 &&
          size < allocated)
        fail(kExitInput, "matrix file '" + path + "' is truncated: " + std::to_string(size) +
                             " bytes, but its HDF5 metadata needs " + std::to_string(allocated));
      const htri_t exists = H5Lexists(m_impl->file.get(), name.c_str(), H5P_DEFAULT);
      H5Eclear2(H5E_DEFAULT);
      if (exists <= 0) {
        std::string present;
        for (const std::string& n : hdf5_root_datasets(m_impl->file.get()))
          present += (present.empty() ? "" : ", ") + n;
        fail(kExitInput, "'" + path + "' has no dataset '" + name + "' (datasets present: " +
                             (present.empty() ? std::string("none") : present) + "; name one as FILE:DATASET)");
      }
      m_impl->dataset = Hdf5Handle(H5Dopen2(m_impl->file.get(), name.c_str(), H5P_DEFAULT), H5Dclose);
      if (!m_impl->dataset.valid()) fail(kExitInput, "'" + name + "' in '" + path + "' is not a dataset");
      const Hdf5Handle type(H5Dget_type(m_impl->dataset.get()), H5Tclose);
      type_name = describe_type(type.get());
      if (H5Tget_class(type.get()) != H5T_INTEGER || H5Tget_size(type.get()) != 2)
        fail(kExitInput, "dataset '" + name + "' in '" + path + "' has type " + type_name +
                             "; expected uint16 or int16 holding bfloat16 bits");
      const bool signed_type = H5Tget_sign(type.get()) != H5T_SGN_NONE;
      m_impl->memory_type = Hdf5Handle(H5Tcopy(signed_type ? H5T_NATIVE_INT16 : H5T_NATIVE_UINT16), H5Tclose);
      Hdf5Handle space(H5Dget_space(m_impl->dataset.get()), H5Sclose);
      const int rank = H5Sget_simple_extent_ndims(space.get());
      std::vector<hsize_t> dims(static_cast<size_t>(std::max(rank, 0)));
      if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
      for (hsize_t d : dims) shape.push_back(static_cast<int64_t>(d));
    }
    const std::string what = (m_format == "hdf5" ? "dataset '" : "tensor '") + name + "' in '" + path + "'";
    if (shape.size() == 3) {
      if (m_location.step < 0)
        fail(kExitInput, what + " has shape " + shape_text(shape) +
                             " (steps, tokens, dims); choose one step as FILE:" + name + "@STEP");
      if (m_location.step >= shape[0])
        fail(kExitInput, "step " + std::to_string(m_location.step) + " is out of range: " + what + " has " +
                             std::to_string(shape[0]) + " steps");
      m_rows = shape[1];
      m_cols = shape[2];
      m_impl->three_d = true;
      m_impl->first_byte += m_location.step * m_rows * m_cols * 2;
    } else if (shape.size() == 2) {
      if (m_location.step >= 0)
        fail(kExitInput, what + " is 2-D " + shape_text(shape) + "; '@" + std::to_string(m_location.step) +
                             "' needs a 3-D (steps, tokens, dims) source");
      m_rows = shape[0];
      m_cols = shape[1];
    } else {
      fail(kExitInput,
           what + " has shape " + shape_text(shape) + "; expected 2 dimensions (tokens, dims), or 3 with @STEP");
    }
    if (m_rows < 1 || m_cols < 1) fail(kExitInput, what + " has shape " + shape_text(shape) + "; it holds no values");
    m_description = path + ":" + name + (m_location.step >= 0 ? "@" + std::to_string(m_location.step) : "") + " (" +
                    type_name + ", " + std::to_string(m_rows) + " x " + std::to_string(m_cols) + ")";
  });
}

MatrixSource::~MatrixSource() = default;

void MatrixSource::read_run(int64_t begin, int64_t count, uint16_t* out, bool collective) const {
  if (m_format == "safetensors") {
    if (count > 0)
      read_file_bytes(m_location.path, m_impl->fd, m_impl->first_byte + begin * m_cols * 2, count * m_cols * 2, out);
    return;
  }
  Hdf5Handle file_space(H5Dget_space(m_impl->dataset.get()), H5Sclose);
  const hsize_t rows_in_memory[1] = {static_cast<hsize_t>(std::max<int64_t>(count, 1) * m_cols)};
  Hdf5Handle memory_space(H5Screate_simple(1, rows_in_memory, nullptr), H5Sclose);
  if (count == 0) {
    H5Sselect_none(file_space.get());
    H5Sselect_none(memory_space.get());
  } else if (m_impl->three_d) {
    const hsize_t start[3] = {static_cast<hsize_t>(m_location.step), static_cast<hsize_t>(begin), 0};
    const hsize_t extent[3] = {1, static_cast<hsize_t>(count), static_cast<hsize_t>(m_cols)};
    H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, extent, nullptr);
  } else {
    const hsize_t start[2] = {static_cast<hsize_t>(begin), 0};
    const hsize_t extent[2] = {static_cast<hsize_t>(count), static_cast<hsize_t>(m_cols)};
    H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, extent, nullptr);
  }
  const Hdf5Handle transfer = collective ? collective_transfer() : Hdf5Handle();
  const herr_t status = H5Dread(m_impl->dataset.get(), m_impl->memory_type.get(), memory_space.get(), file_space.get(),
                                collective ? transfer.get() : H5P_DEFAULT, out);
  if (status < 0)
    fail(kExitInput, "reading rows " + std::to_string(begin) + ".." + std::to_string(begin + count - 1) + " of " +
                         m_description + " failed (truncated or corrupt file?): " + hdf5_error_text());
}

void MatrixSource::read_slab(int64_t begin, int64_t count, uint16_t* out) const {
  const int64_t rows_per_transfer = std::max<int64_t>(1, kMaxTransferBytes / (m_cols * 2));
  int64_t most = 0;
  MPI_Allreduce(&count, &most, 1, MPI_INT64_T, MPI_MAX, m_comm);
  // Every rank makes the same number of (collective) transfers.
  for (int64_t done = 0; done < most; done += rows_per_transfer) {
    const int64_t n = std::max<int64_t>(0, std::min(rows_per_transfer, count - done));
    collectively(m_comm, [&] { read_run(begin + done, n, out + (n > 0 ? done * m_cols : 0), true); });
  }
}

void MatrixSource::read_rows(const std::vector<int64_t>& tokens, uint16_t* out) const {
  const int64_t max_run = std::max<int64_t>(1, kMaxTransferBytes / (m_cols * 2));
  size_t i = 0;
  while (i < tokens.size()) {
    size_t j = i + 1;
    while (j < tokens.size() && tokens[j] == tokens[j - 1] + 1 && static_cast<int64_t>(j - i) < max_run) ++j;
    if (tokens[i] < 0 || tokens[j - 1] >= m_rows)
      fail(kExitInput, "token id " + std::to_string(tokens[i] < 0 ? tokens[i] : tokens[j - 1]) +
                           " is out of range: " + m_description + " has " + std::to_string(m_rows) + " rows");
    read_run(tokens[i], static_cast<int64_t>(j - i), out + i * m_cols, false);
    i = j;
  }
}

}  // namespace latdisp
