// Writers of the saved tensors (docs/formats.md §8): HDF5 or safetensors,
// every rank writing its own token slab.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/output_format.hpp"
#include "io/output_selection.hpp"
#include "io/trajectory_shape.hpp"
#include "kokkos_kernels/formats/element_type.hpp"
#include "parallel/partition.hpp"

namespace latdisp {

struct ResultLayout {
  TrajectoryShape shape;
  TokenRange slab;
  int integer_bytes = 8;  // 1, 2, 4 or 8: the dtype of delta_W_prime
  formats::ElementType element_type = formats::ElementType::bf16;  // of W, and of the saved U
  OutputSelection selection;
  std::vector<uint8_t> dead_mask;  // all tokens
  std::vector<int64_t> dead_token_ids;
  std::map<std::string, std::string> provenance;  // attributes / __metadata__
};

// The exceptions as the three saved tensors' rows (docs/formats.md, saved tensors).
struct ExceptionColumns {
  std::vector<int64_t> index;  // (n, 3): step, token, dim
  std::vector<double> value;   // x correctly rounded (NaN when undefined)
  std::vector<int8_t> kind;    // 1 almost, 2 half, 3 non_integer, 4 nonfinite, 5 out of the dtype's range
  size_t size() const { return kind.size(); }
};

class ResultWriter {
 public:
  virtual ~ResultWriter() = default;
  // Collective: steps [first, first + count) of the rank's slab, C order
  // (count, slab tokens, dims). Every rank calls these equally often.
  virtual void write_delta(int64_t first, int64_t count, const void* integers) = 0;
  // U as bits of layout.element_type, element_bytes(element_type) each.
  virtual void write_ulp(int64_t first, int64_t count, const void* bits) = 0;
  virtual void write_crossings(int64_t first, int64_t count, const uint8_t* flags) = 0;
  // Collective, once: this rank's exceptions go to rows [offset, offset + n).
  virtual void write_exceptions(const ExceptionColumns& local, int64_t offset, int64_t total) = 0;
  // Collective: finishes the file; returns the file's size in bytes.
  virtual uint64_t close() = 0;
};

// Collective: the writer of `format`. Throws Error(kExitOutput).
std::unique_ptr<ResultWriter> create_result_writer(OutputFormat format, MPI_Comm comm, const std::string& path,
                                                   const ResultLayout& layout);
std::unique_ptr<ResultWriter> create_hdf5_writer(MPI_Comm comm, const std::string& path, const ResultLayout& layout);
std::unique_ptr<ResultWriter> create_safetensors_writer(MPI_Comm comm, const std::string& path,
                                                        const ResultLayout& layout);

}  // namespace latdisp
