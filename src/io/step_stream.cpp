#include "io/step_stream.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <cstring>

#include "parallel/clock.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

StepStream::StepStream(const TrajectoryReader& reader, const TokenRange& slab, int64_t max_slab_tokens,
                       int64_t block_steps, void* buffer, void* second_buffer, bool background,
                       int64_t first_step, BlockSource source)
    : m_reader(reader),
      m_slab(slab),
      m_max_slab_tokens(max_slab_tokens),
      m_block_steps(block_steps),
      m_buffers{static_cast<char*>(buffer), static_cast<char*>(second_buffer != nullptr ? second_buffer : buffer)},
      m_background(background && (second_buffer != nullptr || source == BlockSource::mapped)),
      m_step_values(slab.count * reader.shape().dims),
      m_step_bytes(m_step_values * reader.element_bytes()),
      m_first_step(first_step) {
  const std::vector<std::string> files = reader.source_files();
  struct stat status {};
  if (files.size() == 1 && ::stat(files[0].c_str(), &status) == 0) {
    m_input_path = files[0];
    m_input_bytes = status.st_size;
  }
  m_direct = source == BlockSource::direct;
  if (source == BlockSource::read) return;
  collectively(reader.comm(), [&] {
    const std::optional<uint64_t> offset = reader.contiguous_offset();
    if (!offset) fail(kExitUsage, "'" + reader.path() + "' cannot be read in place: W is not contiguous");
    m_w_offset = *offset;
    m_file = std::make_unique<ReadOnlyFile>(reader.path());
  });
}

StepStream::~StepStream() {
  if (m_pending.valid()) m_pending.wait();
}

StepBlock StepStream::fill(int64_t index, int64_t first_step, StepBlock previous) {
  const Clock::time_point start = Clock::now();
  StepBlock block = fill_block(index, first_step, previous);
  m_busy_seconds += seconds_since(start);
  return block;
}

StepBlock StepStream::fill_block(int64_t index, int64_t first_step, StepBlock previous) {
  StepBlock block;
  block.first_step = first_step;
  block.steps = std::min(m_block_steps, m_reader.shape().steps - first_step);
  block.final = first_step + block.steps == m_reader.shape().steps;
  if (m_direct) {
    block.step_stride = m_reader.shape().tokens * m_reader.shape().dims;
    collectively(m_reader.comm(), [&] { require_whole_input(block); });
    return block;
  }
  if (m_file) {
    block.buffer = m_background ? static_cast<int>(index % 2) : 0;
    map(block);
    return block;
  }
  block.buffer = m_buffers[1] == m_buffers[0] ? 0 : static_cast<int>(index % 2);
  char* out = buffer(block.buffer);
  block.values = out;
  block.step_stride = m_step_values;
  int64_t held = 0;
  if (index > 0) {
    // The previous block's last step becomes this block's first (the same
    // buffer with one buffer: memmove).
    const char* last = buffer(previous.buffer) + (previous.steps - 1) * m_step_bytes;
    std::memmove(out, last, static_cast<size_t>(m_step_bytes));
    held = 1;
  }
  m_reader.read_steps(m_slab, first_step + held, block.steps - held, m_max_slab_tokens, out + held * m_step_bytes);
  // The read itself may have run past a new end.
  collectively(m_reader.comm(), [&] { require_whole_input(block); });
  return block;
}

void StepStream::require_whole_input(const StepBlock& block) const {
  if (m_input_bytes < 0) return;
  struct stat status {};
  if (::stat(m_input_path.c_str(), &status) != 0 || status.st_size < m_input_bytes)
    fail(kExitInput, "'" + m_input_path + "' shrank from " + std::to_string(m_input_bytes) + " bytes while steps " +
                         std::to_string(block.first_step) + ".." + std::to_string(block.first_step + block.steps - 1) +
                         " were being read (truncated or rewritten?); rerun once the file is complete");
}

void StepStream::read_steps(const StepBlock& block, int64_t first, int64_t count, void* out) const {
  const TrajectoryShape& shape = m_reader.shape();
  const int64_t value_bytes = m_reader.element_bytes();
  char* target = static_cast<char*>(out);
  for (int64_t s = first; s < first + count; ++s, target += m_step_bytes) {
    const uint64_t offset = m_w_offset + static_cast<uint64_t>(((block.first_step + s) * shape.tokens + m_slab.begin) *
                                                               shape.dims * value_bytes);
    size_t done = 0;
    while (done < static_cast<size_t>(m_step_bytes)) {
      const ssize_t got = ::pread(m_file->descriptor(), target + done, static_cast<size_t>(m_step_bytes) - done,
                                  static_cast<off_t>(offset + done));
      if (got > 0) {
        done += static_cast<size_t>(got);
      } else if (got < 0 && errno == EINTR) {
        continue;
      } else {
        std::memset(target + done, 0, static_cast<size_t>(m_step_bytes) - done);
        if (m_read_failure.empty())
          m_read_failure = "cannot read step " + std::to_string(block.first_step + s) + " of '" + m_file->path() +
                           "': " + (got < 0 ? std::strerror(errno) : "the file ended (truncated while being read?)");
        break;
      }
    }
  }
}

void StepStream::raise_read_failure() const {
  if (!m_read_failure.empty()) fail(kExitInput, m_read_failure);
}

void StepStream::map(StepBlock& block) {
  std::unique_ptr<StepMapping>& mapped = m_mapped[static_cast<size_t>(block.buffer)];
  mapped.reset();                      // the caller is done with the block two before
  collectively(m_reader.comm(), [&] {  // one agreement per block: the size check and the mapping
    require_whole_input(block);
    mapped =
        std::make_unique<StepMapping>(*m_file, m_w_offset, m_reader.shape(), m_slab, block.first_step, block.steps,
                                      m_reader.element_bytes());
  });
  block.values = mapped->values();
  block.step_stride = mapped->step_stride();
}

void StepStream::start(int64_t first_step, const StepBlock& previous) {
  const int64_t index = m_blocks++;
  if (m_background) {
    m_pending = std::async(std::launch::async,
                           [this, index, first_step, previous] { return fill(index, first_step, previous); });
  } else {
    std::promise<StepBlock> now;
    try {
      now.set_value(fill(index, first_step, previous));
    } catch (...) {
      now.set_exception(std::current_exception());
    }
    m_pending = now.get_future();
  }
  m_started = true;
}

bool StepStream::next(StepBlock& block) {
  const int64_t steps = m_reader.shape().steps;
  if (!m_started) {
    // The first block, or (reading in the foreground) the one after m_last.
    const int64_t first_step = m_blocks == 0 ? m_first_step : m_last.first_step + m_last.steps - 1;
    if (m_done || first_step + 1 >= steps) {
      m_done = true;
      return false;
    }
    start(first_step, m_last);
  }
  block = m_pending.get();
  m_started = false;
  m_last = block;
  const int64_t following = block.first_step + block.steps - 1;
  if (following + 1 >= steps) {
    m_done = true;
  } else if (m_background) {
    start(following, block);  // into the other buffer, while the caller computes on this one
  }
  return true;
}

}  // namespace latdisp
