// StepStream (io/step_stream.hpp) over a trajectory held in memory: blocks of
// steps of a rank's slab, consecutive blocks sharing one step, so W is read
// exactly once; one or two buffers, reads in the foreground or behind
// compute, a resumed start. Each value is a function of (step, token, dim)
// written here, so every byte of every block is checked.
#include <gtest/gtest.h>
#include <mpi.h>

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "io/step_stream.hpp"
#include "io/trajectory_reader.hpp"
#include "parallel/errors.hpp"
#include "parallel/partition.hpp"
#include "test_support.hpp"

namespace latdisp {

namespace {

using testing::world_rank;
using testing::world_size;

uint16_t value_at(int64_t step, int64_t token, int64_t dim) {
  return static_cast<uint16_t>(step * 1000 + token * 8 + dim);
}

// W[steps, tokens, dims] of bf16 bits computed by value_at; counts how often
// each step was read.
// With a `path` and `offset`, it also says that W lies in that file from
// that byte on (contiguous_offset), for direct blocks.
class MemoryTrajectory final : public TrajectoryReader {
 public:
  MemoryTrajectory(MPI_Comm comm, int64_t steps, int64_t tokens, int64_t dims, const std::string& path = "in memory",
                   std::optional<uint64_t> offset = std::nullopt)
      : TrajectoryReader(comm, path, "W", InputFormat::hdf5), reads(static_cast<size_t>(steps), 0), m_offset(offset) {
    adopt_shape({steps, tokens, dims}, false, "W", path);
    m_type_description = "uint16";
  }
  std::optional<uint64_t> contiguous_offset() const override { return m_offset; }
  void read_rows(int64_t step, int64_t first_row, int64_t count, void* out) const override {
    read_block(step, 1, first_row, count, out);
  }
  std::vector<uint8_t> read_dead_mask(const std::string&) const override { return {}; }
  mutable std::vector<int> reads;  // per step, by this rank

 private:
  std::optional<uint64_t> m_offset;

 protected:
  void read_block(int64_t first_step, int64_t steps, int64_t first_token, int64_t tokens, void* out) const override {
    uint16_t* values = static_cast<uint16_t*>(out);
    for (int64_t s = first_step; s < first_step + steps; ++s) {
      reads[static_cast<size_t>(s)] += 1;
      for (int64_t t = first_token; t < first_token + tokens; ++t)
        for (int64_t d = 0; d < m_shape.dims; ++d) *values++ = value_at(s, t, d);
    }
  }
};

struct StreamCase {
  int64_t steps, block_steps, first_step;
  bool two_buffers, background;
};

// Streams W as `c` says on this rank's slab; checks every block and returns
// the blocks' (first step, steps, buffer).
std::vector<StepBlock> stream_and_check(const StreamCase& c, MPI_Comm comm) {
  const int64_t tokens = 11, dims = 3;
  MemoryTrajectory reader(comm, c.steps, tokens, dims);
  const TokenRange slab = token_range(tokens, world_rank(), world_size());
  const int64_t max_slab = token_range(tokens, 0, world_size()).count;
  std::vector<uint16_t> first(static_cast<size_t>(c.block_steps * slab.count * dims));
  std::vector<uint16_t> second(c.two_buffers ? first.size() : 0);
  std::vector<StepBlock> blocks;
  {
    StepStream stream(reader, slab, max_slab, c.block_steps, first.data(), c.two_buffers ? second.data() : nullptr,
                      c.background, c.first_step);
    StepBlock block;
    while (stream.next(block)) {
      blocks.push_back(block);
      const uint16_t* values = static_cast<const uint16_t*>(block.values);
      EXPECT_EQ(values, block.buffer == 0 ? first.data() : second.data());
      EXPECT_EQ(block.step_stride, slab.count * dims);
      for (int64_t s = 0; s < block.steps; ++s)
        for (int64_t n = 0; n < slab.count; ++n)
          for (int64_t d = 0; d < dims; ++d)
            EXPECT_EQ(values[(s * slab.count + n) * dims + d], value_at(block.first_step + s, slab.begin + n, d))
                << "block at step " << block.first_step << ", step " << s << ", token " << n << ", dim " << d;
    }
  }
  // W is read once: every step from the first on (if a transition is left),
  // shared steps not again.
  const bool any = c.first_step + 1 < c.steps;
  for (int64_t s = 0; s < c.steps; ++s)
    EXPECT_EQ(reader.reads[static_cast<size_t>(s)], any && s >= c.first_step ? 1 : 0) << s;
  return blocks;
}

void expect_blocks(const std::vector<StepBlock>& blocks, const std::vector<std::pair<int64_t, int64_t>>& expected) {
  ASSERT_EQ(blocks.size(), expected.size());
  for (size_t i = 0; i < blocks.size(); ++i) {
    EXPECT_EQ(blocks[i].first_step, expected[i].first) << i;
    EXPECT_EQ(blocks[i].steps, expected[i].second) << i;
    EXPECT_EQ(blocks[i].final, i + 1 == blocks.size()) << i;
  }
}

}  // namespace

TEST(StepStream, ConsecutiveBlocksShareOneStep) {
  // 8 steps in blocks of 3: 0-2, 2-4, 4-6, 6-7.
  const std::vector<StepBlock> blocks = stream_and_check({8, 3, 0, false, false}, MPI_COMM_WORLD);
  expect_blocks(blocks, {{0, 3}, {2, 3}, {4, 3}, {6, 2}});
  for (const StepBlock& b : blocks) EXPECT_EQ(b.buffer, 0);
}

TEST(StepStream, BlocksThatEndOnTheLastStep) {
  expect_blocks(stream_and_check({7, 3, 0, false, false}, MPI_COMM_WORLD), {{0, 3}, {2, 3}, {4, 3}});
  expect_blocks(stream_and_check({5, 2, 0, false, false}, MPI_COMM_WORLD), {{0, 2}, {1, 2}, {2, 2}, {3, 2}});
  expect_blocks(stream_and_check({4, 9, 0, false, false}, MPI_COMM_WORLD), {{0, 4}});
}

TEST(StepStream, TwoBuffersAlternate) {
  const std::vector<StepBlock> blocks = stream_and_check({9, 3, 0, true, false}, MPI_COMM_WORLD);
  expect_blocks(blocks, {{0, 3}, {2, 3}, {4, 3}, {6, 3}});
  for (size_t i = 0; i < blocks.size(); ++i) EXPECT_EQ(blocks[i].buffer, static_cast<int>(i % 2)) << i;
}

TEST(StepStream, ReadsBehindComputeGiveTheSameBlocks) {
  // The reads run on a thread of their own, on a communicator of their own.
  MPI_Comm reads;
  MPI_Comm_dup(MPI_COMM_WORLD, &reads);
  const std::vector<StepBlock> blocks = stream_and_check({10, 4, 0, true, true}, reads);
  MPI_Comm_free(&reads);
  expect_blocks(blocks, {{0, 4}, {3, 4}, {6, 4}});
  for (size_t i = 0; i < blocks.size(); ++i) EXPECT_EQ(blocks[i].buffer, static_cast<int>(i % 2)) << i;
}

TEST(StepStream, AResumedRunReadsFromItsFirstStep) {
  expect_blocks(stream_and_check({8, 3, 3, false, false}, MPI_COMM_WORLD), {{3, 3}, {5, 3}});
  expect_blocks(stream_and_check({8, 3, 6, true, false}, MPI_COMM_WORLD), {{6, 2}});
  EXPECT_TRUE(stream_and_check({8, 3, 7, false, false}, MPI_COMM_WORLD).empty());  // no transition left
}

// Direct blocks: no buffers and no reads through the reader; read_steps
// reads a block's steps of this rank's slab from the file, and a read that
// falls short (the file cut after the block's size check) is kept, then
// raised where the caller agrees on errors.
TEST(StepStream, DirectBlocksReadTheFileInPlace) {
  const int64_t steps = 8, tokens = 11, dims = 3, header = 10;
  const std::string path = testing::test_file("direct_w.bin");
  if (world_rank() == 0) {
    std::vector<uint16_t> values;
    for (int64_t s = 0; s < steps; ++s)
      for (int64_t n = 0; n < tokens; ++n)
        for (int64_t d = 0; d < dims; ++d) values.push_back(value_at(s, n, d));
    std::FILE* file = std::fopen(path.c_str(), "wb");
    ASSERT_NE(file, nullptr);
    const std::vector<char> zeros(header, 0);
    std::fwrite(zeros.data(), 1, zeros.size(), file);
    std::fwrite(values.data(), sizeof(uint16_t), values.size(), file);
    std::fclose(file);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  MemoryTrajectory reader(MPI_COMM_WORLD, steps, tokens, dims, path, header);
  const TokenRange slab = token_range(tokens, world_rank(), world_size());
  StepStream stream(reader, slab, token_range(tokens, 0, world_size()).count, 3, nullptr, nullptr, false, 0,
                    BlockSource::direct);
  std::vector<uint16_t> out(static_cast<size_t>(3 * slab.count * dims));
  StepBlock block;
  int blocks = 0;
  while (stream.next(block)) {
    ++blocks;
    EXPECT_EQ(block.values, nullptr);
    stream.read_steps(block, 1, block.steps - 1, out.data());  // all but the first step
    for (int64_t s = 1; s < block.steps; ++s)
      for (int64_t n = 0; n < slab.count; ++n)
        for (int64_t d = 0; d < dims; ++d)
          EXPECT_EQ(out[static_cast<size_t>(((s - 1) * slab.count + n) * dims + d)],
                    value_at(block.first_step + s, slab.begin + n, d));
    EXPECT_NO_THROW(stream.raise_read_failure());
    if (block.final) {
      // The file cut after the block's size check: the read falls short.
      MPI_Barrier(MPI_COMM_WORLD);
      if (world_rank() == 0) {
        EXPECT_EQ(::truncate(path.c_str(), header + 2), 0);
      }
      MPI_Barrier(MPI_COMM_WORLD);
      stream.read_steps(block, 0, block.steps, out.data());
      try {
        stream.raise_read_failure();
        ADD_FAILURE() << "a short read was not raised";
      } catch (const Error& e) {
        EXPECT_EQ(e.exit_code(), kExitInput);
        EXPECT_NE(std::string(e.what()).find("cannot read step"), std::string::npos) << e.what();
      }
    }
  }
  EXPECT_EQ(blocks, 4);  // 0-2, 2-4, 4-6, 6-7
  for (int count : reader.reads) EXPECT_EQ(count, 0);
}

}  // namespace latdisp
