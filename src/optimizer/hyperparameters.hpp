// AdamW's hyperparameters for the audit (docs/optimizer.md §2): from the
// options, else the input's attributes (HDF5 root attributes, safetensors
// __metadata__), else torch's defaults; the learning rate per step from a
// number or a length-S dataset. Each value keeps its source for the report.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config/optimizer_config.hpp"

namespace latdisp {

struct Hyperparameter {
  double value = 0;
  std::string source;  // "option", "attribute", "dataset", "default"
};

struct Hyperparameters {
  Hyperparameter lr;  // value NaN when it comes per step from a dataset
  std::string lr_dataset;      // the dataset's name, if any
  std::vector<double> lr_per_step;  // length S (entry 0 unused)
  Hyperparameter beta1, beta2, eps, weight_decay;
};

// What the input file itself says: its numeric attributes / metadata and, if
// `lr_name` is not empty, that float dataset/tensor (empty when absent).
struct InputAttributes {
  std::map<std::string, double> numbers;
  bool lr_found = false;
  std::vector<double> lr_values;
  std::string lr_problem;  // why the named lr dataset cannot be used
};

// Collective: rank 0 reads the attributes of `path` (an HDF5 or safetensors
// file; the first checkpoint of a series) before any reader opens it; every
// rank gets the same result or the same Error.
InputAttributes read_input_attributes(MPI_Comm comm, const std::string& path, const std::string& lr_name);

// Collective, for a checkpoint series (`files` in step order): the
// attributes of its first checkpoint, and the learning rate per step from
// each checkpoint's __metadata__ key `lr_name` when they carry it
// (docs/optimizer.md §2).
InputAttributes read_series_attributes(MPI_Comm comm, const std::vector<std::string>& files,
                                       const std::string& lr_name);

// Resolves every hyperparameter for `steps` snapshots. Throws Error(kExitUsage)
// for a missing learning rate, Error(kExitInput) for an lr dataset of the
// wrong length.
Hyperparameters resolve_hyperparameters(const OptimizerConfig& options, const InputAttributes& attributes,
                                        int64_t steps);

}  // namespace latdisp
