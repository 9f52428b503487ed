// Safetensors output written by all ranks with MPI-IO. The header's space is
// reserved up front (padded with spaces, as the format allows), so every
// tensor's offset is known before the exception count is; rank 0 writes the
// header last.
#include <algorithm>
#include <cstring>

#include "parallel/errors.hpp"
#include "io/result_writer.hpp"
#include "io/safetensors.hpp"

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
      : m_comm(comm), m_path(path), m_layout(layout) {
    MPI_Comm_rank(comm, &m_rank);
    const int status = MPI_File_open(comm, path.c_str(), MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, &m_file);
    if (status != MPI_SUCCESS) fail(kExitOutput, "cannot create '" + path + "' with MPI-IO");
    const int64_t steps = layout.shape.steps, tokens = layout.shape.tokens, dims = layout.shape.dims;
    const int64_t dead = static_cast<int64_t>(layout.dead_token_ids.size());
    const OutputSelection& s = layout.selection;
    if (s.delta)
      m_delta =
          add("delta_W_prime", integer_dtype(layout.integer_bytes), {steps - 1, tokens, dims}, layout.integer_bytes);
    if (s.ulp) m_ulp = add("U", "BF16", {steps, tokens, dims}, 2);
    if (s.crossings) m_crossings = add("exponent_crossings", "BOOL", {steps - 1, tokens, dims}, 1);
    if (s.dead_mask) {
      const size_t mask = add("dead_mask", "BOOL", {tokens}, 1);
      const size_t ids = add("dead_token_ids", "I64", {dead}, 8);
      if (m_rank == 0) {
        write_at(m_slots[mask].begin, layout.dead_mask.data(), m_slots[mask].bytes);
        write_at(m_slots[ids].begin, layout.dead_token_ids.data(), m_slots[ids].bytes);
      }
    }
    if (s.scalars) {
      const std::pair<const char*, int64_t> scalars[] = {
          {"n_steps", steps - 1}, {"n_tokens", tokens}, {"n_dims", dims}, {"n_dead", dead}};
      for (const auto& [name, value] : scalars) {
        const size_t slot = add(name, "I64", {}, 8);
        if (m_rank == 0) write_at(m_slots[slot].begin, &value, 8);
      }
    }
  }

  ~SafetensorsResultWriter() override {
    if (m_file != MPI_FILE_NULL) MPI_File_close(&m_file);
  }

  void write_delta(int64_t first, int64_t count, const void* integers) override {
    if (m_delta != kNone) write_slab(m_slots[m_delta], m_layout.integer_bytes, first, count, integers);
  }
  void write_ulp(int64_t first, int64_t count, const uint16_t* bits) override {
    if (m_ulp != kNone) write_slab(m_slots[m_ulp], 2, first, count, bits);
  }
  void write_crossings(int64_t first, int64_t count, const uint8_t* flags) override {
    if (m_crossings != kNone) write_slab(m_slots[m_crossings], 1, first, count, flags);
  }

  void write_exceptions(const ExceptionColumns& columns, int64_t offset, int64_t total) override {
    if (!m_layout.selection.exceptions) return;
    const TensorSlot index = m_slots[add("exceptions.index", "I64", {total, 3}, 8)];
    const TensorSlot value = m_slots[add("exceptions.value", "F64", {total}, 8)];
    const TensorSlot kind = m_slots[add("exceptions.kind", "I8", {total}, 1)];
    const uint64_t first = static_cast<uint64_t>(offset);
    write_at_all(index.begin + first * 24, columns.index.data(), columns.index.size() * 8);
    write_at_all(value.begin + first * 8, columns.value.data(), columns.value.size() * 8);
    write_at_all(kind.begin + first, columns.kind.data(), columns.kind.size());
  }

  uint64_t close() override {
    if (m_rank == 0) write_header();
    MPI_Barrier(m_comm);
    check(MPI_File_close(&m_file), "closing");
    m_file = MPI_FILE_NULL;
    return kDataStart + m_end;
  }

 private:
  static constexpr size_t kNone = static_cast<size_t>(-1);
  static constexpr uint64_t kDataStart = 8 + kReservedHeaderBytes;
  static constexpr uint64_t kMaxWriteBytes = uint64_t(1) << 30;

  size_t add(const std::string& name, const std::string& dtype, std::vector<int64_t> shape, int element_bytes) {
    uint64_t elements = 1;
    for (int64_t d : shape) elements *= static_cast<uint64_t>(d);
    m_slots.push_back(TensorSlot{name, dtype, shape, m_end, elements * static_cast<uint64_t>(element_bytes)});
    m_end += m_slots.back().bytes;  // contiguous: the format allows no holes
    return m_slots.size() - 1;
  }

  void check(int status, const std::string& what) {
    if (status != MPI_SUCCESS) fail(kExitOutput, what + " '" + m_path + "' failed (disk full?)");
  }

  void write_at(uint64_t begin, const void* data, uint64_t bytes) {
    const auto* from = static_cast<const unsigned char*>(data);
    for (uint64_t done = 0; done < bytes; done += kMaxWriteBytes) {  // MPI counts are ints
      const uint64_t piece = std::min(kMaxWriteBytes, bytes - done);
      MPI_Status status;
      check(MPI_File_write_at(m_file, static_cast<MPI_Offset>(kDataStart + begin + done), from + done,
                              static_cast<int>(piece), MPI_BYTE, &status),
            "writing");
    }
  }

  void write_at_all(uint64_t begin, const void* data, uint64_t bytes) {
    MPI_Status status;
    check(MPI_File_write_at_all(m_file, static_cast<MPI_Offset>(kDataStart + begin), data, static_cast<int>(bytes),
                                MPI_BYTE, &status),
          "writing");
  }

  // Steps [first, first + count) of a (steps, tokens, dims) tensor: this
  // rank's tokens are one contiguous run of each step, written
  // independently (collective buffering would only shuffle them between ranks).
  void write_slab(const TensorSlot& slot, int element_bytes, int64_t first, int64_t count, const void* data) {
    const uint64_t row_bytes = static_cast<uint64_t>(m_layout.shape.dims * element_bytes);
    const uint64_t step_bytes = static_cast<uint64_t>(m_layout.shape.tokens) * row_bytes;
    const uint64_t run_bytes = static_cast<uint64_t>(m_layout.slab.count) * row_bytes;
    const uint64_t begin = slot.begin + static_cast<uint64_t>(m_layout.slab.begin) * row_bytes;
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (int64_t t = 0; t < count; ++t)
      write_at(begin + static_cast<uint64_t>(first + t) * step_bytes, bytes + static_cast<uint64_t>(t) * run_bytes,
               run_bytes);
  }

  void write_header() {
    std::vector<SafetensorsEntry> entries;
    for (const TensorSlot& slot : m_slots) entries.push_back({slot.name, slot.dtype, slot.shape});
    const std::string header = build_safetensors_header(entries, m_layout.provenance, nullptr, kReservedHeaderBytes);
    MPI_Status status;
    check(MPI_File_write_at(m_file, 0, header.data(), static_cast<int>(header.size()), MPI_BYTE, &status),
          "writing the header of");
  }

  MPI_Comm m_comm;
  std::string m_path;
  ResultLayout m_layout;
  int m_rank = 0;
  MPI_File m_file = MPI_FILE_NULL;
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
