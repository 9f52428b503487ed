// Writers of the saved tensors (docs/formats.md §8): HDF5 or safetensors,
// every rank writing its own token slab collectively.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "parallel/partition.hpp"
#include "io/trajectory_shape.hpp"

namespace latdisp {

// Which tensors to write (--outputs).
struct OutputSelection {
  bool delta = true;       // delta_W_prime
  bool ulp = true;         // U
  bool crossings = true;   // exponent_crossings
  bool dead_mask = true;   // dead_mask, dead_token_ids
  bool scalars = true;     // n_steps, n_tokens, n_dims, n_dead
  bool exceptions = true;  // exceptions (index, value, kind)
};

// "all" or a comma-separated list of the names above; throws Error(kExitUsage).
OutputSelection parse_output_selection(const std::string& list);

struct ResultLayout {
  TrajectoryShape shape;
  TokenRange slab;
  int integer_bytes = 8;  // 1, 2, 4 or 8: the dtype of delta_W_prime
  OutputSelection selection;
  std::vector<uint8_t> dead_mask;  // all tokens
  std::vector<int64_t> dead_token_ids;
  std::map<std::string, std::string> provenance;  // attributes / __metadata__
};

struct ExceptionRecord {
  int64_t step, token, dim;
  double value;  // x correctly rounded (NaN when undefined)
  int8_t kind;   // ExceptionKind
};

// The exceptions as the three saved tensors' rows.
struct ExceptionColumns {
  std::vector<int64_t> index;  // (n, 3): step, token, dim
  std::vector<double> value;
  std::vector<int8_t> kind;
};
ExceptionColumns columns_of(const std::vector<ExceptionRecord>& records);

class ResultWriter {
 public:
  virtual ~ResultWriter() = default;
  // Collective: steps [first, first + count) of the rank's slab, C order
  // (count, slab tokens, dims). Every rank calls these equally often.
  virtual void write_delta(int64_t first, int64_t count, const void* integers) = 0;
  virtual void write_ulp(int64_t first, int64_t count, const uint16_t* bits) = 0;
  virtual void write_crossings(int64_t first, int64_t count, const uint8_t* flags) = 0;
  // Collective, once: this rank's exceptions go to rows [offset, offset + n).
  virtual void write_exceptions(const std::vector<ExceptionRecord>& local, int64_t offset, int64_t total) = 0;
  // Collective: finishes the file; returns the file's size in bytes.
  virtual uint64_t close() = 0;
};

// Collective. Throws Error(kExitOutput).
std::unique_ptr<ResultWriter> create_hdf5_writer(MPI_Comm comm, const std::string& path, const ResultLayout& layout);
std::unique_ptr<ResultWriter> create_safetensors_writer(MPI_Comm comm, const std::string& path,
                                                        const ResultLayout& layout);

}  // namespace latdisp
