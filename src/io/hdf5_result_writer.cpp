// HDF5 output: chunked datasets written collectively, h5py-compatible types
// (bool as h5py's enum; U in W's element format as io/element_storage.hpp
// stores it, bfloat16 as uint16 with the attribute dtype = bfloat16).
#include <algorithm>

#include "io/hdf5_handles.hpp"
#include "io/element_storage.hpp"
#include "io/hdf5_output_file.hpp"
#include "io/result_writer.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

hid_t integer_file_type(int bytes) {
  switch (bytes) {
    case 1:
      return H5T_STD_I8LE;
    case 2:
      return H5T_STD_I16LE;
    case 4:
      return H5T_STD_I32LE;
    default:
      return H5T_STD_I64LE;
  }
}

hid_t integer_memory_type(int bytes) {
  switch (bytes) {
    case 1:
      return H5T_NATIVE_INT8;
    case 2:
      return H5T_NATIVE_INT16;
    case 4:
      return H5T_NATIVE_INT32;
    default:
      return H5T_NATIVE_INT64;
  }
}

class Hdf5ResultWriter : public ResultWriter {
 public:
  Hdf5ResultWriter(MPI_Comm comm, const std::string& path, const ResultLayout& layout)
      : m_layout(layout),
        m_transfer(collective_transfer()),
        m_bool(h5py_bool_type()),
        m_element(hdf5_element_type(layout.element_type)),
        m_file(comm, path) {
    MPI_Comm_rank(comm, &m_rank);
    for (const auto& [name, value] : layout.provenance) write_attribute(m_file.get(), name, value);
    const hsize_t steps = static_cast<hsize_t>(layout.shape.steps), tokens = static_cast<hsize_t>(layout.shape.tokens),
                  dims = static_cast<hsize_t>(layout.shape.dims);
    const OutputSelection& s = layout.selection;
    if (s.delta)
      m_delta = create("delta_W_prime", integer_file_type(layout.integer_bytes), {steps - 1, tokens, dims},
                       layout.integer_bytes);
    if (s.ulp) {
      const formats::ElementType type = layout.element_type;
      m_ulp = create("U", m_element.get(), {steps, tokens, dims}, formats::element_bytes(type));
      const std::string declared =
          type == formats::ElementType::bf16 ? std::string("bfloat16") : hdf5_element_attribute(type);
      if (!declared.empty()) write_attribute(m_ulp, "dtype", declared);
    }
    if (s.crossings) m_crossings = create("exponent_crossings", m_bool.get(), {steps - 1, tokens, dims}, 1);
    if (s.dead_mask) {
      write_whole(create("dead_mask", m_bool.get(), {tokens}, 1), m_bool.get(), layout.dead_mask.data(), "dead_mask");
      write_whole(create("dead_token_ids", H5T_STD_I64LE, {layout.dead_token_ids.size()}, 8), H5T_NATIVE_INT64,
                  layout.dead_token_ids.data(), "dead_token_ids");
    }
    if (s.scalars) {
      const int64_t dead = static_cast<int64_t>(layout.dead_token_ids.size());
      const std::pair<const char*, int64_t> scalars[] = {{"n_steps", layout.shape.steps - 1},
                                                         {"n_tokens", layout.shape.tokens},
                                                         {"n_dims", layout.shape.dims},
                                                         {"n_dead", dead}};
      for (const auto& [name, value] : scalars)
        write_whole(m_file.keep(create_output_dataset(m_file.get(), name, H5T_STD_I64LE, {})), H5T_NATIVE_INT64, &value,
                    name);
    }
    m_file.reserve_space();
  }

  void write_delta(int64_t first, int64_t count, const void* integers) override {
    if (m_delta >= 0) write_slab(m_delta, integer_memory_type(m_layout.integer_bytes), first, count, integers);
  }
  void write_ulp(int64_t first, int64_t count, const void* bits) override {
    if (m_ulp >= 0) write_slab(m_ulp, m_element.get(), first, count, bits);  // raw bits: no conversion
  }
  void write_crossings(int64_t first, int64_t count, const uint8_t* flags) override {
    if (m_crossings >= 0) write_slab(m_crossings, m_bool.get(), first, count, flags);
  }

  void write_exceptions(const ExceptionColumns& columns, int64_t offset, int64_t total) override {
    if (!m_layout.selection.exceptions) return;
    const Hdf5Handle group = create_output_group(m_file.get(), "exceptions");
    write_attribute(group.get(), "kind_legend",
                    "1 almost, 2 half, 3 non_integer, 4 nonfinite, 5 out of the dtype's range");
    const hsize_t rows = static_cast<hsize_t>(total);
    const hsize_t start = static_cast<hsize_t>(offset), count = columns.size();
    const hid_t index = create_rows("index", H5T_STD_I64LE, {rows, 3});
    const hid_t value = create_rows("value", H5T_IEEE_F64LE, {rows});
    const hid_t kind = create_rows("kind", H5T_STD_I8LE, {rows});
    m_file.reserve_space();
    // An empty table has no storage to write to (HDF5 refuses the attempt).
    if (rows == 0) return;
    write_rows(index, "index", H5T_NATIVE_INT64, {rows, 3}, start, count, columns.index.data());
    write_rows(value, "value", H5T_NATIVE_DOUBLE, {rows}, start, count, columns.value.data());
    write_rows(kind, "kind", H5T_NATIVE_INT8, {rows}, start, count, columns.kind.data());
  }

  uint64_t close() override {
    m_file.close();
    return 0;  // the caller measures the file
  }

 private:
  void write_attribute(hid_t object, const std::string& name, const std::string& value) {
    m_file.write("attribute " + name, [&] { return write_string_attribute(object, name, value); });
  }

  // A dataset sized for chunks of about 1 MiB, as many whole rows as fit:
  // quick to read by step and by token. Kept open until the file closes.
  hid_t create(const char* name, hid_t type, std::vector<hsize_t> dims, int element_bytes) {
    std::vector<hsize_t> chunk;
    if (dims.size() == 3 && dims[0] * dims[1] * dims[2] > 0) {
      const hsize_t row = dims[2] * static_cast<hsize_t>(element_bytes);
      const hsize_t rows = std::max<hsize_t>(1, (hsize_t(1) << 20) / std::max<hsize_t>(row, 1));
      // Tokens split into equal chunks, so the last chunk of a step wastes no space.
      const hsize_t token_chunks = (dims[1] + rows - 1) / rows;
      const hsize_t tokens = (dims[1] + token_chunks - 1) / token_chunks;
      chunk = {std::min<hsize_t>(dims[0], std::max<hsize_t>(1, rows / tokens)), tokens, dims[2]};
    }
    return m_file.keep(create_output_dataset(m_file.get(), name, type, dims, chunk));
  }

  // Independent: a rank's part of each step is one contiguous run in its
  // chunks, so collective buffering would only shuffle it between ranks.
  void write_slab(hid_t dataset, hid_t memory_type, int64_t first, int64_t count, const void* data) {
    const hsize_t start[3] = {static_cast<hsize_t>(first), static_cast<hsize_t>(m_layout.slab.begin), 0};
    const hsize_t extent[3] = {static_cast<hsize_t>(count), static_cast<hsize_t>(m_layout.slab.count),
                               static_cast<hsize_t>(m_layout.shape.dims)};
    Hdf5Handle file_space(H5Dget_space(dataset), H5Sclose);
    H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, extent, nullptr);
    Hdf5Handle memory_space(H5Screate_simple(3, extent, nullptr), H5Sclose);
    m_file.write("steps " + std::to_string(first) + ".." + std::to_string(first + count - 1), [&] {
      return H5Dwrite(dataset, memory_type, memory_space.get(), file_space.get(), m_independent.get(), data);
    });
  }

  // Collective write of a whole small dataset by rank 0 (others select nothing).
  void write_whole(hid_t dataset, hid_t memory_type, const void* data, const std::string& name) {
    Hdf5Handle file_space(H5Dget_space(dataset), H5Sclose);
    // An empty dataset (no dead tokens) has nothing to write, and HDF5 refuses
    // the empty vector's null buffer.
    if (H5Sget_simple_extent_npoints(file_space.get()) == 0) return;
    Hdf5Handle memory_space(H5Scopy(file_space.get()), H5Sclose);
    if (m_rank != 0) {
      H5Sselect_none(file_space.get());
      H5Sselect_none(memory_space.get());
    }
    m_file.write(name, [&] {
      return H5Dwrite(dataset, memory_type, memory_space.get(), file_space.get(), m_transfer.get(),
                      m_rank == 0 ? data : nullptr);
    });
  }

  hid_t create_rows(const char* name, hid_t file_type, std::vector<hsize_t> dims) {
    return m_file.keep(create_output_dataset(m_file.get(), std::string("exceptions/") + name, file_type, dims));
  }

  void write_rows(hid_t dataset, const char* name, hid_t memory_type, std::vector<hsize_t> dims, hsize_t start,
                  hsize_t count, const void* data) {
    hsize_t offsets[2] = {start, 0}, extent[2] = {count, dims.size() > 1 ? dims[1] : 1};
    Hdf5Handle file_space(H5Dget_space(dataset), H5Sclose);
    Hdf5Handle memory_space(H5Screate_simple(static_cast<int>(dims.size()), extent, nullptr), H5Sclose);
    if (count == 0) {
      H5Sselect_none(file_space.get());
      H5Sselect_none(memory_space.get());
    } else {
      H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, offsets, nullptr, extent, nullptr);
    }
    m_file.write(std::string("exceptions/") + name, [&] {
      return H5Dwrite(dataset, memory_type, memory_space.get(), file_space.get(), m_transfer.get(), data);
    });
  }

  ResultLayout m_layout;
  int m_rank = 0;
  Hdf5Handle m_transfer;
  Hdf5Handle m_independent{H5Pcreate(H5P_DATASET_XFER), H5Pclose};
  Hdf5Handle m_bool;
  Hdf5Handle m_element;  // U's file and memory type
  Hdf5OutputFile m_file;  // after the property lists and types it uses: destroyed before them
  hid_t m_delta = -1, m_ulp = -1, m_crossings = -1;
};

}  // namespace

std::unique_ptr<ResultWriter> create_hdf5_writer(MPI_Comm comm, const std::string& path, const ResultLayout& layout) {
  return std::make_unique<Hdf5ResultWriter>(comm, path, layout);
}

}  // namespace latdisp
