// Streams a rank's token slab through buffers of step blocks: consecutive
// blocks share one step, copied to the next block's start, so W is read once.
// With two buffers and `background`, the next block is read while the caller
// computes on the current one (docs/operations.md, "Reads behind compute").
#pragma once

#include <array>
#include <cstdint>
#include <future>
#include <memory>
#include <string>

#include "io/block_source.hpp"
#include "io/step_mapping.hpp"
#include "io/trajectory_reader.hpp"
#include "parallel/partition.hpp"

namespace latdisp {

struct StepBlock {
  int64_t first_step = 0;  // global index of the buffer's step 0
  int64_t steps = 0;       // steps in the buffer (transitions = steps - 1)
  bool final = false;      // holds the last step of W
  int buffer = 0;          // which of the stream's buffers holds it
  // Its values (the reader's element_bytes() each): step s's slab rows start
  // at value s * step_stride (the buffer itself, or the mapped file); null
  // for direct reads (StepStream::read_steps, step_stride that of the file).
  const void* values = nullptr;
  int64_t step_stride = 0;
};

class StepStream {
 public:
  // Each buffer holds block_steps x slab tokens x dims values of the
  // reader's element_bytes(). With
  // `second_buffer` and `background`, reads run on a thread of their own:
  // the reader must then have a communicator that no other thread uses
  // meanwhile (MPI_THREAD_MULTIPLE), and no other thread may call HDF5 while
  // a read is in flight. The first block starts at `first_step` (a resumed
  // run reads W only from there on). Mapped and direct blocks need no
  // buffers (null); direct blocks need no reading thread either.
  StepStream(const TrajectoryReader& reader, const TokenRange& slab, int64_t max_slab_tokens, int64_t block_steps,
             void* buffer, void* second_buffer = nullptr, bool background = false, int64_t first_step = 0,
             BlockSource source = BlockSource::read);
  // Waits for a read in flight (every rank started it: it completes).
  ~StepStream();
  StepStream(const StepStream&) = delete;
  StepStream& operator=(const StepStream&) = delete;

  // Collective: the next block, in buffer block.buffer; false when done. The
  // caller is done with the previous block. Seconds spent waiting for it
  // are the read time that compute did not hide.
  bool next(StepBlock& block);
  // Seconds spent reading (or mapping) blocks, on whichever thread did:
  // with a reading thread, work beside the caller's. Once next() returned
  // false (no read in flight).
  double busy_seconds() const { return m_busy_seconds; }

  // Direct blocks: steps [first, first + count) of `block` (indices within
  // it), this rank's slab rows of each, into `out` one after another. A read
  // that falls short (the input shrank) leaves zeros and is kept for
  // raise_read_failure, since it fails on this rank only.
  void read_steps(const StepBlock& block, int64_t first, int64_t count, void* out) const;
  // Fails (kExitInput) if a read_steps fell short; call it where every rank
  // agrees on errors (collectively).
  void raise_read_failure() const;

 private:
  // Reads block `index` (its shared first step copied from the previous
  // one), timed into m_busy_seconds.
  StepBlock fill(int64_t index, int64_t first_step, StepBlock previous);
  StepBlock fill_block(int64_t index, int64_t first_step, StepBlock previous);
  // Maps block `index`'s steps in place of the block two before it.
  void map(StepBlock& block);
  // Fails (kExitInput, on this rank) if a one-file input has shrunk since
  // the stream began; a read past its end would give zeros, not an error.
  void require_whole_input(const StepBlock& block) const;
  void start(int64_t first_step, const StepBlock& previous);
  char* buffer(int index) const { return index == 0 ? m_buffers[0] : m_buffers[1]; }

  const TrajectoryReader& m_reader;
  TokenRange m_slab;
  int64_t m_max_slab_tokens;
  int64_t m_block_steps;
  char* m_buffers[2];
  bool m_background;
  std::string m_input_path;                              // a one-file input (else empty),
  int64_t m_input_bytes = -1;                            // and its size at the start
  std::unique_ptr<ReadOnlyFile> m_file;                  // mapped and direct blocks: the input
  uint64_t m_w_offset = 0;                               // of W[0, 0, 0] in it
  std::array<std::unique_ptr<StepMapping>, 2> m_mapped;  // by buffer index
  int64_t m_step_values;
  int64_t m_step_bytes;
  int64_t m_first_step;    // of the first block
  int64_t m_blocks = 0;    // started so far
  bool m_started = false;  // a block is being (or has been) filled
  bool m_done = false;     // no block left to start
  StepBlock m_last;        // the last block started
  double m_busy_seconds = 0;  // in fill(): one block at a time, handed over with m_pending
  bool m_direct = false;
  mutable std::string m_read_failure;  // of read_steps
  std::future<StepBlock> m_pending;
};

}  // namespace latdisp
