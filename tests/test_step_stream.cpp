// StepStream (io/step_stream.hpp) over a trajectory held in memory: blocks of
// steps of a rank's slab, consecutive blocks sharing one step, so W is read
// exactly once; the stream's own buffer, or two of them with reads behind
// compute, a resumed start; direct blocks handed out part by part. Each value is a function of (step, token, dim)
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
  bool background;  // two buffers, the next block read while this one is checked
};

// A block as the stream handed it out: where its values were.
struct SeenBlock {
  int64_t first_step, steps;
  bool final;
  const void* values;
};

// Streams W as `c` says on this rank's slab; checks every block (one part
// each, in one of the stream's buffers) and returns them in order.
std::vector<SeenBlock> stream_and_check(const StreamCase& c, MPI_Comm comm) {
  const int64_t tokens = 11, dims = 3;
  MemoryTrajectory reader(comm, c.steps, tokens, dims);
  const TokenRange slab = token_range(tokens, world_rank(), world_size());
  const int64_t max_slab = token_range(tokens, 0, world_size()).count;
  StepStreamLayout layout;
  layout.block_steps = c.block_steps;
  layout.background = c.background;
  layout.first_step = c.first_step;
  std::vector<SeenBlock> blocks;
  {
    StepStream stream(reader, slab, max_slab, layout);
    StepBlock block;
    while (stream.next(block)) {
      StepPart part;
      if (!stream.next_part(part)) {
        ADD_FAILURE() << "a held block is one part";
        continue;
      }
      blocks.push_back({block.first_step, block.steps, block.final, part.values});
      const uint16_t* values = static_cast<const uint16_t*>(part.values);
      EXPECT_EQ(part.first, 0);
      EXPECT_EQ(part.steps, block.steps);
      EXPECT_EQ(part.step_stride, slab.count * dims);
      for (int64_t s = 0; s < block.steps; ++s)
        for (int64_t n = 0; n < slab.count; ++n)
          for (int64_t d = 0; d < dims; ++d)
            EXPECT_EQ(values[(s * slab.count + n) * dims + d], value_at(block.first_step + s, slab.begin + n, d))
                << "block at step " << block.first_step << ", step " << s << ", token " << n << ", dim " << d;
      EXPECT_FALSE(stream.next_part(part));
    }
  }
  // W is read once: every step from the first on (if a transition is left),
  // shared steps not again.
  const bool any = c.first_step + 1 < c.steps;
  for (int64_t s = 0; s < c.steps; ++s)
    EXPECT_EQ(reader.reads[static_cast<size_t>(s)], any && s >= c.first_step ? 1 : 0) << s;
  return blocks;
}

void expect_blocks(const std::vector<SeenBlock>& blocks, const std::vector<std::pair<int64_t, int64_t>>& expected) {
  ASSERT_EQ(blocks.size(), expected.size());
  for (size_t i = 0; i < blocks.size(); ++i) {
    EXPECT_EQ(blocks[i].first_step, expected[i].first) << i;
    EXPECT_EQ(blocks[i].steps, expected[i].second) << i;
    EXPECT_EQ(blocks[i].final, i + 1 == blocks.size()) << i;
  }
}

// With two buffers, block i is in the buffer of block i - 2 and not in that
// of block i - 1.
void expect_two_buffers_alternate(const std::vector<SeenBlock>& blocks) {
  for (size_t i = 1; i < blocks.size(); ++i) {
    EXPECT_NE(blocks[i].values, blocks[i - 1].values) << i;
    if (i >= 2) {
      EXPECT_EQ(blocks[i].values, blocks[i - 2].values) << i;
    }
  }
}

// Reads behind compute run on a thread of their own, on a communicator of
// their own.
std::vector<SeenBlock> stream_behind_compute(const StreamCase& c) {
  MPI_Comm reads;
  MPI_Comm_dup(MPI_COMM_WORLD, &reads);
  std::vector<SeenBlock> blocks = stream_and_check(c, reads);
  MPI_Comm_free(&reads);
  return blocks;
}

}  // namespace

TEST(StepStream, ConsecutiveBlocksShareOneStep) {
  // 8 steps in blocks of 3: 0-2, 2-4, 4-6, 6-7.
  const std::vector<SeenBlock> blocks = stream_and_check({8, 3, 0, false}, MPI_COMM_WORLD);
  expect_blocks(blocks, {{0, 3}, {2, 3}, {4, 3}, {6, 2}});
  for (const SeenBlock& b : blocks) EXPECT_EQ(b.values, blocks[0].values);  // one buffer
}

TEST(StepStream, BlocksThatEndOnTheLastStep) {
  expect_blocks(stream_and_check({7, 3, 0, false}, MPI_COMM_WORLD), {{0, 3}, {2, 3}, {4, 3}});
  expect_blocks(stream_and_check({5, 2, 0, false}, MPI_COMM_WORLD), {{0, 2}, {1, 2}, {2, 2}, {3, 2}});
  expect_blocks(stream_and_check({4, 9, 0, false}, MPI_COMM_WORLD), {{0, 4}});
}

TEST(StepStream, TwoBuffersAlternate) {
  const std::vector<SeenBlock> blocks = stream_behind_compute({9, 3, 0, true});
  expect_blocks(blocks, {{0, 3}, {2, 3}, {4, 3}, {6, 3}});
  expect_two_buffers_alternate(blocks);
}

TEST(StepStream, ReadsBehindComputeGiveTheSameBlocks) {
  const std::vector<SeenBlock> blocks = stream_behind_compute({10, 4, 0, true});
  expect_blocks(blocks, {{0, 4}, {3, 4}, {6, 4}});
  expect_two_buffers_alternate(blocks);
}

TEST(StepStream, AResumedRunReadsFromItsFirstStep) {
  expect_blocks(stream_and_check({8, 3, 3, false}, MPI_COMM_WORLD), {{3, 3}, {5, 3}});
  expect_blocks(stream_behind_compute({8, 3, 6, true}), {{6, 2}});
  EXPECT_TRUE(stream_and_check({8, 3, 7, false}, MPI_COMM_WORLD).empty());  // no transition left
}

// Direct blocks: no block buffers and no reads through the reader; each
// block is handed out in parts (here of one transition: the smallest staging
// buffer), read from the file as the caller takes them, this rank's slab of
// each step, each part starting at the last step of the part before. A read
// that falls short (the file cut after the block's size check) is kept,
// then raised where the caller agrees on errors.
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
  StepStreamLayout layout;
  layout.block_steps = 3;
  layout.source = BlockSource::direct;
  layout.staging_bytes = 1;  // two steps a part
  StepStream stream(reader, slab, token_range(tokens, 0, world_size()).count, layout);
  StepBlock block;
  int blocks = 0;
  while (stream.next(block)) {
    ++blocks;
    if (block.final) {
      // The file cut after the block's size check: the read falls short.
      MPI_Barrier(MPI_COMM_WORLD);
      if (world_rank() == 0) {
        EXPECT_EQ(::truncate(path.c_str(), header + 2), 0);
      }
      MPI_Barrier(MPI_COMM_WORLD);
      StepPart part;
      EXPECT_TRUE(stream.next_part(part));
      try {
        stream.raise_read_failure();
        ADD_FAILURE() << "a short read was not raised";
      } catch (const Error& e) {
        EXPECT_EQ(e.exit_code(), kExitInput);
        EXPECT_NE(std::string(e.what()).find("cannot read step"), std::string::npos) << e.what();
      }
      continue;
    }
    int64_t next_transition = 0;
    StepPart part;
    while (stream.next_part(part)) {
      EXPECT_EQ(part.first, next_transition);
      EXPECT_EQ(part.steps, 2);
      EXPECT_EQ(part.step_stride, slab.count * dims);
      const uint16_t* values = static_cast<const uint16_t*>(part.values);
      for (int64_t s = 0; s < part.steps; ++s)
        for (int64_t n = 0; n < slab.count; ++n)
          for (int64_t d = 0; d < dims; ++d)
            EXPECT_EQ(values[(s * slab.count + n) * dims + d],
                      value_at(block.first_step + part.first + s, slab.begin + n, d));
      next_transition = part.first + part.steps - 1;
    }
    EXPECT_EQ(next_transition, block.steps - 1) << "the parts cover the block's transitions";
    EXPECT_NO_THROW(stream.raise_read_failure());
  }
  EXPECT_EQ(blocks, 4);  // 0-2, 2-4, 4-6, 6-7
  for (int count : reader.reads) EXPECT_EQ(count, 0);
}

}  // namespace latdisp
