#include "analysis/save_results.hpp"

#include <Kokkos_Core.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "analysis/kernel_values.hpp"
#include "analysis/view_labels.hpp"
#include "config/save_dtype.hpp"
#include "io/result_writer.hpp"
#include "io/step_stream.hpp"
#include "kokkos_kernels/encode_block.hpp"
#include "parallel/clock.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

using Steps = std::pair<int64_t, int64_t>;

// Adds the time since the last lap to one of the phases.
class PhaseClock {
 public:
  void lap(double& phase) {
    const Clock::time_point now = Clock::now();
    phase += std::chrono::duration<double>(now - m_last).count();
    m_last = now;
  }

 private:
  Clock::time_point m_last = Clock::now();
};

ResultLayout layout_of(const AnalysisInput& input, const AnalysisPlan& plan, bf16::IntegerWidth width) {
  const AnalyzeConfig& c = plan.config;
  ResultLayout layout;
  layout.shape = input.shape();
  layout.slab = plan.slab;
  layout.integer_bytes = integer_bytes(width);
  layout.element_type = input.reader->element_type();
  layout.selection = plan.output->selection;
  layout.dead_mask = input.dead_mask;
  for (size_t n = 0; n < input.dead_mask.size(); ++n)
    if (input.dead_mask[n]) layout.dead_token_ids.push_back(static_cast<int64_t>(n));
  layout.provenance = {{"source", c.input.path},
                       {"dataset", c.input.dataset},
                       {"element_type", formats::element_type_name(layout.element_type)},
                       {"arithmetic", arithmetic_name(c.kernel.arithmetic)},
                       {"epsilon", std::to_string(c.kernel.epsilon)},
                       {"zero_ulp", zero_ulp_name(c.kernel.zero_ulp)},
                       {"delta_dtype", integer_dtype_name(width)},
                       {"exception_kinds", "1 almost, 2 half, 3 non_integer, 4 nonfinite, 5 out of the dtype's range"},
                       {"latdisp_version", LATDISP_VERSION}};
  return layout;
}

// The views of one step block, allocated once for the largest block, and
// their host mirrors (the same memory on a host backend). The block's values
// are the stream's (io/step_stream.hpp), copied only to a device with memory
// of its own (`values`). Values and ULPs are raw bits of W's element format,
// `element_bytes` each. Built in place:
// a View default-constructed and assigned later crashes with some Kokkos 4
// snapshots.
struct SaveBuffers {
  SaveBuffers(int64_t steps, int64_t tokens, int64_t dims, formats::ElementType type)
      : element_type(type),
        element_bytes(formats::element_bytes(type)),
        step_values(tokens * dims),
        values("latdisp::save::values", steps, tokens, dims, type),
        encoded{decltype(EncodedBlock::integers)(uninitialized("latdisp::save::integers"), (steps - 1) * step_values),
                BlockArray<uint8_t>(uninitialized("latdisp::save::crossed"), steps - 1, tokens, dims),
                decltype(EncodedBlock::ulps)(uninitialized("latdisp::save::ulps"), ulp_words(steps))},
        // Room for an exception in a quarter of the rows: about the bytes per
        // row the plan reserves.
        exceptions(std::max<int64_t>(1, (steps - 1) * tokens / 4)),
        host_integers(Kokkos::create_mirror_view(encoded.integers)),
        host_crossed(Kokkos::create_mirror_view(encoded.crossed)),
        host_ulps(Kokkos::create_mirror_view(encoded.ulps)) {}

  // The 32-bit words that hold the ULPs of `steps` steps.
  int64_t ulp_words(int64_t steps) const { return (steps * step_values * element_bytes + 3) / 4; }

  // The outputs of a block of `steps` steps: one transition fewer.
  EncodedBlock block_outputs(int64_t steps) const {
    const Steps transitions(0, steps - 1);
    return EncodedBlock{encoded.integers, Kokkos::subview(encoded.crossed, transitions, Kokkos::ALL, Kokkos::ALL),
                        encoded.ulps};
  }

  formats::ElementType element_type;
  int64_t element_bytes;
  int64_t step_values;  // values in one step of the slab
  KernelValues values;
  EncodedBlock encoded;
  ExceptionTable exceptions;
  decltype(EncodedBlock::integers)::HostMirror host_integers;
  BlockArray<uint8_t>::HostMirror host_crossed;
  decltype(EncodedBlock::ulps)::HostMirror host_ulps;
};

// The first `steps` steps of a (steps, tokens, dims) view.
template <class View>
auto leading(const View& view, int64_t steps) {
  return Kokkos::subview(view, Steps(0, steps), Kokkos::ALL, Kokkos::ALL);
}

// The first `count` elements of a one-dimensional view.
template <class View>
auto first(const View& view, int64_t count) {
  return Kokkos::subview(view, Steps(0, count));
}

// The device table's rows appended to the host's columns.
void append_exceptions(const ExceptionTable& table, ExceptionColumns& columns) {
  const Steps rows(0, table.count);
  const auto index =
      Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), Kokkos::subview(table.index, rows, Kokkos::ALL));
  const auto value = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), Kokkos::subview(table.value, rows));
  const auto kind = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), Kokkos::subview(table.kind, rows));
  columns.index.insert(columns.index.end(), index.data(), index.data() + 3 * table.count);
  columns.value.insert(columns.value.end(), value.data(), value.data() + table.count);
  columns.kind.insert(columns.kind.end(), kind.data(), kind.data() + table.count);
}

// Encodes one step block (read into the stream's buffer: one part) on the
// device, brings the outputs to the host and the block's exceptions into
// `exceptions`.
void encode_step_block(const StepBlock& block, const StepPart& part, SaveBuffers& buffers, const AnalysisPlan& plan,
                       bf16::IntegerWidth width, ExceptionColumns& exceptions) {
  const int64_t steps = block.steps, transitions = steps - 1;
  encode_block(buffers.values(part), plan.kernel, width, block.first_step, plan.slab.begin,
               buffers.block_outputs(steps), buffers.exceptions);
  if (kSeparateDeviceMemory) {
    const int64_t words = (transitions * buffers.step_values * integer_bytes(width) + 7) / 8;
    Kokkos::deep_copy(first(buffers.host_integers, words), first(buffers.encoded.integers, words));
    Kokkos::deep_copy(leading(buffers.host_crossed, transitions), leading(buffers.encoded.crossed, transitions));
    Kokkos::deep_copy(first(buffers.host_ulps, buffers.ulp_words(steps)),
                      first(buffers.encoded.ulps, buffers.ulp_words(steps)));
  }
  append_exceptions(buffers.exceptions, exceptions);
}

void write_step_block(const StepBlock& block, const SaveBuffers& buffers, ResultWriter& writer, MPI_Comm comm) {
  const int64_t transitions = block.steps - 1;
  collectively(comm, [&] {
    writer.write_delta(block.first_step, transitions, buffers.host_integers.data());
    writer.write_ulp(block.first_step, block.final ? block.steps : transitions, buffers.host_ulps.data());
    writer.write_crossings(block.first_step, transitions, buffers.host_crossed.data());
  });
}

// The kernel gives the exceptions ordered by step, then token, then dim: a
// stable counting sort by token gives the table's order, token, then step,
// then dim. Slabs are contiguous token ranges in rank order, so the table is
// the same for any rank count.
ExceptionColumns ordered_by_token(const ExceptionColumns& blocks, const TokenRange& slab) {
  std::vector<size_t> next(static_cast<size_t>(slab.count) + 1, 0);
  const auto slot = [&](size_t row) { return static_cast<size_t>(blocks.index[3 * row + 1] - slab.begin); };
  for (size_t row = 0; row < blocks.size(); ++row) ++next[slot(row) + 1];
  std::partial_sum(next.begin(), next.end(), next.begin());
  ExceptionColumns ordered;
  ordered.index.resize(blocks.index.size());
  ordered.value.resize(blocks.size());
  ordered.kind.resize(blocks.size());
  for (size_t row = 0; row < blocks.size(); ++row) {
    const size_t at = next[slot(row)]++;
    for (size_t c = 0; c < 3; ++c) ordered.index[3 * at + c] = blocks.index[3 * row + c];
    ordered.value[at] = blocks.value[row];
    ordered.kind[at] = blocks.kind[row];
  }
  return ordered;
}

// Collective: every rank's exceptions at its offset in the one table.
// Returns the table's length.
int64_t write_exception_table(const ExceptionColumns& mine, ResultWriter& writer, MPI_Comm comm) {
  int64_t local = static_cast<int64_t>(mine.size()), offset = 0, total = 0;
  MPI_Exscan(&local, &offset, 1, MPI_INT64_T, MPI_SUM, comm);
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) offset = 0;  // MPI_Exscan leaves rank 0's undefined
  MPI_Allreduce(&local, &total, 1, MPI_INT64_T, MPI_SUM, comm);
  collectively(comm, [&] { writer.write_exceptions(mine, offset, total); });
  return total;
}

uint64_t file_size_on_rank0(const std::string& path, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  struct stat info {};
  return rank == 0 && stat(path.c_str(), &info) == 0 ? static_cast<uint64_t>(info.st_size) : 0;
}

}  // namespace

SaveSummary save_results(const AnalysisInput& input, const AnalysisPlan& plan, int32_t integer_width,
                         const std::string& temporary_path, MPI_Comm comm) {
  const Clock::time_point start = Clock::now();
  const OutputPlan& output = *plan.output;
  const bf16::IntegerWidth width = saved_width(output.dtype, integer_width);
  SaveSummary summary;
  summary.path = output.path;
  summary.format = output.format;
  summary.dtype = integer_dtype_name(width);

  PhaseClock clock;
  std::unique_ptr<ResultWriter> writer;
  collectively(
      comm, [&] { writer = create_result_writer(output.format, comm, temporary_path, layout_of(input, plan, width)); });
  clock.lap(summary.phases.write);

  const int64_t block_steps = output.blocks.steps_per_block;
  // Allocated inside collectively(): running out of memory on one rank is one agreed error.
  std::unique_ptr<SaveBuffers> buffers;
  collectively(comm, [&] {
    buffers = std::make_unique<SaveBuffers>(block_steps, plan.slab.count, input.shape().dims,
                                            input.reader->element_type());
  });
  ExceptionColumns exceptions;
  StepStreamLayout layout;  // one buffer, read in the foreground (the plan's output blocks)
  layout.block_steps = block_steps;
  StepStream stream(*input.reader, plan.slab, plan.max_slab, layout);
  StepBlock block;
  StepPart part;
  while (stream.next(block) && stream.next_part(part)) {
    clock.lap(summary.phases.read);
    collectively(comm, [&] { encode_step_block(block, part, *buffers, plan, width, exceptions); });
    clock.lap(summary.phases.encode);
    write_step_block(block, *buffers, *writer, comm);
    clock.lap(summary.phases.write);
  }
  clock.lap(summary.phases.read);

  summary.exceptions = write_exception_table(ordered_by_token(exceptions, plan.slab), *writer, comm);
  clock.lap(summary.phases.exceptions);
  collectively(comm, [&] { writer->close(); });
  clock.lap(summary.phases.write);
  summary.bytes = file_size_on_rank0(temporary_path, comm);
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return summary;
}

}  // namespace latdisp
