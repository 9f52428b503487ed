// The trajectory writer and the trajectory input, round trip: W (FP8 bits,
// so its dtype attribute matters), the dead mask and the step numbers
// written by every rank's slab in blocks of two steps, read back whole by
// the HDF5 C API on rank 0 and through open_trajectory_input (W, and W again
// as a tensor beside it), against values computed from the coordinates. A
// missing tensor names who needs it, its option and what the input holds.
#include <gtest/gtest.h>

#include <hdf5.h>
#include <mpi.h>

#include <algorithm>
#include <string>
#include <vector>

#include "io/trajectory_input.hpp"
#include "io/trajectory_writer.hpp"
#include "parallel/errors.hpp"
#include "parallel/partition.hpp"
#include "test_support.hpp"

namespace latdisp {

namespace {

using testing::world_rank;
using testing::world_size;

const TrajectoryShape kShape{5, 7, 3};

uint8_t value_at(int64_t step, int64_t token, int64_t dim) {
  return static_cast<uint8_t>(step * 37 + token * 11 + dim * 3 + 1);
}
uint8_t dead_at(int64_t token) { return token % 3 == 1 ? 1 : 0; }
int64_t step_number_at(int64_t step) { return 100 + 10 * step; }

// Collective: the file, written through TrajectoryWriter.
std::string write_file() {
  const std::string path = testing::test_file("trajectory_io_np" + std::to_string(world_size()) + ".h5");
  const TokenRange slab = token_range(kShape.tokens, world_rank(), world_size());
  TrajectoryFileLayout layout;
  layout.type = formats::ElementType::f8e4m3;
  layout.shape = kShape;
  layout.dead_mask = "dead_mask";
  layout.step_numbers = true;
  TrajectoryWriter writer(MPI_COMM_WORLD, path, layout);
  std::vector<uint8_t> dead(static_cast<size_t>(slab.count));
  for (int64_t n = 0; n < slab.count; ++n) dead[n] = dead_at(slab.begin + n);
  writer.write_dead_mask(slab, dead.data());
  std::vector<int64_t> numbers;
  for (int64_t s = 0; s < kShape.steps; ++s) numbers.push_back(step_number_at(s));
  writer.write_step_numbers(numbers);
  for (int64_t first = 0; first < kShape.steps; first += 2) {
    const int64_t count = std::min<int64_t>(2, kShape.steps - first);
    std::vector<uint8_t> block;
    for (int64_t s = first; s < first + count; ++s)
      for (int64_t n = 0; n < slab.count; ++n)
        for (int64_t d = 0; d < kShape.dims; ++d) block.push_back(value_at(s, slab.begin + n, d));
    writer.write_steps(slab, first, count, block.data());
  }
  writer.close();
  return path;
}

TEST(TrajectoryIo, WrittenFileHoldsTheValuesReadByHdf5) {
  const std::string path = write_file();
  if (world_rank() != 0) return;
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  std::vector<uint8_t> w(static_cast<size_t>(kShape.steps * kShape.tokens * kShape.dims));
  const hid_t values = H5Dopen2(file, "W", H5P_DEFAULT);
  ASSERT_GE(H5Dread(values, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, w.data()), 0);
  size_t i = 0;
  for (int64_t s = 0; s < kShape.steps; ++s)
    for (int64_t t = 0; t < kShape.tokens; ++t)
      for (int64_t d = 0; d < kShape.dims; ++d) EXPECT_EQ(w[i++], value_at(s, t, d)) << s << " " << t << " " << d;
  EXPECT_GT(H5Aexists(values, "dtype"), 0);
  std::vector<int64_t> numbers(static_cast<size_t>(kShape.steps));
  const hid_t steps = H5Dopen2(file, "steps", H5P_DEFAULT);
  ASSERT_GE(H5Dread(steps, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, numbers.data()), 0);
  for (int64_t s = 0; s < kShape.steps; ++s) EXPECT_EQ(numbers[s], step_number_at(s));
  H5Dclose(steps);
  H5Dclose(values);
  H5Fclose(file);
}

TEST(TrajectoryIo, InputReadsBackAlignedTensorsAndTheDeadMask) {
  TrajectoryInputSpec spec;
  spec.path = write_file();
  spec.request.any_format = true;
  const TrajectoryInput input = open_trajectory_input(MPI_COMM_WORLD, spec, {{"W", "W", "--dataset"},
                                                                             {"W", "W again", "--again"}});
  ASSERT_EQ(input.readers.size(), 2u);
  ASSERT_TRUE(input.dead_mask_found);
  for (int64_t t = 0; t < kShape.tokens; ++t) EXPECT_EQ(input.dead_mask[t], dead_at(t)) << t;
  const TokenRange slab = token_range(kShape.tokens, world_rank(), world_size());
  const int64_t max_slab = token_range(kShape.tokens, 0, world_size()).count;
  for (const auto& reader : input.readers) {
    EXPECT_EQ(reader->element_type(), formats::ElementType::f8e4m3);
    EXPECT_EQ(reader->shape().steps, kShape.steps);
    EXPECT_EQ(reader->step_numbers(), std::vector<int64_t>({100, 110, 120, 130, 140}));
    std::vector<uint8_t> block(static_cast<size_t>(kShape.steps * slab.count * kShape.dims));
    reader->read_steps(slab, 0, kShape.steps, max_slab, block.data());
    size_t i = 0;
    for (int64_t s = 0; s < kShape.steps; ++s)
      for (int64_t n = 0; n < slab.count; ++n)
        for (int64_t d = 0; d < kShape.dims; ++d) EXPECT_EQ(block[i++], value_at(s, slab.begin + n, d));
  }
}

TEST(TrajectoryIo, MissingTensorNamesItsOptionAndWhatTheInputHolds) {
  TrajectoryInputSpec spec;
  spec.path = write_file();
  spec.request.any_format = true;
  spec.reader_name = "the check";
  try {
    open_trajectory_input(MPI_COMM_WORLD, spec, {{"W", "W", "--dataset"}, {"grad", "the gradient", "--grad"}});
    FAIL() << "a missing tensor was accepted";
  } catch (const Error& e) {
    const std::string text = e.what();
    EXPECT_EQ(e.exit_code(), kExitInput);
    EXPECT_NE(text.find("the check needs the gradient (--grad 'grad'): "), std::string::npos) << text;
    EXPECT_NE(text.find("W, dead_mask, steps"), std::string::npos) << text;
  }
}

}  // namespace

}  // namespace latdisp
