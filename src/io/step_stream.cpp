#include "io/step_stream.hpp"

#include <algorithm>
#include <cstring>

namespace latdisp {

StepStream::StepStream(const TrajectoryReader& reader, const TokenRange& slab, int64_t max_slab_tokens,
                       int64_t block_steps, uint16_t* buffer, int64_t first_step)
    : m_reader(reader),
      m_slab(slab),
      m_max_slab_tokens(max_slab_tokens),
      m_block_steps(block_steps),
      m_buffer(buffer),
      m_step_values(slab.count * reader.shape().dims),
      m_first_step(first_step) {}

bool StepStream::next(StepBlock& block) {
  const int64_t steps = m_reader.shape().steps;
  if (m_held > 0) {
    // The previous block's last step becomes this block's first.
    const int64_t last = m_steps_in_buffer - 1;
    std::memmove(m_buffer, m_buffer + last * m_step_values, static_cast<size_t>(m_step_values) * sizeof(uint16_t));
    m_first_step += last;
  }
  if (m_first_step + 1 >= steps) return false;
  const int64_t count = std::min(m_block_steps, steps - m_first_step);
  m_reader.read_steps(m_slab, m_first_step + m_held, count - m_held, m_max_slab_tokens,
                      m_buffer + m_held * m_step_values);
  m_held = 1;
  m_steps_in_buffer = count;
  block.first_step = m_first_step;
  block.steps = count;
  block.final = m_first_step + count == steps;
  return true;
}

}  // namespace latdisp
