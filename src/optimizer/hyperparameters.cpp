#include "optimizer/hyperparameters.hpp"

#include <fcntl.h>
#include <hdf5.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "io/hdf5_handles.hpp"
#include "io/input_path.hpp"
#include "io/safetensors.hpp"
#include "io/table_writer.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

const char* const kAttributeNames[] = {"learning_rate", "adam_beta1", "adam_beta2", "adam_epsilon", "weight_decay"};

void read_hdf5_attributes(const std::string& path, const std::string& lr_name, InputAttributes& out) {
  Hdf5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.valid()) fail(kExitInput, "cannot open '" + path + "' as HDF5: " + hdf5_error_text());
  for (const char* name : kAttributeNames) {
    if (H5Aexists(file.get(), name) <= 0) continue;
    Hdf5Handle attribute(H5Aopen(file.get(), name, H5P_DEFAULT), H5Aclose);
    double value = 0;
    if (!attribute.valid() || H5Aread(attribute.get(), H5T_NATIVE_DOUBLE, &value) < 0)
      fail(kExitInput, "the attribute '" + std::string(name) + "' of '" + path + "' is not a number");
    out.numbers[name] = value;
  }
  if (lr_name.empty() || H5Lexists(file.get(), lr_name.c_str(), H5P_DEFAULT) <= 0) return;
  Hdf5Handle dataset(H5Dopen2(file.get(), lr_name.c_str(), H5P_DEFAULT), H5Dclose);
  const Hdf5Handle type(H5Dget_type(dataset.get()), H5Tclose);
  const Hdf5Handle space(H5Dget_space(dataset.get()), H5Sclose);
  out.lr_found = true;
  if (H5Tget_class(type.get()) != H5T_FLOAT || H5Sget_simple_extent_ndims(space.get()) != 1) {
    out.lr_problem = "'" + lr_name + "' in '" + path + "' is not a 1-D float dataset (" + describe_type(type.get()) + ")";
    return;
  }
  out.lr_values.resize(static_cast<size_t>(H5Sget_simple_extent_npoints(space.get())));
  if (H5Dread(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.lr_values.data()) < 0)
    fail(kExitInput, "cannot read '" + lr_name + "' in '" + path + "': " + hdf5_error_text());
}

void read_safetensors_attributes(const std::string& path, const std::string& lr_name, InputAttributes& out) {
  const SafetensorsFile header = read_safetensors_header(path);
  for (const char* name : kAttributeNames) {
    const auto found = header.metadata.find(name);
    if (found == header.metadata.end()) continue;
    double value = 0;
    if (!parse_number(found->second, value))
      fail(kExitInput, "the metadata '" + std::string(name) + "' of '" + path + "' is not a number: '" +
                           found->second + "'");
    out.numbers[name] = value;
  }
  const SafetensorsTensor* tensor = lr_name.empty() ? nullptr : header.find(lr_name);
  if (!tensor) return;
  out.lr_found = true;
  if ((tensor->dtype != "F64" && tensor->dtype != "F32") || tensor->shape.size() != 1) {
    out.lr_problem = "'" + lr_name + "' in '" + path + "' is not a 1-D F64 tensor (" + tensor->dtype + ")";
    return;
  }
  const int64_t count = tensor->shape[0];
  std::vector<unsigned char> bytes(static_cast<size_t>(tensor->end - tensor->begin));
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) fail(kExitInput, "cannot open '" + path + "': " + std::strerror(errno));
  try {
    read_file_bytes(path, fd, tensor->begin, static_cast<int64_t>(bytes.size()), bytes.data());
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  out.lr_values.resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    if (tensor->dtype == "F64") {
      std::memcpy(&out.lr_values[i], bytes.data() + 8 * i, 8);
    } else {
      float f;
      std::memcpy(&f, bytes.data() + 4 * i, 4);
      out.lr_values[i] = f;
    }
  }
}

// A series' learning rate per step: every checkpoint's __metadata__ key
// `lr_name` (latdisp.Recorder writes "lr", the rate that step used, as the
// shortest decimal text of the double; docs/formats.md §15). Leaves `out` as
// it is when no checkpoint has the key; a checkpoint without it while others
// have it (but the first, whose entry no step uses), or a value that is not a
// number, is a problem the resolution names.
void read_series_lr(const std::vector<std::string>& files, const std::string& lr_name, InputAttributes& out) {
  std::vector<double> values;
  int64_t found_count = 0;
  std::string first_without;
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string& file = files[i];
    if (!looks_like_safetensors(file)) return;
    const SafetensorsFile header = read_safetensors_header(file);
    const auto found = header.metadata.find(lr_name);
    if (found == header.metadata.end()) {
      // The initial state's checkpoint (index 0) took no step: it needs no rate.
      if (i == 0) values.push_back(std::numeric_limits<double>::quiet_NaN());
      else if (first_without.empty()) first_without = file;
      continue;
    }
    ++found_count;
    double value = 0;
    if (!parse_number(found->second, value)) {
      out.lr_found = true;
      out.lr_problem = "the metadata '" + lr_name + "' of the checkpoint '" + file + "' is not a number: '" +
                       found->second + "'";
      return;
    }
    values.push_back(value);
  }
  if (found_count == 0) return;
  out.lr_found = true;
  out.lr_problem.clear();
  out.lr_values.clear();
  if (!first_without.empty()) {
    out.lr_problem = "the checkpoint '" + first_without + "' has no metadata '" + lr_name + "' (" +
                     std::to_string(found_count) + " of the series' " + std::to_string(files.size()) +
                     " checkpoints have one: the learning rate of every step is needed; the first, the "
                     "initial state, may leave it out)";
    return;
  }
  out.lr_values = values;
}

// Rank 0's result to every rank.
void broadcast(InputAttributes& a, MPI_Comm comm) {
  int64_t sizes[3] = {int64_t(a.numbers.size()), int64_t(a.lr_values.size()), a.lr_found ? 1 : 0};
  MPI_Bcast(sizes, 3, MPI_INT64_T, 0, comm);
  std::vector<double> values(static_cast<size_t>(sizes[0]));
  std::vector<int> which(static_cast<size_t>(sizes[0]));
  int i = 0;
  for (const auto& [name, value] : a.numbers) {
    values[i] = value;
    which[i++] = int(std::find_if(std::begin(kAttributeNames), std::end(kAttributeNames),
                                  [&](const char* n) { return name == n; }) - std::begin(kAttributeNames));
  }
  MPI_Bcast(values.data(), int(sizes[0]), MPI_DOUBLE, 0, comm);
  MPI_Bcast(which.data(), int(sizes[0]), MPI_INT, 0, comm);
  a.numbers.clear();
  for (int k = 0; k < sizes[0]; ++k) a.numbers[kAttributeNames[which[k]]] = values[k];
  a.lr_values.resize(static_cast<size_t>(sizes[1]));
  MPI_Bcast(a.lr_values.data(), int(sizes[1]), MPI_DOUBLE, 0, comm);
  a.lr_found = sizes[2] != 0;
  int length = int(a.lr_problem.size());
  MPI_Bcast(&length, 1, MPI_INT, 0, comm);
  a.lr_problem.resize(static_cast<size_t>(length));
  MPI_Bcast(&a.lr_problem[0], length, MPI_CHAR, 0, comm);
}

// The shortest text that reads back as v (0.999, not 0.99899999999999999911).
std::string exact_text(double v) { return std::isnan(v) ? "nan" : csv_number(v); }

// An input's value that the option `option` would refuse
// (config/optimizer_options; torch's AdamW refuses a negative one, a beta of
// 1, NaN): one message, exit 2. `below_high`: the range is [low, high), else
// [low, high]; NaN is never in range.
void require_in_range(double value, double low, double high, bool below_high, const std::string& what,
                      const char* option) {
  if (value >= low && (below_high ? value < high : value <= high)) return;
  fail(kExitInput, what + " is " + exact_text(value) + "; it must be in [" + exact_text(low) + ", " +
                       exact_text(high) + (below_high ? ")" : "]") + ", as for " + option);
}

// The option, else the input's attribute (checked to lie in [low, high) or
// [low, high]), else torch's default.
Hyperparameter from(std::optional<double> option, const InputAttributes& a, const char* attribute, double fallback,
                    const std::string& path, double low, double high, bool below_high, const char* option_name) {
  if (option) return {*option, "option"};
  const auto found = a.numbers.find(attribute);
  if (found == a.numbers.end()) return {fallback, "default"};
  require_in_range(found->second, low, high, below_high,
                   "the attribute '" + std::string(attribute) + "' of '" + path + "'", option_name);
  return {found->second, "attribute"};
}

}  // namespace

InputAttributes read_input_attributes(MPI_Comm comm, const std::string& path, const std::string& lr_name) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  InputAttributes attributes;
  collectively(comm, [&] {
    if (rank != 0 || path_kind(path) != PathKind::regular) return;
    if (is_hdf5_file(path)) read_hdf5_attributes(path, lr_name, attributes);
    else if (looks_like_safetensors(path)) read_safetensors_attributes(path, lr_name, attributes);
  });
  broadcast(attributes, comm);
  return attributes;
}

InputAttributes read_series_attributes(MPI_Comm comm, const std::vector<std::string>& files,
                                       const std::string& lr_name) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  InputAttributes attributes;
  collectively(comm, [&] {
    if (rank != 0 || files.empty()) return;
    const std::string& first = files.front();
    if (is_hdf5_file(first)) read_hdf5_attributes(first, lr_name, attributes);
    else if (looks_like_safetensors(first)) read_safetensors_attributes(first, lr_name, attributes);
    if (!lr_name.empty()) read_series_lr(files, lr_name, attributes);
  });
  broadcast(attributes, comm);
  return attributes;
}

Hyperparameters resolve_hyperparameters(const OptimizerConfig& config, const InputAttributes& a, int64_t steps) {
  const AdamWSpec& o = config.rule;
  Hyperparameters h;
  const std::string& path = config.input.path;
  h.beta1 = from(o.beta1, a, "adam_beta1", 0.9, path, 0, 1, true, "--betas");
  h.beta2 = from(o.beta2, a, "adam_beta2", 0.999, path, 0, 1, true, "--betas");
  h.eps = from(o.eps, a, "adam_epsilon", 1e-8, path, 0, kLargestHyperparameter, false, "--eps");
  h.weight_decay = from(o.weight_decay, a, "weight_decay", 0.01, path, 0, kLargestHyperparameter, false,
                        "--weight-decay");
  const bool named_dataset = !o.lr_dataset.empty();
  if (o.lr) {
    h.lr = {*o.lr, "option"};
  } else if (a.lr_found || named_dataset) {
    const std::string name = named_dataset ? o.lr_dataset : "lr";
    if (!a.lr_found)
      fail(kExitInput,
           "--lr '" + name + "' names no dataset or tensor of '" + config.input.path + "' (and is not a number)");
    if (!a.lr_problem.empty()) fail(kExitInput, "--lr: " + a.lr_problem);
    if (int64_t(a.lr_values.size()) != steps)
      fail(kExitInput, "the learning rate '" + name + "' has " + std::to_string(a.lr_values.size()) +
                           " entries; the input has " + std::to_string(steps) + " steps (one rate per step, entry 0 unused)");
    for (size_t t = 1; t < a.lr_values.size(); ++t)  // entry 0 is no step's
      require_in_range(a.lr_values[t], 0, kLargestHyperparameter, false,
                       "the learning rate '" + name + "' of '" + path + "' at index " + std::to_string(t), "--lr");
    h.lr = {std::numeric_limits<double>::quiet_NaN(), "dataset"};
    h.lr_dataset = name;
    h.lr_per_step = a.lr_values;
    return h;
  } else if (a.numbers.count("learning_rate")) {
    h.lr = {a.numbers.at("learning_rate"), "attribute"};
    require_in_range(h.lr.value, 0, kLargestHyperparameter, false,
                     "the attribute 'learning_rate' of '" + path + "'", "--lr");
  } else {
    fail(kExitUsage, "no learning rate: give --lr (a number or the name of a per-step dataset); the input has no "
                     "attribute learning_rate and no dataset 'lr'");
  }
  h.lr_per_step.assign(static_cast<size_t>(steps), h.lr.value);
  return h;
}

}  // namespace latdisp
