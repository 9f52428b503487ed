#include "io/step_stream.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <cstring>
#include <new>

#include "parallel/clock.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

// Block buffers start on a cache line, as the kernel's Views would.
constexpr std::align_val_t kBufferAlignment{64};

}  // namespace

int64_t staging_steps(int64_t staging_bytes, int64_t step_bytes) {
  return std::max<int64_t>(2, staging_bytes / std::max<int64_t>(step_bytes, 1));
}

StepStreamMemory step_stream_memory(const StepStreamLayout& layout, uint64_t step_bytes) {
  StepStreamMemory memory;
  // A read block lives in a buffer, a mapped one in its faulted-in pages:
  // two of either when the next block is read while the caller computes.
  if (layout.source != BlockSource::direct) memory.bytes_per_step = (layout.background ? 2 : 1) * step_bytes;
  if (layout.source == BlockSource::direct)
    memory.fixed_bytes =
        static_cast<uint64_t>(staging_steps(layout.staging_bytes, static_cast<int64_t>(step_bytes))) * step_bytes;
  return memory;
}

void StepStream::FreeAligned::operator()(char* bytes) const { ::operator delete[](bytes, kBufferAlignment); }

StepStream::StepStream(const TrajectoryReader& reader, const TokenRange& slab, int64_t max_slab_tokens,
                       const StepStreamLayout& layout)
    : m_reader(reader),
      m_slab(slab),
      m_max_slab_tokens(max_slab_tokens),
      m_block_steps(layout.block_steps),
      m_source(layout.source),
      m_background(layout.background && layout.source != BlockSource::direct),
      m_step_values(slab.count * reader.shape().dims),
      m_step_bytes(m_step_values * reader.element_bytes()),
      m_first_step(layout.first_step) {
  const std::vector<std::string> files = reader.source_files();
  struct stat status {};
  if (files.size() == 1 && ::stat(files[0].c_str(), &status) == 0) {
    m_input_path = files[0];
    m_input_bytes = status.st_size;
  }
  // Allocated inside collectively(): running out of memory on one rank is one agreed error.
  collectively(reader.comm(), [&] { allocate(layout); });
}

void StepStream::allocate(const StepStreamLayout& layout) {
  const auto buffer = [](int64_t bytes) {
    return Buffer(static_cast<char*>(::operator new[](static_cast<size_t>(bytes), kBufferAlignment)));
  };
  if (m_source == BlockSource::read) {
    for (int b = 0; b < (m_background ? 2 : 1); ++b)
      m_buffers[static_cast<size_t>(b)] = buffer(m_block_steps * m_step_bytes);
    return;
  }
  const std::optional<uint64_t> offset = m_reader.contiguous_offset();
  if (!offset) fail(kExitUsage, "'" + m_reader.path() + "' cannot be read in place: W is not contiguous");
  m_w_offset = *offset;
  m_file = std::make_unique<ReadOnlyFile>(m_reader.path());
  if (m_source == BlockSource::direct) {
    m_staging_steps = staging_steps(layout.staging_bytes, m_step_bytes);
    m_staging = buffer(m_staging_steps * m_step_bytes);
  }
}

StepStream::~StepStream() {
  if (m_pending.valid()) m_pending.wait();
}

StepStream::Filled StepStream::fill(int64_t index, int64_t first_step, const Filled& previous) {
  const Clock::time_point start = Clock::now();
  Filled filled = fill_block(index, first_step, previous);
  m_busy_seconds += seconds_since(start);
  return filled;
}

StepStream::Filled StepStream::fill_block(int64_t index, int64_t first_step, const Filled& previous) {
  Filled filled;
  StepBlock& block = filled.block;
  block.first_step = first_step;
  block.steps = std::min(m_block_steps, m_reader.shape().steps - first_step);
  block.final = first_step + block.steps == m_reader.shape().steps;
  filled.buffer = m_background ? static_cast<int>(index % 2) : 0;
  if (m_source == BlockSource::direct) {
    collectively(m_reader.comm(), [&] { require_whole_input(block); });
    return filled;
  }
  if (m_source == BlockSource::mapped) {
    map(filled);
    return filled;
  }
  char* out = m_buffers[static_cast<size_t>(filled.buffer)].get();
  filled.values = out;
  filled.step_stride = m_step_values;
  int64_t held = 0;
  if (index > 0) {
    // The previous block's last step becomes this block's first (the same
    // buffer with one buffer: memmove).
    const char* last = static_cast<const char*>(previous.values) + (previous.block.steps - 1) * m_step_bytes;
    std::memmove(out, last, static_cast<size_t>(m_step_bytes));
    held = 1;
  }
  m_reader.read_steps(m_slab, first_step + held, block.steps - held, m_max_slab_tokens, out + held * m_step_bytes);
  // The read itself may have run past a new end.
  collectively(m_reader.comm(), [&] { require_whole_input(block); });
  return filled;
}

void StepStream::require_whole_input(const StepBlock& block) const {
  if (m_input_bytes < 0) return;
  struct stat status {};
  if (::stat(m_input_path.c_str(), &status) != 0 || status.st_size < m_input_bytes)
    fail(kExitInput, "'" + m_input_path + "' shrank from " + std::to_string(m_input_bytes) + " bytes while steps " +
                         std::to_string(block.first_step) + ".." + std::to_string(block.first_step + block.steps - 1) +
                         " were being read (truncated or rewritten?); rerun once the file is complete");
}

bool StepStream::next_part(StepPart& part) {
  const StepBlock& block = m_last.block;
  const int64_t transitions = block.steps - 1;
  if (m_next_part >= transitions) return false;
  if (m_source != BlockSource::direct) {
    part = StepPart{0, block.steps, m_last.values, m_last.step_stride};
    m_next_part = transitions;
    return true;
  }
  // A part of the staging buffer's steps: its first step is the last of the
  // part before (moved to the front), or read with the others for the first.
  const int64_t first = m_next_part, count = std::min(m_staging_steps - 1, transitions - first);
  char* out = m_staging.get();
  if (first == 0)
    read_direct_steps(block, 0, 1, out);
  else
    std::memcpy(out, out + (m_staging_steps - 1) * m_step_bytes, static_cast<size_t>(m_step_bytes));
  read_direct_steps(block, first + 1, count, out + m_step_bytes);
  part = StepPart{first, count + 1, out, m_step_values};
  m_next_part = first + count;
  return true;
}

void StepStream::read_direct_steps(const StepBlock& block, int64_t first, int64_t count, char* out) {
  const TrajectoryShape& shape = m_reader.shape();
  const int64_t value_bytes = m_reader.element_bytes();
  char* target = out;
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

void StepStream::map(Filled& filled) {
  std::unique_ptr<StepMapping>& mapped = m_mapped[static_cast<size_t>(filled.buffer)];
  mapped.reset();                      // the caller is done with the block two before
  collectively(m_reader.comm(), [&] {  // one agreement per block: the size check and the mapping
    require_whole_input(filled.block);
    mapped = std::make_unique<StepMapping>(*m_file, m_w_offset, m_reader.shape(), m_slab, filled.block.first_step,
                                           filled.block.steps, m_reader.element_bytes());
  });
  filled.values = mapped->values();
  filled.step_stride = mapped->step_stride();
}

void StepStream::start(int64_t first_step, const Filled& previous) {
  const int64_t index = m_blocks++;
  if (m_background) {
    m_pending = std::async(std::launch::async,
                           [this, index, first_step, previous] { return fill(index, first_step, previous); });
  } else {
    std::promise<Filled> now;
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
    const int64_t first_step = m_blocks == 0 ? m_first_step : m_last.block.first_step + m_last.block.steps - 1;
    if (m_done || first_step + 1 >= steps) {
      m_done = true;
      return false;
    }
    start(first_step, m_last);
  }
  m_last = m_pending.get();
  m_started = false;
  m_next_part = 0;
  block = m_last.block;
  const int64_t following = block.first_step + block.steps - 1;
  if (following + 1 >= steps) {
    m_done = true;
  } else if (m_background) {
    start(following, m_last);  // into the other buffer, while the caller computes on this one
  }
  return true;
}

}  // namespace latdisp
