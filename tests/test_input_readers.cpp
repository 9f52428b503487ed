// The input readers against the bits they were given: one random W written
// as HDF5 (h5 C API), as a safetensors trajectory and as checkpoint series
// (this file's own safetensors writer, written from the format's definition),
// read back by every rank's slab in blocks of any size and row by row, at
// whatever rank count this runs. Series naming and ordering rules.
#include <gtest/gtest.h>

#include <hdf5.h>
#include <mpi.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "io/checkpoint_series.hpp"
#include "io/matrix_source.hpp"
#include "io/trajectory_reader.hpp"
#include "parallel/errors.hpp"
#include "parallel/partition.hpp"
#include "test_support.hpp"

namespace latdisp {

namespace {

using testing::world_rank;
using testing::world_size;

// Per rank count: the tests at 1, 2 and 3 ranks may run at the same time.
std::string work_dir() {
  const std::string dir = testing::test_file("input_readers_np" + std::to_string(world_size()));
  if (world_rank() == 0) mkdir(dir.c_str(), 0755);
  MPI_Barrier(MPI_COMM_WORLD);
  return dir;
}

struct RawTensor {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::string bytes;  // little-endian, C order
};

// safetensors: u64 LE header length, JSON {name: {dtype, shape, data_offsets
// relative to the data}}, data back to back. `pad` aligns the header to 8.
void write_safetensors(const std::string& path, const std::vector<RawTensor>& tensors, bool pad = true) {
  std::string json = "{";
  size_t offset = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const RawTensor& t = tensors[i];
    std::string shape;
    for (size_t k = 0; k < t.shape.size(); ++k) shape += (k ? "," : "") + std::to_string(t.shape[k]);
    json += (i ? ", \"" : "\"") + t.name + "\": {\"dtype\": \"" + t.dtype + "\", \"shape\": [" + shape +
            "], \"data_offsets\": [" + std::to_string(offset) + ", " + std::to_string(offset + t.bytes.size()) + "]}";
    offset += t.bytes.size();
  }
  json += "}";
  if (pad) json.append((8 - json.size() % 8) % 8, ' ');
  std::ofstream out(path, std::ios::binary);
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((json.size() >> (8 * i)) & 0xFF));
  out << json;
  for (const RawTensor& t : tensors) out << t.bytes;
}

std::string bytes_of(const uint16_t* values, size_t count) {
  std::string bytes(count * 2, '\0');
  for (size_t i = 0; i < count; ++i) {
    bytes[2 * i] = static_cast<char>(values[i] & 0xFF);
    bytes[2 * i + 1] = static_cast<char>(values[i] >> 8);
  }
  return bytes;
}

constexpr int64_t kSteps = 7, kTokens = 23, kDims = 5;
const std::vector<int64_t> kStepNumbers = {3, 20, 100, 150, 1000, 1200, 99999};
const char* const kName = "model.embed_tokens.weight";

std::vector<uint16_t> random_w() {
  std::mt19937 random(11);
  std::vector<uint16_t> w(static_cast<size_t>(kSteps * kTokens * kDims));
  for (uint16_t& v : w) v = static_cast<uint16_t>(random());
  return w;
}

const uint16_t* step_of(const std::vector<uint16_t>& w, int64_t step) {
  return &w[static_cast<size_t>(step * kTokens * kDims)];
}

void write_hdf5(const std::string& path, const std::vector<uint16_t>& w) {
  Hdf5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  const hsize_t shape[3] = {kSteps, kTokens, kDims}, chunk[3] = {1, 10, kDims};
  Hdf5Handle space(H5Screate_simple(3, shape, nullptr), H5Sclose);
  Hdf5Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_chunk(dcpl.get(), 3, chunk);
  Hdf5Handle values(H5Dcreate2(file.get(), "W", H5T_STD_U16LE, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                    H5Dclose);
  H5Dwrite(values.get(), H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, w.data());
  const hsize_t count[1] = {kSteps};
  Hdf5Handle steps_space(H5Screate_simple(1, count, nullptr), H5Sclose);
  Hdf5Handle steps(
      H5Dcreate2(file.get(), "steps", H5T_STD_I64LE, steps_space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
      H5Dclose);
  H5Dwrite(steps.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, kStepNumbers.data());
}

// Checkpoints of three kinds, step numbers out of lexical order, and entries
// that are not checkpoints.
void write_series(const std::string& dir, const std::vector<uint16_t>& w) {
  mkdir(dir.c_str(), 0755);
  const std::vector<uint16_t> other(static_cast<size_t>(kTokens * kDims), 0x1234);
  for (int64_t t = 0; t < kSteps; ++t) {
    const std::string step = std::to_string(kStepNumbers[static_cast<size_t>(t)]);
    const RawTensor matrix{kName, "BF16", {kTokens, kDims}, bytes_of(step_of(w, t), other.size())};
    const RawTensor head{"lm_head.weight", "BF16", {kTokens, kDims}, bytes_of(other.data(), other.size())};
    if (t % 3 == 0) {
      const std::string folder = dir + "/checkpoint-" + step;
      mkdir(folder.c_str(), 0755);
      write_safetensors(folder + "/model.safetensors", {head, matrix}, t % 2 == 0);
    } else if (t % 3 == 1) {
      const std::string folder = dir + "/checkpoint-" + step;
      mkdir(folder.c_str(), 0755);
      write_safetensors(folder + "/model-00001-of-00002.safetensors", {head});
      write_safetensors(folder + "/model-00002-of-00002.safetensors", {head, matrix}, false);
      std::ofstream(folder + "/model.safetensors.index.json")
          << "{\"metadata\": {}, \"weight_map\": {\"lm_head.weight\": \"model-00001-of-00002.safetensors\", \"" << kName
          << "\": \"model-00002-of-00002.safetensors\"}}";
    } else {
      write_safetensors(dir + "/step_" + step + ".safetensors", {matrix});
    }
  }
  write_safetensors(dir + "/model.safetensors",
                    {{kName, "BF16", {kTokens, kDims}, bytes_of(other.data(), other.size())}});
  std::ofstream(dir + "/config.json") << "{}";
}

class InputReaders : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir = work_dir();
    w = random_w();
    if (world_rank() == 0) {
      write_hdf5(dir + "/w.h5", w);
      std::vector<uint8_t> flag = {7};
      std::string steps;
      for (int64_t s : kStepNumbers)
        for (int b = 0; b < 8; ++b) steps.push_back(static_cast<char>((static_cast<uint64_t>(s) >> (8 * b)) & 0xFF));
      write_safetensors(dir + "/traj.safetensors",
                        {{"flag", "U8", {1}, std::string(1, '\x07')},
                         {"grad_W", "BF16", {kSteps, kTokens, kDims}, bytes_of(w.data(), w.size())},
                         {"steps", "I64", {kSteps}, steps},
                         {"W", "BF16", {kSteps, kTokens, kDims}, bytes_of(w.data(), w.size())}},
                        false);
      write_series(dir + "/series", w);
      std::ofstream manifest(dir + "/manifest.txt");
      manifest << "# checkpoints in order\n";
      for (int64_t t = 0; t < kSteps; ++t) {
        const std::string step = std::to_string(kStepNumbers[static_cast<size_t>(t)]);
        manifest << "series/" << (t % 3 == 2 ? "step_" + step + ".safetensors" : "checkpoint-" + step) << "\n\n";
      }
    }
    MPI_Barrier(MPI_COMM_WORLD);
  }
  static std::string dir;
  static std::vector<uint16_t> w;
};
std::string InputReaders::dir;
std::vector<uint16_t> InputReaders::w;

// Every rank reads its slab in blocks of `block` steps; all must match W.
void expect_slabs_match(const TrajectoryReader& reader, const std::vector<uint16_t>& w, int64_t block) {
  const TokenRange slab = token_range(kTokens, world_rank(), world_size());
  const int64_t max_slab = token_range(kTokens, 0, world_size()).count;
  std::vector<uint16_t> buffer(static_cast<size_t>(block * slab.count * kDims));
  for (int64_t first = 0; first < kSteps; first += block) {
    const int64_t count = std::min(block, kSteps - first);
    reader.read_steps(slab, first, count, max_slab, buffer.data());
    for (int64_t s = 0; s < count; ++s)
      for (int64_t n = 0; n < slab.count; ++n)
        for (int64_t d = 0; d < kDims; ++d)
          ASSERT_EQ(buffer[static_cast<size_t>((s * slab.count + n) * kDims + d)],
                    step_of(w, first + s)[(slab.begin + n) * kDims + d])
              << reader.path() << " step " << first + s << " token " << slab.begin + n << " dim " << d;
  }
}

TEST_F(InputReaders, EveryFormatReadsTheSameBits) {
  struct Case {
    std::string path, dataset;
    InputFormat format;
  };
  const std::vector<Case> cases = {{dir + "/w.h5", "W", InputFormat::hdf5},
                                   {dir + "/traj.safetensors", "W", InputFormat::safetensors},
                                   {dir + "/series", kName, InputFormat::series},
                                   {dir + "/manifest.txt", kName, InputFormat::series}};
  for (const Case& c : cases) {
    const std::unique_ptr<TrajectoryReader> reader =
        open_trajectory_source(MPI_COMM_WORLD, c.path, c.dataset, SourceUse::trajectory);
    EXPECT_EQ(reader->format(), c.format) << c.path;
    EXPECT_EQ(reader->shape().steps, kSteps) << c.path;
    EXPECT_EQ(reader->shape().tokens, kTokens) << c.path;
    EXPECT_EQ(reader->shape().dims, kDims) << c.path;
    EXPECT_EQ(reader->step_numbers(), kStepNumbers) << c.path;
    for (int64_t block : {int64_t(1), int64_t(2), int64_t(3), kSteps}) expect_slabs_match(*reader, w, block);
    std::vector<uint16_t> rows(3 * kDims);
    reader->read_rows(4, 19, 3, rows.data());  // independent: this rank alone
    for (int64_t i = 0; i < 3 * kDims; ++i) EXPECT_EQ(rows[i], step_of(w, 4)[19 * kDims + i]) << c.path;
  }
}

TEST_F(InputReaders, GlobOfPlainFilesOrdersByTheLastInteger) {
  // Only the plain files: steps 100 and 1200 (t = 2, 5).
  const std::unique_ptr<TrajectoryReader> reader =
      open_trajectory_source(MPI_COMM_WORLD, dir + "/series/step_*.safetensors", kName, SourceUse::trajectory);
  EXPECT_EQ(reader->step_numbers(), (std::vector<int64_t>{100, 1200}));
  std::vector<uint16_t> rows(kTokens * kDims);
  reader->read_rows(1, 0, kTokens, rows.data());
  EXPECT_TRUE(std::equal(rows.begin(), rows.end(), step_of(w, 5)));
}

TEST_F(InputReaders, MatrixSourceReadsOneStepOfAnyFormat) {
  for (const std::string& location :
       {dir + "/w.h5:W@4", dir + "/traj.safetensors:W@4", dir + "/series:" + std::string(kName) + "@4",
        dir + "/series/checkpoint-1000:" + std::string(kName)}) {
    const MatrixSource matrix(MPI_COMM_WORLD, location);
    ASSERT_EQ(matrix.rows(), kTokens) << location;
    ASSERT_EQ(matrix.cols(), kDims) << location;
    const TokenRange slab = token_range(kTokens, world_rank(), world_size());
    std::vector<uint16_t> rows(static_cast<size_t>(slab.count * kDims));
    matrix.read_slab(slab.begin, slab.count, rows.data());
    EXPECT_TRUE(std::equal(rows.begin(), rows.end(), step_of(w, 4) + slab.begin * kDims)) << location;
    std::vector<uint16_t> picked(2 * kDims);
    matrix.read_rows({22, 0}, picked.data());
    EXPECT_TRUE(std::equal(picked.begin(), picked.begin() + kDims, step_of(w, 4) + 22 * kDims)) << location;
    EXPECT_TRUE(std::equal(picked.begin() + kDims, picked.end(), step_of(w, 4))) << location;
  }
  EXPECT_THROW(MatrixSource(MPI_COMM_WORLD, dir + "/series:" + std::string(kName)), Error);  // no @STEP
  EXPECT_THROW(MatrixSource(MPI_COMM_WORLD, dir + "/series:" + std::string(kName) + "@7"), Error);
}

TEST(SeriesNames, LastIntegerIsTheStep) {
  int64_t value = -1;
  EXPECT_TRUE(last_integer("checkpoint-100", value));
  EXPECT_EQ(value, 100);
  EXPECT_TRUE(last_integer("run3_step_0020", value));
  EXPECT_EQ(value, 20);
  EXPECT_TRUE(last_integer("ckpt-7-final", value));
  EXPECT_EQ(value, 7);
  EXPECT_FALSE(last_integer("model", value));
  EXPECT_FALSE(last_integer("step_12345678901234567890", value));
}

TEST_F(InputReaders, DirectoryListingSkipsWhatIsNoCheckpoint) {
  if (world_rank() != 0) return;
  const std::vector<SeriesEntry> entries = list_series_directory(dir + "/series");
  ASSERT_EQ(entries.size(), kStepNumbers.size());
  for (size_t i = 0; i < entries.size(); ++i) EXPECT_EQ(entries[i].step, kStepNumbers[i]) << entries[i].path;
  EXPECT_EQ(base_name(entries[1].path), "checkpoint-20");
  EXPECT_EQ(base_name(entries[2].path), "step_100.safetensors");
  const CheckpointTensor located = locate_checkpoint_tensor(entries[1].path, kName, true);
  EXPECT_EQ(base_name(located.file), "model-00002-of-00002.safetensors");
  EXPECT_FALSE(locate_checkpoint_tensor(entries[1].path, "missing", false).found);
  EXPECT_THROW(locate_checkpoint_tensor(entries[1].path, "missing", true), Error);
}

}  // namespace

}  // namespace latdisp
