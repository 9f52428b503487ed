// The per-row file of `analyze --per-row FILE.h5` (docs/formats.md §18): for
// every row (transition t, token n) its magnitude (float64) and motion regime
// (int8), as two (S-1, N) datasets written by every rank, step block by step
// block, at its token slab.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>

#include "io/hdf5_output_file.hpp"
#include "parallel/partition.hpp"

namespace latdisp {

class PerRowFile {
 public:
  // Collective: creates `path` (the safe output's temporary) with datasets
  // magnitude and regime of (transitions, tokens). Throws Error(kExitOutput).
  PerRowFile(MPI_Comm comm, const std::string& path, int64_t transitions, int64_t tokens);
  // Collective, every rank once per step block: rows [first_transition,
  // first_transition + count) x the rank's `slab`, C order.
  void write(int64_t first_transition, int64_t count, const TokenRange& slab, const double* magnitude,
             const int8_t* regime);
  // Collective: flushes and closes. Throws Error(kExitOutput).
  void close();

 private:
  Hdf5OutputFile m_file;
  hid_t m_magnitude = -1;
  hid_t m_regime = -1;
};

}  // namespace latdisp
