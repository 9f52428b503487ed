// Streams a rank's token slab through a buffer of step blocks: consecutive
// blocks share one step, which stays in the buffer, so W is read once.
#pragma once

#include <cstdint>

#include "parallel/partition.hpp"
#include "io/trajectory_reader.hpp"

namespace latdisp {

struct StepBlock {
  int64_t first_step = 0;  // global index of the buffer's step 0
  int64_t steps = 0;       // steps in the buffer (transitions = steps - 1)
  bool final = false;      // holds the last step of W
};

class StepStream {
 public:
  // `buffer` holds block_steps x slab tokens x dims values. The first block
  // starts at `first_step` (a resumed run reads W only from there on).
  StepStream(const TrajectoryReader& reader, const TokenRange& slab, int64_t max_slab_tokens, int64_t block_steps,
             uint16_t* buffer, int64_t first_step = 0);

  // Collective: reads the next block into the buffer; false when done.
  bool next(StepBlock& block);

 private:
  const TrajectoryReader& m_reader;
  TokenRange m_slab;
  int64_t m_max_slab_tokens;
  int64_t m_block_steps;
  uint16_t* m_buffer;
  int64_t m_step_values;
  int64_t m_first_step = 0;
  int64_t m_held = 0;             // steps already in the buffer (the shared one)
  int64_t m_steps_in_buffer = 0;  // of the current block
};

}  // namespace latdisp
