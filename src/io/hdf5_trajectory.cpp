#include "io/hdf5_trajectory.hpp"

#include "io/hdf5_input.hpp"
#include "io/hdf5_storage_checks.hpp"
#include "io/shape_text.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

// The dataset of training step numbers a packed or recorded file carries.
const char* const kStepsDataset = "steps";

// The `dtype` attribute of a dataset (a fixed or variable-length string), "" if none.
std::string dtype_attribute(hid_t dataset) {
  if (H5Aexists(dataset, "dtype") <= 0) {
    H5Eclear2(H5E_DEFAULT);
    return "";
  }
  const Hdf5Handle attribute(H5Aopen(dataset, "dtype", H5P_DEFAULT), H5Aclose);
  const Hdf5Handle type(H5Aget_type(attribute.get()), H5Tclose);
  std::string text;
  if (!attribute.valid() || H5Tget_class(type.get()) != H5T_STRING) {
    H5Eclear2(H5E_DEFAULT);
    return "(not a string)";
  }
  if (H5Tis_variable_str(type.get()) > 0) {
    char* value = nullptr;
    if (H5Aread(attribute.get(), type.get(), &value) >= 0 && value != nullptr) text = value;
    if (value != nullptr) H5free_memory(value);
  } else {
    std::string buffer(H5Tget_size(type.get()), '\0');
    if (H5Aread(attribute.get(), type.get(), &buffer[0]) >= 0) text = buffer.c_str();
  }
  H5Eclear2(H5E_DEFAULT);
  return text;
}

// The format of an IEEE-style float type from its fields; false if none.
bool float_format(hid_t type, ElementType& format) {
  size_t sign = 0, exponent_position = 0, exponent_bits = 0, mantissa_position = 0, mantissa_bits = 0;
  if (H5Tget_fields(type, &sign, &exponent_position, &exponent_bits, &mantissa_position, &mantissa_bits) < 0)
    return false;
  const size_t bias = H5Tget_ebias(type);
  const size_t bits = H5Tget_size(type) * 8;
  for (const ElementType candidate : {ElementType::bf16, ElementType::f16, ElementType::f32}) {
    const bool same = formats::dispatch_element_type(candidate, [&](auto traits) {
      using F = decltype(traits);
      return bits == size_t(F::total_bits) && exponent_bits == size_t(F::exponent_bits) &&
             mantissa_bits == size_t(F::mantissa_bits) && bias == size_t(F::bias) && mantissa_position == 0;
    });
    if (same) {
      format = candidate;
      return true;
    }
  }
  return false;
}

}  // namespace

Hdf5Trajectory::Hdf5Trajectory(MPI_Comm comm, const std::string& path, const std::string& dataset, SourceUse use,
                               const ElementRequest& request)
    : TrajectoryReader(comm, path, dataset, InputFormat::hdf5) {
  const bool matrix = use == SourceUse::matrix;
  // Single ranks read rows on their own for the bit-level commands: no
  // collective metadata reads then.
  m_file = open_hdf5_input(comm, path, matrix ? "matrix file" : "input file", !matrix);
  if (!hdf5_link_exists(m_file.get(), dataset)) {
    const std::string present = names_text(hdf5_root_datasets(m_file.get()));
    fail(kExitInput, "'" + path + "' has no dataset '" + dataset +
                         "' (datasets present: " + (present.empty() ? std::string("none") : present) +
                         (matrix ? "; name one as FILE:DATASET)" : "; use --dataset to name it)"));
  }
  m_values = Hdf5Handle(H5Dopen2(m_file.get(), dataset.c_str(), H5P_DEFAULT), H5Dclose);
  if (!m_values.valid()) fail(kExitInput, "'" + dataset + "' in '" + path + "' is not a dataset: " + hdf5_error_text());
  const std::string what = "dataset '" + dataset + "' in '" + path + "'";

  recognize_type(what, request);
  const std::vector<int64_t> extent = hdf5_dataset_extent(m_values.get());
  adopt_shape(extent, matrix, what, shape_text(extent));
  if (m_shape.tokens < 1 || m_shape.dims < 1 || m_shape.steps < 1)
    fail(kExitInput, what + " has shape " + shape_text(extent) + "; it holds no coordinates");
  require_written_storage(m_values.get(), what);
  if (m_source_rank == 3) read_step_numbers();
}

// The element format (docs/formats.md §19) and the memory
// type that reads its bytes unconverted: integers as integers of their
// sign, floats as the file's own type in little-endian order.
void Hdf5Trajectory::recognize_type(const std::string& what, const ElementRequest& request) {
  const Hdf5Handle file_type(H5Dget_type(m_values.get()), H5Tclose);
  m_type_description = describe_type(file_type.get());
  const H5T_class_t type_class = H5Tget_class(file_type.get());
  const int bits = static_cast<int>(H5Tget_size(file_type.get()) * 8);
  if (type_class == H5T_INTEGER) {
    m_element_type = integer_element_type(bits, m_type_description, dtype_attribute(m_values.get()), what, request);
    const bool signed_type = H5Tget_sign(file_type.get()) != H5T_SGN_NONE;
    const hid_t native = bits == 8 ? (signed_type ? H5T_NATIVE_INT8 : H5T_NATIVE_UINT8)
                                   : (signed_type ? H5T_NATIVE_INT16 : H5T_NATIVE_UINT16);
    m_memory_type = Hdf5Handle(H5Tcopy(native), H5Tclose);
    return;
  }
  if (type_class == H5T_FLOAT && !float_format(file_type.get(), m_element_type)) {
    H5Eclear2(H5E_DEFAULT);
    fail(kExitInput, what + " has type " + m_type_description + ", none of the element formats latdisp reads (" +
                         formats::element_type_names() +
                         "); latdisp does not convert values (a conversion would change what is measured)");
  }
  if (type_class != H5T_FLOAT)
    fail(kExitInput, what + " has type " + m_type_description + "; expected 16-bit integers of bfloat16 bits, IEEE " +
                         "float16 or float32, or 8-bit integers with a declared FP8 dtype");
  require_float_matches(m_element_type, m_type_description, what, request);
  require_declared_matches(m_element_type, m_type_description, dtype_attribute(m_values.get()), what);
  m_memory_type = Hdf5Handle(H5Tcopy(file_type.get()), H5Tclose);
  H5Tset_order(m_memory_type.get(), H5T_ORDER_LE);
}

void Hdf5Trajectory::read_step_numbers() {
  if (m_dataset == kStepsDataset || !hdf5_link_exists(m_file.get(), kStepsDataset)) return;
  Hdf5Handle steps(H5Dopen2(m_file.get(), kStepsDataset, H5P_DEFAULT), H5Dclose);
  if (!steps.valid()) {
    H5Eclear2(H5E_DEFAULT);
    return;
  }
  const Hdf5Handle type(H5Dget_type(steps.get()), H5Tclose);
  const std::vector<int64_t> extent = hdf5_dataset_extent(steps.get());
  // Anything but one integer per step is some other `steps`: not ours.
  if (H5Tget_class(type.get()) != H5T_INTEGER || extent.size() != 1 || extent[0] != m_shape.steps) return;
  std::vector<int64_t> numbers(static_cast<size_t>(m_shape.steps));
  const Hdf5Handle transfer = collective_transfer();
  if (H5Dread(steps.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, transfer.get(), numbers.data()) < 0)
    fail(kExitInput, "reading the step numbers '" + std::string(kStepsDataset) + "' of '" + m_path +
                         "' failed: " + hdf5_error_text());
  m_step_numbers = std::move(numbers);
}

std::vector<hsize_t> Hdf5Trajectory::box_start(int64_t step, int64_t token) const {
  if (m_source_rank == 2) return {static_cast<hsize_t>(token), 0};
  return {static_cast<hsize_t>(step), static_cast<hsize_t>(token), 0};
}

std::vector<hsize_t> Hdf5Trajectory::box_count(int64_t steps, int64_t tokens) const {
  const hsize_t dims = static_cast<hsize_t>(m_shape.dims);
  if (m_source_rank == 2) return {static_cast<hsize_t>(tokens), dims};
  return {static_cast<hsize_t>(steps), static_cast<hsize_t>(tokens), dims};
}

void Hdf5Trajectory::read_block(int64_t first_step, int64_t steps, int64_t first_token, int64_t tokens,
                                void* out) const {
  collectively(m_comm, [&] {
    const herr_t status = read_hyperslab(m_values.get(), m_memory_type.get(), box_start(first_step, first_token),
                                         box_count(steps, tokens), out, true);
    if (status < 0)
      fail(kExitInput, "reading steps " + std::to_string(first_step) + ".." + std::to_string(first_step + steps - 1) +
                           " of '" + m_dataset + "' in '" + m_path +
                           "' failed (truncated or corrupt file?): " + hdf5_error_text());
  });
}

void Hdf5Trajectory::read_rows(int64_t step, int64_t first_row, int64_t count, void* out) const {
  const herr_t status =
      read_hyperslab(m_values.get(), m_memory_type.get(), box_start(step, first_row), box_count(1, count), out, false);
  if (status < 0)
    fail(kExitInput, "reading rows " + std::to_string(first_row) + ".." + std::to_string(first_row + count - 1) +
                         " of '" + m_dataset + "' in '" + m_path +
                         "' failed (truncated or corrupt file?): " + hdf5_error_text());
}

// Contiguous layout, allocated, no external storage, little-endian: then
// the dataset's bytes are W's values in C order at H5Dget_offset.
std::optional<uint64_t> Hdf5Trajectory::contiguous_offset() const {
  const Hdf5Handle creation(H5Dget_create_plist(m_values.get()), H5Pclose);
  const Hdf5Handle file_type(H5Dget_type(m_values.get()), H5Tclose);
  if (!creation.valid() || !file_type.valid() || H5Pget_layout(creation.get()) != H5D_CONTIGUOUS ||
      H5Pget_external_count(creation.get()) != 0 || H5Tget_order(file_type.get()) != H5T_ORDER_LE ||
      H5Tget_order(m_memory_type.get()) != H5T_ORDER_LE) {
    H5Eclear2(H5E_DEFAULT);
    return std::nullopt;
  }
  if (!dataset_bytes_in_file(m_file.get(), m_values.get())) return std::nullopt;
  const haddr_t offset = H5Dget_offset(m_values.get());
  if (offset == HADDR_UNDEF || offset % static_cast<haddr_t>(element_bytes()) != 0) {
    H5Eclear2(H5E_DEFAULT);
    return std::nullopt;
  }
  return static_cast<uint64_t>(offset);
}

std::vector<uint8_t> Hdf5Trajectory::read_dead_mask(const std::string& name) const {
  return read_hdf5_mask(m_file.get(), m_path, name, m_shape.tokens, "'" + m_dataset + "'");
}

std::vector<uint8_t> read_hdf5_mask(hid_t file, const std::string& path, const std::string& name, int64_t tokens,
                                    const std::string& tensor_of) {
  if (!hdf5_link_exists(file, name)) return {};
  Hdf5Handle dataset(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!dataset.valid()) fail(kExitInput, "'" + name + "' in '" + path + "' is not a dataset");
  const std::vector<int64_t> extent = hdf5_dataset_extent(dataset.get());
  if (extent.size() != 1 || extent[0] != tokens)
    fail(kExitInput, "dead mask '" + name + "' has shape " + shape_text(extent) + "; expected (" +
                         std::to_string(tokens) + ",) to match the tokens of " + tensor_of);
  const Hdf5Handle type(H5Dget_type(dataset.get()), H5Tclose);
  const H5T_class_t type_class = H5Tget_class(type.get());
  if (H5Tget_size(type.get()) != 1 || (type_class != H5T_ENUM && type_class != H5T_INTEGER))
    fail(kExitInput, "dead mask '" + name + "' has type " + describe_type(type.get()) +
                         "; expected bool (h5py's enum), uint8 or int8");
  require_written_storage(dataset.get(), "dead mask '" + name + "' in '" + path + "'");
  std::vector<uint8_t> mask(static_cast<size_t>(tokens));
  const Hdf5Handle transfer = collective_transfer();
  if (H5Dread(dataset.get(), type.get(), H5S_ALL, H5S_ALL, transfer.get(), mask.data()) < 0)
    fail(kExitInput, "reading dead mask '" + name + "' failed: " + hdf5_error_text());
  require_mask_values(mask, "dead mask '" + name + "'");
  return mask;
}

}  // namespace latdisp
