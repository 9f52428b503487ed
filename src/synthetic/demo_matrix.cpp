#include "synthetic/demo_matrix.hpp"

#include <algorithm>
#include <cstdio>
#include <string>

#include "io/mpi_output_file.hpp"
#include "io/output_file.hpp"
#include "io/safetensors.hpp"
#include "kokkos_kernels/bf16_lattice.hpp"
#include "kokkos_kernels/hash64.hpp"
#include "parallel/errors.hpp"
#include "parallel/partition.hpp"

namespace latdisp {

namespace {

// An embedding-like value: random sign, |v| in [2^-10, 2^-4), random mantissa.
uint16_t random_value(uint64_t seed, uint64_t token, uint64_t dim) {
  const uint64_t h = splitmix64(splitmix64(seed ^ 0x6C617464697370ULL) ^ (token * 0x100000001B3ULL + dim));
  const uint16_t sign = static_cast<uint16_t>((h >> 63) << 15);
  const uint16_t exponent = static_cast<uint16_t>(117 + (h >> 8) % 6);
  const uint16_t mantissa = static_cast<uint16_t>(h & 0x7F);
  return static_cast<uint16_t>(sign | (exponent << 7) | mantissa);
}

uint16_t bits_at_position(int32_t position) {
  return position >= 0 ? static_cast<uint16_t>(position) : static_cast<uint16_t>(0x8000 | -position);
}

constexpr uint16_t kNotebookValue = 0xBAE0;      // -1.708984e-03 = 1|01110101|1100000
constexpr uint16_t kNotebookNeighbour = 0xBADF;  // -1.701355e-03 = 1|01110101|1011111
constexpr uint64_t kGroupRowKey = ~uint64_t(0);

}  // namespace

int64_t planted_group_size(const DemoMatrixModel& model, int64_t group) {
  return model.group_size + (model.groups - 1 - group) * std::max<int64_t>(1, model.group_size / 4);
}

PlantedGroups planted_groups(const DemoMatrixModel& model) {
  PlantedGroups planted;
  planted.group_of_token.assign(static_cast<size_t>(model.tokens), -1);
  // Dimensions: the notebook's, then a handful of active ones, all distinct.
  uint64_t state = splitmix64(model.seed ^ 0xD1D5ULL);
  planted.notebook_dim = static_cast<int64_t>(state % static_cast<uint64_t>(model.dims));
  const int64_t active = std::min<int64_t>(5, model.dims - 1);
  while (static_cast<int64_t>(planted.active_dims.size()) < active) {
    state = splitmix64(state);
    const int64_t d = static_cast<int64_t>(state % static_cast<uint64_t>(model.dims));
    if (d != planted.notebook_dim &&
        std::find(planted.active_dims.begin(), planted.active_dims.end(), d) == planted.active_dims.end())
      planted.active_dims.push_back(d);
  }
  std::sort(planted.active_dims.begin(), planted.active_dims.end());

  // Members: a partial Fisher-Yates shuffle of the token ids.
  int64_t total = 0;
  for (int64_t g = 0; g < model.groups; ++g) total += planted_group_size(model, g);
  std::vector<int64_t> ids(static_cast<size_t>(model.tokens));
  for (int64_t t = 0; t < model.tokens; ++t) ids[t] = t;
  state = splitmix64(model.seed ^ 0x6E0A95ULL);
  for (int64_t i = 0; i < total; ++i) {
    state = splitmix64(state);
    const int64_t j = i + static_cast<int64_t>(state % static_cast<uint64_t>(model.tokens - i));
    std::swap(ids[i], ids[j]);
  }
  int64_t next = 0;
  for (int64_t g = 0; g < model.groups; ++g) {
    std::vector<int64_t> members(ids.begin() + next, ids.begin() + next + planted_group_size(model, g));
    next += planted_group_size(model, g);
    std::sort(members.begin(), members.end());
    for (int64_t t : members) planted.group_of_token[t] = static_cast<int32_t>(g);
    planted.members.push_back(std::move(members));
  }

  // Rows: a shared base, shifted by whole binades (128 ULP) per group.
  for (int64_t g = 0; g < model.groups; ++g) {
    std::vector<uint16_t> row(static_cast<size_t>(model.dims));
    for (int64_t d = 0; d < model.dims; ++d) row[d] = random_value(model.seed, kGroupRowKey, d);
    const int64_t shift = 128 * std::min<int64_t>(g, std::max<int64_t>(model.groups - 2, 0));
    for (int64_t d : planted.active_dims)
      row[d] = bits_at_position(bf16::lattice_position(row[d]) + static_cast<int32_t>(shift));
    row[planted.notebook_dim] = (model.groups >= 2 && g == model.groups - 1) ? kNotebookNeighbour : kNotebookValue;
    planted.rows.push_back(std::move(row));
  }
  return planted;
}

void demo_row(const DemoMatrixModel& model, const PlantedGroups& planted, int64_t token, uint16_t* row) {
  const int32_t g = planted.group_of_token[token];
  if (g >= 0) {
    std::copy(planted.rows[g].begin(), planted.rows[g].end(), row);
    return;
  }
  for (int64_t d = 0; d < model.dims; ++d) row[d] = random_value(model.seed, static_cast<uint64_t>(token), d);
}

namespace {

// "a,b,c" of the values.
template <class Values>
std::string comma_list(const Values& values) {
  std::string text;
  for (size_t i = 0; i < values.size(); ++i) text += (i ? "," : "") + std::to_string(values[i]);
  return text;
}

std::string group_sizes(const PlantedGroups& planted) {
  std::vector<size_t> sizes;
  for (const auto& members : planted.members) sizes.push_back(members.size());
  return comma_list(sizes);
}

// Collective: this rank's rows, written in chunks of about 32 MiB at their
// offsets after the header (rank 0 writes the header too).
void write_matrix_rows(MpiOutputFile& file, const DemoMatrixModel& model, const PlantedGroups& planted,
                       const std::string& header, int64_t data_start, MPI_Comm comm) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  const TokenRange slab = token_range(model.tokens, rank, ranks);
  collectively(comm, [&] {
    if (rank == 0) file.write_at(0, header.data(), header.size());
    const int64_t row_bytes = model.dims * 2;
    const int64_t chunk_rows = std::max<int64_t>(1, (int64_t(32) << 20) / row_bytes);
    std::vector<uint16_t> buffer(
        static_cast<size_t>(std::min(chunk_rows, std::max<int64_t>(slab.count, 1)) * model.dims));
    for (int64_t done = 0; done < slab.count; done += chunk_rows) {
      const int64_t n = std::min(chunk_rows, slab.count - done);
      for (int64_t i = 0; i < n; ++i) demo_row(model, planted, slab.begin + done + i, &buffer[i * model.dims]);
      file.write_at(static_cast<uint64_t>(data_start + (slab.begin + done) * row_bytes), buffer.data(),
                    static_cast<uint64_t>(n * row_bytes));
    }
  });
}

}  // namespace

DemoMatrixModel demo_matrix_model(const GenerateConfig& options) {
  DemoMatrixModel model;
  model.seed = options.seed;
  model.tokens = options.tokens;
  model.dims = options.dims;
  model.groups = options.planted_groups;
  model.group_size = options.group_size;
  return model;
}

DemoMatrixHeader demo_matrix_header(const GenerateConfig& options, const DemoMatrixModel& model,
                                    const PlantedGroups& planted) {
  const std::map<std::string, std::string> metadata{{"generator", "latdisp generate --matrix"},
                                                    {"seed", std::to_string(options.seed)},
                                                    {"planted_group_sizes", group_sizes(planted)},
                                                    {"active_dims", comma_list(planted.active_dims)},
                                                    {"notebook_dim", std::to_string(planted.notebook_dim)}};
  std::vector<int64_t> offsets;
  DemoMatrixHeader header;
  header.text = build_safetensors_header({{options.dataset, "BF16", {model.tokens, model.dims}}}, metadata, &offsets);
  header.data_start = offsets[0];
  return header;
}

void write_demo_matrix(const DemoMatrixModel& model, const PlantedGroups& planted, const DemoMatrixHeader& header,
                       const std::string& path, MPI_Comm comm) {
  MpiOutputFile file(comm, path);
  reserve_output_space(comm, path, static_cast<uint64_t>(header.data_start + model.tokens * model.dims * 2));
  write_matrix_rows(file, model, planted, header.text, header.data_start, comm);
  file.close();
}

void print_matrix_summary(const GenerateConfig& options, const DemoMatrixModel& model, const PlantedGroups& planted) {
  std::printf("latdisp generate --matrix: wrote %s: %s [%lld, %lld] BF16, seed %llu\n", options.output.c_str(),
              options.dataset.c_str(), static_cast<long long>(model.tokens), static_cast<long long>(model.dims),
              static_cast<unsigned long long>(options.seed));
  std::printf(
      "  planted %lld groups of bit-identical tokens, sizes %s; groups 128 ULP apart in dims %s;\n"
      "  the last two groups differ only in dim %lld by 1 ULP (-1.708984e-03 vs -1.701355e-03)\n",
      static_cast<long long>(model.groups), group_sizes(planted).c_str(), comma_list(planted.active_dims).c_str(),
      static_cast<long long>(planted.notebook_dim));
}

}  // namespace latdisp
