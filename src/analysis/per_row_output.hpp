// `analyze --per-row FILE.h5` (docs/formats.md §18): each row's magnitude, as
// the kernel wrote it for the magnitude store, and its motion regime
// (docs/definitions.md §15), written block by block as the pass goes.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>

#include "io/per_row_file.hpp"
#include "parallel/partition.hpp"

namespace latdisp {

// The regime code of the per-row file: the kernel's RowRegime (0 frozen, 1
// hop, 2 thermal, 3 non-finite) by the kernel's own rule.
int8_t row_regime_code(double magnitude, double radius);

class PerRowOutput {
 public:
  // Collective: creates the file at `path` for (transitions, tokens) rows.
  PerRowOutput(MPI_Comm comm, const std::string& path, int64_t transitions, int64_t tokens, TokenRange slab,
               double hop_radius);
  // Collective, once per step block on every rank: the block's magnitudes
  // (transitions x slab tokens, C order) from transition `first_transition`.
  void add_block(int64_t first_transition, int64_t transitions, const double* magnitudes);
  void close() { m_file.close(); }

 private:
  PerRowFile m_file;
  TokenRange m_slab;
  double m_radius;
};

}  // namespace latdisp
