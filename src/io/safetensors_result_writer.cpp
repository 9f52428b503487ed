// Safetensors output written by all ranks with MPI-IO. The header's space is
// reserved up front (padded with spaces, as the format allows), so every
// tensor's offset is known before the exception count is; rank 0 writes the
// header last.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "io/element_storage.hpp"
#include "io/mpi_output_file.hpp"
#include "io/output_file.hpp"
#include "io/result_writer.hpp"
#include "io/safetensors.hpp"
#include "io/transfer_limits.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

constexpr uint64_t kReservedHeaderBytes = 16384;  // a multiple of 8, as the format recommends

struct TensorSlot {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // relative to the data area
  uint64_t bytes = 0;
};

const char* integer_dtype(int bytes) {
  switch (bytes) {
    case 1:
      return "I8";
    case 2:
      return "I16";
    case 4:
      return "I32";
    default:
      return "I64";
  }
}

class SafetensorsResultWriter : public ResultWriter {
 public:
  SafetensorsResultWriter(MPI_Comm comm, const std::string& path, const ResultLayout& layout)
      : m_comm(comm), m_path(path), m_layout(layout), m_file(comm, path) {
    MPI_Comm_rank(comm, &m_rank);
    const int64_t steps = layout.shape.steps, tokens = layout.shape.tokens, dims = layout.shape.dims;
    const int64_t dead = static_cast<int64_t>(layout.dead_token_ids.size());
    const OutputSelection& s = layout.selection;
    if (s.delta)
      m_delta =
          add("delta_W_prime", integer_dtype(layout.integer_bytes), {steps - 1, tokens, dims}, layout.integer_bytes);
    if (s.ulp)
      m_ulp = add("U", safetensors_element_dtype(layout.element_type), {steps, tokens, dims},
                  formats::element_bytes(layout.element_type));
    if (s.crossings) m_crossings = add("exponent_crossings", "BOOL", {steps - 1, tokens, dims}, 1);
    // Written by rank 0 once the space is reserved.
    std::vector<std::pair<size_t, const void*>> small;
    if (s.dead_mask) {
      small.emplace_back(add("dead_mask", "BOOL", {tokens}, 1), layout.dead_mask.data());
      small.emplace_back(add("dead_token_ids", "I64", {dead}, 8), layout.dead_token_ids.data());
    }
    const char* scalar_names[] = {"n_steps", "n_tokens", "n_dims", "n_dead"};
    const int64_t scalars[] = {steps - 1, tokens, dims, dead};
    if (s.scalars)
      for (int i = 0; i < 4; ++i) small.emplace_back(add(scalar_names[i], "I64", {}, 8), &scalars[i]);
    reserve_output_space(comm, path, kDataStart + m_end);
    collectively(comm, [&] {
      if (m_rank == 0)
        for (const auto& [slot, data] : small)
          m_file.write_at(kDataStart + m_slots[slot].begin, data, m_slots[slot].bytes);
    });
  }

  void write_delta(int64_t first, int64_t count, const void* integers) override {
    if (m_delta != kNone) write_slab(m_slots[m_delta], m_layout.integer_bytes, first, count, integers);
  }
  void write_ulp(int64_t first, int64_t count, const void* bits) override {
    if (m_ulp != kNone) write_slab(m_slots[m_ulp], formats::element_bytes(m_layout.element_type), first, count, bits);
  }
  void write_crossings(int64_t first, int64_t count, const uint8_t* flags) override {
    if (m_crossings != kNone) write_slab(m_slots[m_crossings], 1, first, count, flags);
  }

  void write_exceptions(const ExceptionColumns& columns, int64_t offset, int64_t total) override {
    if (!m_layout.selection.exceptions) return;
    const TensorSlot index = m_slots[add("exceptions.index", "I64", {total, 3}, 8)];
    const TensorSlot value = m_slots[add("exceptions.value", "F64", {total}, 8)];
    const TensorSlot kind = m_slots[add("exceptions.kind", "I8", {total}, 1)];
    reserve_output_space(m_comm, m_path, kDataStart + m_end);
    const uint64_t first = static_cast<uint64_t>(offset);
    m_file.write_at_all(kDataStart + index.begin + first * 24, columns.index.data(), columns.index.size() * 8);
    m_file.write_at_all(kDataStart + value.begin + first * 8, columns.value.data(), columns.value.size() * 8);
    m_file.write_at_all(kDataStart + kind.begin + first, columns.kind.data(), columns.kind.size());
  }

  uint64_t close() override {
    collectively(m_comm, [&] {
      if (m_rank == 0) write_header();
    });
    m_file.close();
    return kDataStart + m_end;
  }

 private:
  static constexpr size_t kNone = static_cast<size_t>(-1);
  static constexpr uint64_t kDataStart = 8 + kReservedHeaderBytes;

  size_t add(const std::string& name, const std::string& dtype, std::vector<int64_t> shape, int element_bytes) {
    uint64_t elements = 1;
    for (int64_t d : shape) elements *= static_cast<uint64_t>(d);
    m_slots.push_back(TensorSlot{name, dtype, shape, m_end, elements * static_cast<uint64_t>(element_bytes)});
    m_end += m_slots.back().bytes;  // contiguous: the format allows no holes
    return m_slots.size() - 1;
  }

  // Steps [first, first + count) of a (steps, tokens, dims) tensor: this
  // rank's tokens are one contiguous run of each step, written
  // independently (collective buffering would only shuffle them between
  // ranks); the caller agrees on errors.
  void write_slab(const TensorSlot& slot, int element_bytes, int64_t first, int64_t count, const void* data) {
    const uint64_t row_bytes = static_cast<uint64_t>(m_layout.shape.dims * element_bytes);
    const uint64_t step_bytes = static_cast<uint64_t>(m_layout.shape.tokens) * row_bytes;
    const uint64_t run_bytes = static_cast<uint64_t>(m_layout.slab.count) * row_bytes;
    const uint64_t begin = kDataStart + slot.begin + static_cast<uint64_t>(m_layout.slab.begin) * row_bytes;
    const auto* bytes = static_cast<const unsigned char*>(data);
    const std::string what =
        "writing steps " + std::to_string(first) + ".." + std::to_string(first + count - 1) + " of";
    const uint64_t piece = static_cast<uint64_t>(kMaxTransferBytes);  // MPI counts are ints
    for (int64_t t = 0; t < count; ++t) {
      const uint64_t step_begin = begin + static_cast<uint64_t>(first + t) * step_bytes;
      const unsigned char* run = bytes + static_cast<uint64_t>(t) * run_bytes;
      for (uint64_t done = 0; done < run_bytes; done += piece)
        m_file.write_at(step_begin + done, run + done, std::min(piece, run_bytes - done), what);
    }
  }

  void write_header() {
    std::vector<SafetensorsEntry> entries;
    for (const TensorSlot& slot : m_slots) entries.push_back({slot.name, slot.dtype, slot.shape});
    const std::string header = build_safetensors_header(entries, m_layout.provenance, nullptr, kReservedHeaderBytes);
    m_file.write_at(0, header.data(), header.size(), "writing the header of");
  }

  MPI_Comm m_comm;
  std::string m_path;
  ResultLayout m_layout;
  int m_rank = 0;
  MpiOutputFile m_file;
  std::vector<TensorSlot> m_slots;
  uint64_t m_end = 0;
  size_t m_delta = kNone, m_ulp = kNone, m_crossings = kNone;
};

}  // namespace

std::unique_ptr<ResultWriter> create_safetensors_writer(MPI_Comm comm, const std::string& path,
                                                        const ResultLayout& layout) {
  return std::make_unique<SafetensorsResultWriter>(comm, path, layout);
}

}  // namespace latdisp
