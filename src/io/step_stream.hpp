// Streams a rank's token slab in step blocks: consecutive blocks share one
// step, copied to the next block's start, so W is read once. The stream owns
// what holds its blocks (its buffers, its mappings, the staging buffer of
// direct reads) and hands each block out part by part, as the kernel reads
// it. With `background`, the next block is read while the caller computes on
// the current one (docs/operations.md, "Reads behind compute").
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

// Direct blocks reach the caller a few steps at a time through one small
// buffer, read into it just before the caller takes them: the kernel then
// finds W in its core's cache (docs/operations.md §2, "Direct reads").
constexpr int64_t kDirectStagingBytes = int64_t(2) << 20;

// How a stream reads: every rank the same.
struct StepStreamLayout {
  int64_t block_steps = 0;                      // steps per block (consecutive blocks share one)
  BlockSource source = BlockSource::read;       // buffers, mappings, or direct reads of the file
  bool background = false;                      // read (or map) the next block while the caller computes
  int64_t first_step = 0;                       // a resumed run reads W only from there on
  int64_t staging_bytes = kDirectStagingBytes;  // direct blocks: about this much per part
};

// What a stream of `layout` holds in memory, for the block planner: bytes
// per step of a block (its buffers, or its mapped pages, which count as
// resident) and bytes for the whole run (the staging buffer).
// `step_bytes`: one step of the slab's values.
struct StepStreamMemory {
  uint64_t bytes_per_step = 0;
  uint64_t fixed_bytes = 0;
};
StepStreamMemory step_stream_memory(const StepStreamLayout& layout, uint64_t step_bytes);

// The steps a direct block's part holds: at least two (one transition).
int64_t staging_steps(int64_t staging_bytes, int64_t step_bytes);

struct StepBlock {
  int64_t first_step = 0;  // global index of the block's step 0
  int64_t steps = 0;       // steps in the block (transitions = steps - 1)
  bool final = false;      // holds the last step of W
};

// Steps [first, first + steps) of a block, as the caller reads them now: the
// whole block when it is held (read or mapped), a few steps at a time for
// direct blocks. Step s's slab rows start at value s * step_stride of
// `values` (the reader's element_bytes() each); valid until the next part
// or block.
struct StepPart {
  int64_t first = 0;  // within the block: its transitions are first .. first + steps - 2
  int64_t steps = 0;
  const void* values = nullptr;
  int64_t step_stride = 0;  // in values
};

class StepStream {
 public:
  // Allocates the stream's buffers (an allocation failure is one agreed
  // error). With `background` (read or mapped blocks), reads run on a thread
  // of their own: the reader must then have a communicator that no other
  // thread uses meanwhile (MPI_THREAD_MULTIPLE), and no other thread may
  // call HDF5 while a read is in flight. Direct blocks need no reading thread.
  StepStream(const TrajectoryReader& reader, const TokenRange& slab, int64_t max_slab_tokens,
             const StepStreamLayout& layout);
  // Waits for a read in flight (every rank started it: it completes).
  ~StepStream();
  StepStream(const StepStream&) = delete;
  StepStream& operator=(const StepStream&) = delete;

  // Collective: the next block; false when done. The caller is done with the
  // previous block. Seconds spent waiting for it are the read time that
  // compute did not hide.
  bool next(StepBlock& block);
  // The next part of the block next() gave last; false when its last
  // transition has been handed out. A held block is one part; a direct
  // block's parts are read here, each keeping the last step of the part
  // before. A direct read that falls short (the input shrank) leaves zeros
  // and is kept for raise_read_failure, since it fails on this rank only.
  bool next_part(StepPart& part);
  // Fails (kExitInput) if a direct read fell short; call it where every rank
  // agrees on errors (collectively).
  void raise_read_failure() const;
  // Seconds spent reading (or mapping) blocks, on whichever thread did:
  // with a reading thread, work beside the caller's. Once next() returned
  // false (no read in flight).
  double busy_seconds() const { return m_busy_seconds; }

 private:
  // A block as filled: where its values are (none for direct blocks).
  struct Filled {
    StepBlock block;
    int buffer = 0;  // which buffer (or mapping) holds it
    const void* values = nullptr;
    int64_t step_stride = 0;
  };
  struct FreeAligned {
    void operator()(char* bytes) const;
  };
  using Buffer = std::unique_ptr<char[], FreeAligned>;

  void allocate(const StepStreamLayout& layout);
  // Reads block `index` (its shared first step copied from the previous
  // one), timed into m_busy_seconds.
  Filled fill(int64_t index, int64_t first_step, const Filled& previous);
  Filled fill_block(int64_t index, int64_t first_step, const Filled& previous);
  // Maps the block's steps in place of the block two before it.
  void map(Filled& filled);
  // Direct blocks: steps [first, first + count) of `block`, this rank's slab
  // rows of each, into `out` one after another.
  void read_direct_steps(const StepBlock& block, int64_t first, int64_t count, char* out);
  // Fails (kExitInput, on this rank) if a one-file input has shrunk since
  // the stream began; a read past its end would give zeros, not an error.
  void require_whole_input(const StepBlock& block) const;
  void start(int64_t first_step, const Filled& previous);

  const TrajectoryReader& m_reader;
  TokenRange m_slab;
  int64_t m_max_slab_tokens;
  int64_t m_block_steps;
  BlockSource m_source;
  bool m_background;
  std::array<Buffer, 2> m_buffers;  // read blocks: one, or two behind compute
  Buffer m_staging;                 // direct blocks' parts
  int64_t m_staging_steps = 0;
  std::string m_input_path;                              // a one-file input (else empty),
  int64_t m_input_bytes = -1;                            // and its size at the start
  std::unique_ptr<ReadOnlyFile> m_file;                  // mapped and direct blocks: the input
  uint64_t m_w_offset = 0;                               // of W[0, 0, 0] in it
  std::array<std::unique_ptr<StepMapping>, 2> m_mapped;  // by buffer index
  int64_t m_step_values;
  int64_t m_step_bytes;
  int64_t m_first_step;        // of the first block
  int64_t m_blocks = 0;        // started so far
  bool m_started = false;      // a block is being (or has been) filled
  bool m_done = false;         // no block left to start
  Filled m_last;               // the last block started
  int64_t m_next_part = 0;     // the current block's next transition to hand out
  double m_busy_seconds = 0;   // in fill(): one block at a time, handed over with m_pending
  std::string m_read_failure;  // of read_direct_steps
  std::future<Filled> m_pending;
};

}  // namespace latdisp
