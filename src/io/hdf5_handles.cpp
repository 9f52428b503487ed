#include "io/hdf5_handles.hpp"

#include <algorithm>
#include <cstdint>

#include "parallel/errors.hpp"

namespace latdisp {

Hdf5Handle& Hdf5Handle::operator=(Hdf5Handle&& other) noexcept {
  if (this != &other) {
    reset();
    m_id = other.m_id;
    m_closer = other.m_closer;
    other.m_id = -1;
  }
  return *this;
}

void Hdf5Handle::reset() {
  if (m_id >= 0 && m_closer) m_closer(m_id);
  m_id = -1;
}

namespace {
// The innermost message names the cause ("required filter 'lzf' is not
// registered", "inflate() failed"); the outer ones only say that a read
// failed. The plugin search HDF5 makes on the way is not the cause.
herr_t keep_innermost_message(unsigned, const H5E_error2_t* error, void* data) {
  auto* text = static_cast<std::string*>(data);
  if (text->empty() && error->desc && *error->desc && error->maj_num != H5E_PLUGIN) *text = error->desc;
  return 0;
}
}  // namespace

std::string hdf5_error_text() {
  std::string text;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_innermost_message, &text);
  H5Eclear2(H5E_DEFAULT);
  return text;
}

Hdf5Handle mpio_file_access(MPI_Comm comm) {
  Hdf5Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  H5Pset_fapl_mpio(fapl.get(), comm, MPI_INFO_NULL);
  // Collective metadata reads are buggy before HDF5 1.10.9 (fixed in HDF5 1.10.9; docs/operations.md §8).
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  const bool metadata_reads_fixed = major > 1 || (major == 1 && minor > 12) ||
                                    (major == 1 && minor == 12 && release >= 2) ||
                                    (major == 1 && minor == 10 && release >= 9);
  if (metadata_reads_fixed) H5Pset_all_coll_metadata_ops(fapl.get(), 1);
  H5Pset_coll_metadata_write(fapl.get(), 1);
  return fapl;
}

Hdf5Handle collective_transfer() {
  Hdf5Handle dxpl(H5Pcreate(H5P_DATASET_XFER), H5Pclose);
  H5Pset_dxpl_mpio(dxpl.get(), H5FD_MPIO_COLLECTIVE);
  return dxpl;
}

Hdf5Handle h5py_bool_type() {
  Hdf5Handle type(H5Tenum_create(H5T_NATIVE_INT8), H5Tclose);
  int8_t value = 0;
  H5Tenum_insert(type.get(), "FALSE", &value);
  value = 1;
  H5Tenum_insert(type.get(), "TRUE", &value);
  return type;
}

Hdf5Handle untimed_file_creation() {
  Hdf5Handle fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
  H5Pset_obj_track_times(fcpl.get(), 0);
  return fcpl;
}

Hdf5Handle create_output_group(hid_t parent, const std::string& name) {
  Hdf5Handle gcpl(H5Pcreate(H5P_GROUP_CREATE), H5Pclose);
  H5Pset_obj_track_times(gcpl.get(), 0);
  Hdf5Handle group(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), H5Gclose);
  if (!group.valid()) fail(kExitOutput, "creating group '" + name + "' failed: " + hdf5_error_text());
  return group;
}

Hdf5Handle create_output_dataset(hid_t parent, const std::string& name, hid_t type, const std::vector<hsize_t>& dims,
                                 const std::vector<hsize_t>& chunk) {
  Hdf5Handle space(
      dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
      H5Sclose);
  Hdf5Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER);
  H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY);
  H5Pset_obj_track_times(dcpl.get(), 0);
  if (!chunk.empty()) H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data());
  Hdf5Handle dataset(H5Dcreate2(parent, name.c_str(), type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                     H5Dclose);
  if (!dataset.valid()) fail(kExitOutput, "creating dataset '" + name + "' failed: " + hdf5_error_text());
  return dataset;
}

herr_t write_string_attribute(hid_t object, const std::string& name, const std::string& value) {
  Hdf5Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), std::max<size_t>(1, value.size()));
  Hdf5Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Hdf5Handle attribute(H5Acreate2(object, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!attribute.valid()) return -1;
  return H5Awrite(attribute.get(), type.get(), value.c_str());
}

BoxSpaces box_spaces(hid_t dataset, const std::vector<hsize_t>& start, const std::vector<hsize_t>& count) {
  BoxSpaces box;
  box.file = Hdf5Handle(H5Dget_space(dataset), H5Sclose);
  hsize_t values = 1;
  for (hsize_t c : count) values *= c;
  const hsize_t one[1] = {1};
  box.memory = Hdf5Handle(values == 0 ? H5Screate_simple(1, one, nullptr)
                                      : H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr),
                          H5Sclose);
  if (values == 0) {
    H5Sselect_none(box.file.get());
    H5Sselect_none(box.memory.get());
  } else {
    box.selected =
        H5Sselect_hyperslab(box.file.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr) >= 0;
  }
  return box;
}

std::string describe_type(hid_t type) {
  const H5T_class_t type_class = H5Tget_class(type);
  const size_t bits = H5Tget_size(type) * 8;
  std::string name;
  switch (type_class) {
    case H5T_INTEGER:
      name = (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(bits);
      break;
    case H5T_FLOAT:
      name = "float" + std::to_string(bits);
      break;
    case H5T_ENUM:
      name = "enum (" + std::to_string(bits) + "-bit)";
      break;
    case H5T_STRING:
      name = "string";
      break;
    case H5T_COMPOUND:
      name = "compound";
      break;
    default:
      name = "non-numeric type";
      break;
  }
  if ((type_class == H5T_INTEGER || type_class == H5T_FLOAT) && bits > 8 && H5Tget_order(type) == H5T_ORDER_BE)
    name += " (big-endian)";
  return name;
}

}  // namespace latdisp
