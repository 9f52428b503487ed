// The result writers (io/result_writer.hpp, docs/formats.md §8), HDF5 and
// safetensors, fed from memory: every rank writes its token slab in two
// blocks of steps and its own exception rows; rank 0 reads the file back
// (the HDF5 C API, the safetensors container reader) and checks every value
// against the functions of (step, token, dim) written here.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <mpi.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "io/result_writer.hpp"
#include "io/safetensors.hpp"
#include "parallel/partition.hpp"
#include "test_support.hpp"

namespace latdisp {

namespace {

using testing::test_file;
using testing::world_rank;
using testing::world_size;

const TrajectoryShape kShape{5, 7, 3};  // 5 steps: 4 transitions

int32_t delta_at(int64_t t, int64_t n, int64_t d) { return static_cast<int32_t>(t * 100 + n * 10 + d) - 250; }
uint16_t ulp_at(int64_t s, int64_t n, int64_t d) { return static_cast<uint16_t>(0x3C00 + s * 64 + n * 4 + d); }
uint8_t crossing_at(int64_t t, int64_t n, int64_t d) { return static_cast<uint8_t>((t + n + d) % 3 == 0); }
bool dead_at(int64_t n) { return n % 3 == 1; }

constexpr hid_t kAsStored = -1;

// Values of `f` over steps [first, first + count) of the slab, C order.
template <typename T, typename F>
std::vector<T> slab_values(const TokenRange& slab, int64_t first, int64_t count, F f) {
  std::vector<T> values;
  for (int64_t s = first; s < first + count; ++s)
    for (int64_t n = slab.begin; n < slab.begin + slab.count; ++n)
      for (int64_t d = 0; d < kShape.dims; ++d) values.push_back(f(s, n, d));
  return values;
}

// Rank r has r + 1 exception rows: (r, token, r % dims), r + 0.5 + i, kind.
ExceptionColumns exceptions_of(int rank, const TokenRange& slab) {
  ExceptionColumns columns;
  for (int i = 0; i <= rank; ++i) {
    columns.index.insert(columns.index.end(), {rank % 4, slab.begin, rank % kShape.dims});
    columns.value.push_back(rank + 0.5 + i);
    columns.kind.push_back(static_cast<int8_t>(rank % 5 + 1));
  }
  return columns;
}

ResultLayout layout_of(const TokenRange& slab) {
  ResultLayout layout;
  layout.shape = kShape;
  layout.slab = slab;
  layout.integer_bytes = 4;
  for (int64_t n = 0; n < kShape.tokens; ++n) {
    layout.dead_mask.push_back(dead_at(n) ? 1 : 0);
    if (dead_at(n)) layout.dead_token_ids.push_back(n);
  }
  layout.provenance = {{"latdisp_test", "result writers"}};
  return layout;
}

// Collective: the whole result through the writer of `format`.
void write_result(OutputFormat format, const std::string& path) {
  const int rank = world_rank(), ranks = world_size();
  const TokenRange slab = token_range(kShape.tokens, rank, ranks);
  std::unique_ptr<ResultWriter> writer = create_result_writer(format, MPI_COMM_WORLD, path, layout_of(slab));
  for (const auto& [first, count] : {std::pair<int64_t, int64_t>{0, 3}, {3, 1}}) {  // transitions in two blocks
    writer->write_delta(first, count, slab_values<int32_t>(slab, first, count, delta_at).data());
    writer->write_crossings(first, count, slab_values<uint8_t>(slab, first, count, crossing_at).data());
  }
  for (const auto& [first, count] : {std::pair<int64_t, int64_t>{0, 2}, {2, 3}})  // U: every step
    writer->write_ulp(first, count, slab_values<uint16_t>(slab, first, count, ulp_at).data());
  writer->write_exceptions(exceptions_of(rank, slab), int64_t(rank) * (rank + 1) / 2, int64_t(ranks) * (ranks + 1) / 2);
  writer->close();
}

// What every rank wrote, as the whole file must hold it.
struct Expected {
  std::vector<int32_t> delta;
  std::vector<uint16_t> ulp;
  std::vector<uint8_t> crossings, dead_mask;
  std::vector<int64_t> dead_ids, index;
  std::vector<double> value;
  std::vector<int8_t> kind;
};

Expected expected_result() {
  Expected e;
  const TokenRange all{0, kShape.tokens};
  e.delta = slab_values<int32_t>(all, 0, kShape.steps - 1, delta_at);
  e.ulp = slab_values<uint16_t>(all, 0, kShape.steps, ulp_at);
  e.crossings = slab_values<uint8_t>(all, 0, kShape.steps - 1, crossing_at);
  const ResultLayout layout = layout_of(all);
  e.dead_mask = layout.dead_mask;
  e.dead_ids = layout.dead_token_ids;
  for (int r = 0; r < world_size(); ++r) {
    const ExceptionColumns c = exceptions_of(r, token_range(kShape.tokens, r, world_size()));
    e.index.insert(e.index.end(), c.index.begin(), c.index.end());
    e.value.insert(e.value.end(), c.value.begin(), c.value.end());
    e.kind.insert(e.kind.end(), c.kind.begin(), c.kind.end());
  }
  return e;
}

template <typename T>
std::vector<T> hdf5_dataset(hid_t file, const char* name, hid_t memory_type, size_t size) {
  std::vector<T> values(size);
  const hid_t dataset = H5Dopen2(file, name, H5P_DEFAULT);
  EXPECT_GE(dataset, 0) << name;
  if (dataset < 0) return {};
  // Booleans are h5py's enum over int8: read as stored (no enum-to-integer conversion).
  const hid_t stored = H5Dget_type(dataset);
  EXPECT_GE(H5Dread(dataset, memory_type < 0 ? stored : memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0)
      << name;
  H5Tclose(stored);
  H5Dclose(dataset);
  return values;
}

template <typename T>
std::vector<T> safetensors_tensor(const SafetensorsFile& file, int fd, const char* name, size_t size) {
  const SafetensorsTensor* tensor = file.find(name);
  EXPECT_NE(tensor, nullptr) << name;
  if (!tensor) return {};
  EXPECT_EQ(tensor->end - tensor->begin, static_cast<int64_t>(size * sizeof(T))) << name;
  std::vector<T> values(size);
  read_file_bytes(file.path, fd, tensor->begin, static_cast<int64_t>(size * sizeof(T)), values.data());
  return values;
}

}  // namespace

TEST(ResultWriters, Hdf5HoldsEveryRanksSlabAndExceptions) {
  const std::string path = test_file("result_writers_" + std::to_string(world_size()) + ".h5");
  write_result(OutputFormat::hdf5, path);
  if (world_rank() != 0) return;
  const Expected e = expected_result();
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  EXPECT_EQ(hdf5_dataset<int32_t>(file, "delta_W_prime", H5T_NATIVE_INT32, e.delta.size()), e.delta);
  EXPECT_EQ(hdf5_dataset<uint16_t>(file, "U", H5T_NATIVE_UINT16, e.ulp.size()), e.ulp);
  EXPECT_EQ(hdf5_dataset<uint8_t>(file, "exponent_crossings", kAsStored, e.crossings.size()), e.crossings);
  EXPECT_EQ(hdf5_dataset<uint8_t>(file, "dead_mask", kAsStored, e.dead_mask.size()), e.dead_mask);
  EXPECT_EQ(hdf5_dataset<int64_t>(file, "dead_token_ids", H5T_NATIVE_INT64, e.dead_ids.size()), e.dead_ids);
  EXPECT_EQ(hdf5_dataset<int64_t>(file, "exceptions/index", H5T_NATIVE_INT64, e.index.size()), e.index);
  EXPECT_EQ(hdf5_dataset<double>(file, "exceptions/value", H5T_NATIVE_DOUBLE, e.value.size()), e.value);
  EXPECT_EQ(hdf5_dataset<int8_t>(file, "exceptions/kind", H5T_NATIVE_INT8, e.kind.size()), e.kind);
  const std::vector<int64_t> scalars{kShape.steps - 1, kShape.tokens, kShape.dims,
                                     static_cast<int64_t>(e.dead_ids.size())};
  const char* names[] = {"n_steps", "n_tokens", "n_dims", "n_dead"};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(hdf5_dataset<int64_t>(file, names[i], H5T_NATIVE_INT64, 1)[0], scalars[i]);
  H5Fclose(file);
  std::remove(path.c_str());
}

TEST(ResultWriters, SafetensorsHoldsEveryRanksSlabAndExceptions) {
  const std::string path = test_file("result_writers_" + std::to_string(world_size()) + ".safetensors");
  write_result(OutputFormat::safetensors, path);
  if (world_rank() != 0) return;
  const Expected e = expected_result();
  const SafetensorsFile file = read_safetensors_header(path);
  EXPECT_EQ(file.metadata.at("latdisp_test"), "result writers");
  const int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(safetensors_tensor<int32_t>(file, fd, "delta_W_prime", e.delta.size()), e.delta);
  EXPECT_EQ(file.find("delta_W_prime")->dtype, "I32");
  EXPECT_EQ(safetensors_tensor<uint16_t>(file, fd, "U", e.ulp.size()), e.ulp);
  EXPECT_EQ(safetensors_tensor<uint8_t>(file, fd, "exponent_crossings", e.crossings.size()), e.crossings);
  EXPECT_EQ(safetensors_tensor<uint8_t>(file, fd, "dead_mask", e.dead_mask.size()), e.dead_mask);
  EXPECT_EQ(safetensors_tensor<int64_t>(file, fd, "dead_token_ids", e.dead_ids.size()), e.dead_ids);
  EXPECT_EQ(safetensors_tensor<int64_t>(file, fd, "exceptions.index", e.index.size()), e.index);
  EXPECT_EQ(safetensors_tensor<double>(file, fd, "exceptions.value", e.value.size()), e.value);
  EXPECT_EQ(safetensors_tensor<int8_t>(file, fd, "exceptions.kind", e.kind.size()), e.kind);
  EXPECT_EQ(safetensors_tensor<int64_t>(file, fd, "n_dead", 1)[0], static_cast<int64_t>(e.dead_ids.size()));
  ::close(fd);
  std::remove(path.c_str());
}

}  // namespace latdisp
