// `latdisp pack`: the typed configuration of packing a series (or any input)
// into one HDF5 trajectory, built from its option table
// (config/pack_options.hpp) or by hand in tests.
#pragma once

#include <string>

#include "config/option_echo.hpp"
#include "config/run_specs.hpp"

namespace latdisp {

struct PackConfig {
  InputSpec input;      // path, dataset (the tensor), dead mask (NAME in the input, or FILE:NAME)
  std::string output;   // .h5 / .hdf5
  std::string output_dataset = "W";
  bool overwrite = false;
  MemorySpec memory;  // the budget only; none: a share of the node's memory
  OptionEcho echo;    // empty: pack writes no report
};

}  // namespace latdisp
