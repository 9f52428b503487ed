// Saving the result tensors (SPEC section 5, Output): a second pass over W
// that encodes every coordinate and writes the token slabs in parallel.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>

#include "options.hpp"

namespace latdisp {

struct SaveSummary {
  std::string path;
  std::string format;  // "hdf5" or "safetensors"
  std::string dtype;   // of delta_W_prime
  int64_t exceptions = 0;
  uint64_t bytes = 0;
  double seconds = 0;
};

// "int8" .. "int64" for --save-dtype, given the analysis' integer width
// (bf16::IntegerWidth; -1 if no finite x). Throws Error(kExitUsage).
std::string save_dtype_for(const std::string& requested, int32_t width);

// Collective: writes options.output to `temporary_path`. `dtype` from
// save_dtype_for. Throws Error.
SaveSummary save_results(const AnalyzeOptions& options, const std::string& temporary_path, const std::string& dtype,
                         MPI_Comm comm);

}  // namespace latdisp
