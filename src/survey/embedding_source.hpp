// Where a model keeps its embedding (docs/formats.md §20): a
// model folder as released (model.safetensors, or a sharded
// model.safetensors.index.json whose weight_map names the shard holding each
// tensor), or one safetensors or HDF5 file; and the reader of a 2-D tensor's
// rows as raw element bytes, each rank reading only the rows it asks for.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kokkos_kernels/formats/element_format.hpp"

namespace latdisp {

// The names tried, in order, when --tensor is not given.
const std::vector<std::string>& embedding_tensor_names();

struct EmbeddingLocation {
  std::string model;      // as given: a folder or a file
  bool folder = false;
  std::string file;       // the file holding the tensor (a shard of a sharded model)
  bool hdf5 = false;
  std::string tensor;
  std::string stored_type;  // "BF16", "F32", "uint16", "float16", ...
  formats::ElementType element_type = formats::ElementType::bf16;
  int64_t rows = 0;
  int64_t dims = 0;
  int64_t data_offset = 0;  // safetensors: the tensor's first byte in `file`
  std::string tokenizer;    // the folder's tokenizer.json, if present
  int64_t row_bytes() const { return dims * formats::element_bytes(element_type); }
};

// Independent (no MPI). `tensor` empty: the first of embedding_tensor_names()
// present. `element_type` empty: from the stored type. Throws
// Error(kExitInput) naming what was found: a folder without a model file, a
// shard that is missing or outside the folder, no embedding (the 2-D tensors
// present), a tensor that is not 2-D, a type that is no element format.
EmbeddingLocation locate_embedding(const std::string& model, const std::string& tensor,
                                   const std::string& element_type);

// Reads rows of the tensor as raw little-endian element bytes, independently
// (pread for safetensors, a serial HDF5 open for HDF5).
class EmbeddingRows {
 public:
  explicit EmbeddingRows(const EmbeddingLocation& location);  // throws Error(kExitInput)
  ~EmbeddingRows();
  EmbeddingRows(const EmbeddingRows&) = delete;
  EmbeddingRows& operator=(const EmbeddingRows&) = delete;

  // Rows [begin, begin + count) into `out` (count * row_bytes bytes).
  void read(int64_t begin, int64_t count, unsigned char* out) const;
  // The given rows, in that order.
  void read_rows(const std::vector<int64_t>& rows, unsigned char* out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace latdisp
