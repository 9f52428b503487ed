// `latdisp pack`: the options of packing a series into one HDF5 trajectory,
// checked by validate (config/options.cpp).
#pragma once

#include <cstdint>
#include <string>

namespace latdisp {

// `pack`: a checkpoint series (or any input) into the HDF5 trajectory.
struct PackOptions {
  std::string input;
  std::string dataset = "W";            // the tensor in the input
  std::string dead_mask = "dead_mask";  // NAME in the input, or FILE:NAME
  std::string output;                   // .h5 / .hdf5
  std::string output_dataset = "W";
  bool overwrite = false;
  std::string memory_budget;
};

// Throws Error(kExitUsage) naming the option and the value.
void validate(const PackOptions& options);

}  // namespace latdisp
