#include "io/step_selection_reader.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "parallel/errors.hpp"

namespace latdisp {

namespace {

// The selected snapshots of `input` as a trajectory of their own.
class SelectedSnapshotsReader final : public TrajectoryReader {
 public:
  SelectedSnapshotsReader(std::unique_ptr<TrajectoryReader> input, std::vector<int64_t> snapshots, int64_t stride)
      : TrajectoryReader(input->comm(), input->path(), input->dataset(), input->format()),
        m_input(std::move(input)),
        m_snapshots(std::move(snapshots)),
        m_stride(stride) {
    m_shape = m_input->shape();
    m_shape.steps = static_cast<int64_t>(m_snapshots.size());
    m_type_description = m_input->type_description();
    m_element_type = m_input->element_type();
    m_source_rank = m_input->source_rank();
    m_skipped = m_input->skipped();
    const std::vector<int64_t>& training = m_input->step_numbers();
    for (const int64_t s : m_snapshots)
      m_step_numbers.push_back(training.empty() ? s : training[static_cast<size_t>(s)]);
  }

  std::string step_origin(int64_t step) const override { return m_input->step_origin(snapshot(step)); }
  std::vector<std::string> source_files() const override { return m_input->source_files(); }

  std::optional<uint64_t> contiguous_offset() const override {
    const std::optional<uint64_t> offset = m_input->contiguous_offset();
    if (!offset || m_stride != 1) return std::nullopt;
    const uint64_t step_bytes = static_cast<uint64_t>(m_shape.tokens * m_shape.dims) * static_cast<uint64_t>(element_bytes());
    return *offset + static_cast<uint64_t>(m_snapshots.front()) * step_bytes;
  }

  void read_rows(int64_t step, int64_t first_row, int64_t count, void* out) const override {
    m_input->read_rows(snapshot(step), first_row, count, out);
  }

  std::vector<uint8_t> read_dead_mask(const std::string& name) const override {
    return m_input->read_dead_mask(name);
  }

 protected:
  // One piece of read_steps (at most one transfer per rank): read from the
  // input as its own read_steps, which then makes exactly one transfer too
  // (the piece's slab is the largest it splits by), the same count on every rank.
  void read_block(int64_t first_step, int64_t steps, int64_t first_token, int64_t tokens,
                  void* out) const override {
    const TokenRange slab{first_token, tokens};
    if (m_stride == 1) {
      m_input->read_steps(slab, snapshot(first_step), steps, tokens, out);
      return;
    }
    const int64_t step_bytes = tokens * m_shape.dims * element_bytes();
    for (int64_t s = 0; s < steps; ++s)
      m_input->read_steps(slab, snapshot(first_step + s), 1, tokens, static_cast<char*>(out) + s * step_bytes);
  }

 private:
  int64_t snapshot(int64_t step) const { return m_snapshots[static_cast<size_t>(step)]; }

  std::unique_ptr<TrajectoryReader> m_input;
  std::vector<int64_t> m_snapshots;
  int64_t m_stride;
};

}  // namespace

std::unique_ptr<TrajectoryReader> select_snapshots(std::unique_ptr<TrajectoryReader> input,
                                                   const SnapshotSelection& selection, const std::string& option) {
  const int64_t steps = input->shape().steps;
  const int64_t last = selection.last < 0 ? steps - 1 : selection.last;
  if (selection.first >= steps || last >= steps)
    fail(kExitInput, option + ": snapshot " + std::to_string(std::max(selection.first, last)) +
                         " is out of range: '" + input->path() + "' has " + std::to_string(steps) +
                         " snapshots (0.." + std::to_string(steps - 1) + ")");
  std::vector<int64_t> snapshots;
  for (int64_t s = selection.first; s <= last; s += selection.stride) snapshots.push_back(s);
  if (snapshots.size() < 2)
    fail(kExitInput, option + " selects " + std::to_string(snapshots.size()) +
                         " snapshot(s); a trajectory needs at least 2 (one transition)");
  return std::make_unique<SelectedSnapshotsReader>(std::move(input), std::move(snapshots), selection.stride);
}

}  // namespace latdisp
