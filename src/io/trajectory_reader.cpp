#include "io/trajectory_reader.hpp"

#include <unistd.h>

#include <algorithm>

#include "io/transfer_limits.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

Hdf5Handle open_file(MPI_Comm comm, const std::string& path) {
  if (access(path.c_str(), F_OK) != 0) fail(kExitInput, "input file '" + path + "' does not exist");
  if (access(path.c_str(), R_OK) != 0) fail(kExitInput, "input file '" + path + "' is not readable");
  const Hdf5Handle fapl = mpio_file_access(comm);
  Hdf5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose);
  if (!file.valid()) {
    const std::string why = hdf5_error_text();
    fail(kExitInput, "cannot open '" + path + "' as an HDF5 file (not HDF5, truncated or corrupt" +
                         (why.empty() ? std::string(")") : "; HDF5 says: " + why + ")"));
  }
  // MPI-IO reads past the end of a file return zeros: catch a truncated
  // file here rather than analyze zeros.
  haddr_t allocated = 0;
  hsize_t size = 0;
  if (H5Fget_eoa(file.get(), &allocated) >= 0 && H5Fget_filesize(file.get(), &size) >= 0 && size < allocated)
    fail(kExitInput, "input file '" + path + "' is truncated: " + std::to_string(size) + " bytes, but its HDF5 " +
                         "metadata needs " + std::to_string(allocated) + " (an interrupted copy or write?)");
  return file;
}

bool link_exists(hid_t file, const std::string& name) {
  const htri_t exists = H5Lexists(file, name.c_str(), H5P_DEFAULT);
  H5Eclear2(H5E_DEFAULT);
  return exists > 0;
}

std::vector<hsize_t> dataset_extent(hid_t dataset) {
  Hdf5Handle space(H5Dget_space(dataset), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(static_cast<size_t>(std::max(rank, 0)));
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

std::string shape_text(const std::vector<hsize_t>& dims) {
  std::string text = "(";
  for (size_t i = 0; i < dims.size(); ++i) text += (i ? ", " : "") + std::to_string(dims[i]);
  return text + (dims.size() == 1 ? ",)" : ")");
}

}  // namespace

TrajectoryReader::TrajectoryReader(MPI_Comm comm, const std::string& path, const std::string& dataset)
    : m_comm(comm), m_path(path), m_dataset_name(dataset) {
  m_file = open_file(comm, path);
  if (!link_exists(m_file.get(), dataset))
    fail(kExitInput, "input file '" + path + "' has no dataset '" + dataset + "' (use --dataset to name it)");
  m_dataset = Hdf5Handle(H5Dopen2(m_file.get(), dataset.c_str(), H5P_DEFAULT), H5Dclose);
  if (!m_dataset.valid())
    fail(kExitInput, "'" + dataset + "' in '" + path + "' is not a dataset: " + hdf5_error_text());

  const Hdf5Handle file_type(H5Dget_type(m_dataset.get()), H5Tclose);
  m_type_description = describe_type(file_type.get());
  if (H5Tget_class(file_type.get()) != H5T_INTEGER || H5Tget_size(file_type.get()) != 2)
    fail(kExitInput, "dataset '" + dataset + "' in '" + path + "' has type " + m_type_description +
                         "; expected a 16-bit integer type (uint16 or int16) holding bfloat16 bits");
  // Read with the file's own byte order so the transfer stays collective;
  // signedness does not matter for raw bits.
  const bool signed_type = H5Tget_sign(file_type.get()) != H5T_SGN_NONE;
  m_memory_type = Hdf5Handle(H5Tcopy(signed_type ? H5T_NATIVE_INT16 : H5T_NATIVE_UINT16), H5Tclose);

  const std::vector<hsize_t> dims = dataset_extent(m_dataset.get());
  if (dims.size() != 3)
    fail(kExitInput, "dataset '" + dataset + "' in '" + path + "' has shape " + shape_text(dims) +
                         "; expected 3 dimensions (steps, tokens, dims)");
  m_shape.steps = static_cast<int64_t>(dims[0]);
  m_shape.tokens = static_cast<int64_t>(dims[1]);
  m_shape.dims = static_cast<int64_t>(dims[2]);
  if (m_shape.steps < 2)
    fail(kExitInput, "dataset '" + dataset + "' has " + std::to_string(m_shape.steps) +
                         " step(s); at least 2 steps are needed for a displacement");
  if (m_shape.tokens < 1 || m_shape.dims < 1)
    fail(kExitInput, "dataset '" + dataset + "' has shape " + shape_text(dims) + "; it holds no coordinates");
}

void TrajectoryReader::read_steps(const TokenRange& tokens, int64_t first_step, int64_t step_count,
                                  int64_t max_slab_tokens, uint16_t* buffer) const {
  const int64_t bytes_per_step = std::max<int64_t>(1, max_slab_tokens * m_shape.dims * 2);
  const int64_t steps_per_transfer = std::max<int64_t>(1, kMaxTransferBytes / bytes_per_step);
  const Hdf5Handle transfer = collective_transfer();
  for (int64_t done = 0; done < step_count; done += steps_per_transfer) {
    const int64_t count = std::min(steps_per_transfer, step_count - done);
    const hsize_t start[3] = {static_cast<hsize_t>(first_step + done), static_cast<hsize_t>(tokens.begin), 0};
    const hsize_t extent[3] = {static_cast<hsize_t>(count), static_cast<hsize_t>(tokens.count),
                               static_cast<hsize_t>(m_shape.dims)};
    Hdf5Handle file_space(H5Dget_space(m_dataset.get()), H5Sclose);
    H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, extent, nullptr);
    Hdf5Handle memory_space(H5Screate_simple(3, extent, nullptr), H5Sclose);
    uint16_t* target = buffer + done * tokens.count * m_shape.dims;
    herr_t status = 0;
    collectively(m_comm, [&] {
      status =
          H5Dread(m_dataset.get(), m_memory_type.get(), memory_space.get(), file_space.get(), transfer.get(), target);
      if (status < 0)
        fail(kExitInput, "reading steps " + std::to_string(first_step + done) + ".." +
                             std::to_string(first_step + done + count - 1) + " of '" + m_dataset_name + "' in '" +
                             m_path + "' failed (truncated or corrupt file?): " + hdf5_error_text());
    });
  }
}

std::unique_ptr<TrajectoryReader> open_trajectory(MPI_Comm comm, const std::string& path, const std::string& dataset,
                                                  const std::string& dead_mask_name, std::vector<uint8_t>& dead_mask,
                                                  bool& dead_mask_found) {
  std::unique_ptr<TrajectoryReader> reader;
  collectively(comm, [&] {
    reader = std::make_unique<TrajectoryReader>(comm, path, dataset);
    dead_mask = reader->read_dead_mask(dead_mask_name);
  });
  dead_mask_found = !dead_mask.empty();
  if (!dead_mask_found) dead_mask.assign(static_cast<size_t>(reader->shape().tokens), 0);
  return reader;
}

std::vector<uint8_t> TrajectoryReader::read_dead_mask(const std::string& name) const {
  if (!link_exists(m_file.get(), name)) return {};
  Hdf5Handle dataset(H5Dopen2(m_file.get(), name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!dataset.valid()) fail(kExitInput, "'" + name + "' in '" + m_path + "' is not a dataset");
  const std::vector<hsize_t> dims = dataset_extent(dataset.get());
  if (dims.size() != 1 || static_cast<int64_t>(dims[0]) != m_shape.tokens)
    fail(kExitInput, "dead mask '" + name + "' has shape " + shape_text(dims) + "; expected (" +
                         std::to_string(m_shape.tokens) + ",) to match the tokens of '" + m_dataset_name + "'");
  const Hdf5Handle type(H5Dget_type(dataset.get()), H5Tclose);
  const H5T_class_t type_class = H5Tget_class(type.get());
  if (H5Tget_size(type.get()) != 1 || (type_class != H5T_ENUM && type_class != H5T_INTEGER))
    fail(kExitInput, "dead mask '" + name + "' has type " + describe_type(type.get()) +
                         "; expected bool (h5py's enum), uint8 or int8");
  std::vector<uint8_t> mask(static_cast<size_t>(m_shape.tokens));
  const Hdf5Handle transfer = collective_transfer();
  if (H5Dread(dataset.get(), type.get(), H5S_ALL, H5S_ALL, transfer.get(), mask.data()) < 0)
    fail(kExitInput, "reading dead mask '" + name + "' failed: " + hdf5_error_text());
  for (size_t i = 0; i < mask.size(); ++i)
    if (mask[i] > 1)
      fail(kExitInput, "dead mask '" + name + "' holds " +
                           std::to_string(static_cast<int>(static_cast<int8_t>(mask[i]))) + " at token " +
                           std::to_string(i) + "; expected only 0/1 (false/true)");
  return mask;
}

}  // namespace latdisp
