// The per-token motion table of `analyze --per-token` (docs/formats.md,
// "Per-token table"): each rank holds the rows of its token slab; the file is
// written in parallel (HDF5, safetensors) or gathered in token order (CSV).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kokkos_kernels/motion.hpp"
#include "parallel/partition.hpp"

namespace latdisp {

struct PerTokenTable {
  TokenRange slab{0, 0};
  std::vector<uint8_t> dead;         // per slab token
  std::vector<TokenMotion> records;  // per slab token; empty: no table was kept
};

// The column names, in file order.
std::vector<std::string> per_token_columns();

// Collective. Writes every rank's rows to `path` (a temporary name) in the
// format of `target`'s extension (.csv, .h5/.hdf5, .safetensors); messages
// name `target`. Throws Error(kExitOutput) on every rank if any rank fails.
void write_per_token_table(const PerTokenTable& table, int64_t tokens, const std::string& target,
                           const std::string& path, MPI_Comm comm);

}  // namespace latdisp
