#include "analysis/analyze.hpp"

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>

#include "analysis/checkpoint.hpp"
#include "analysis/magnitude_store.hpp"
#include "analysis/motion.hpp"
#include "analysis/near_zero_pass.hpp"
#include "analysis/tally_archive.hpp"
#include "analysis/view_labels.hpp"
#include "io/step_stream.hpp"
#include "kokkos_kernels/block_analysis.hpp"
#include "parallel/clock.hpp"
#include "parallel/errors.hpp"
#include "parallel/memory.hpp"
#include "parallel/partition.hpp"

namespace latdisp {

namespace {

// Accumulates kernel tallies into per-step series and totals (host side).
struct LocalTallies {
  explicit LocalTallies(int64_t transitions) {
    for (PopulationResult& p : population) {
      p.tally.reset();
      for (auto& series : p.series) series.assign(static_cast<size_t>(transitions), 0);
    }
    ulp.reset();
  }
  void add(int64_t step, const ItemTally& item) {
    for (const Population p : {kLive, kDead}) {
      population[p].tally.merge(item.population[p]);
      population[p].series.add_step(step, item.population[p]);
    }
    ulp.merge(item.ulp);
  }
  void save(ArchiveWriter& archive) const {
    for (const Population p : {kLive, kDead}) {
      const std::string name = population_name(p);
      save_tally(archive, name, population[p].tally);
      for (int s = 0; s < kSeriesFields; ++s)
        archive.put_ints(name + ".series." + std::to_string(s), population[p].series.slot(s));
    }
    save_tally(archive, "ulp", ulp);
  }
  void load(ArchiveReader& archive) {
    for (const Population p : {kLive, kDead}) {
      const std::string name = population_name(p);
      load_tally(archive, name, population[p].tally);
      for (int s = 0; s < kSeriesFields; ++s) {
        std::vector<int64_t>& series = population[p].series.slot(s);
        series = archive.get_ints(name + ".series." + std::to_string(s), static_cast<int64_t>(series.size()));
      }
    }
    load_tally(archive, "ulp", ulp);
  }
  std::array<PopulationResult, kPassPopulations> population;  // Population order
  UlpTally ulp;
};

// A rank's tallies as one array per reduction: sums, minima (maxima
// negated, so one MPI_MIN takes both), maxima.
struct FlatTallies {
  std::vector<int64_t> sums, maxima;
  std::vector<double> minima;
};

FlatTallies flatten(const LocalTallies& local) {
  FlatTallies flat;
  for (const PopulationResult& p : local.population) {
    flat.sums.insert(flat.sums.end(), p.tally.counts, p.tally.counts + kNumTallyCounts);
    for (const auto& series : p.series) flat.sums.insert(flat.sums.end(), series.begin(), series.end());
    flat.minima.insert(flat.minima.end(),
                       {p.tally.min, -p.tally.max, -p.tally.max_abs, p.tally.int_min, -p.tally.int_max});
    flat.maxima.push_back(p.tally.width);
  }
  flat.sums.insert(flat.sums.end(), {local.ulp.zeros, local.ulp.subnormals, local.ulp.nonfinite});
  flat.maxima.insert(flat.maxima.end(), {local.ulp.max_exponent, -static_cast<int64_t>(local.ulp.min_exponent)});
  return flat;
}

// The reduced arrays back into the live and dead populations (Population
// order) and the ULP tallies, in flatten()'s order; `transitions`: the length
// of each series.
std::array<PopulationResult, kPassPopulations> unflatten(const FlatTallies& flat, size_t transitions, UlpTally& ulp) {
  std::array<PopulationResult, kPassPopulations> populations;
  size_t s = 0, m = 0, x = 0;
  for (PopulationResult& target : populations) {
    target.tally.reset();
    for (int c = 0; c < kNumTallyCounts; ++c) target.tally.counts[c] = flat.sums[s++];
    for (auto& series : target.series) {
      const auto first = flat.sums.begin() + static_cast<std::ptrdiff_t>(s);
      series.assign(first, first + static_cast<std::ptrdiff_t>(transitions));
      s += transitions;
    }
    target.tally.min = flat.minima[m++];
    target.tally.max = -flat.minima[m++];
    target.tally.max_abs = -flat.minima[m++];
    target.tally.int_min = flat.minima[m++];
    target.tally.int_max = -flat.minima[m++];
    target.tally.width = static_cast<int32_t>(flat.maxima[x++]);
  }
  ulp.zeros = flat.sums[s++];
  ulp.subnormals = flat.sums[s++];
  ulp.nonfinite = flat.sums[s++];
  ulp.max_exponent = static_cast<int32_t>(flat.maxima[x++]);
  ulp.min_exponent = static_cast<int32_t>(-flat.maxima[x++]);
  return populations;
}

// Reduces the live/dead tallies to rank 0, where all tokens are derived.
void reduce_tallies(const LocalTallies& local, ReducedNumbers& result, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  FlatTallies flat = flatten(local);
  const auto reduce = [&](auto& values, MPI_Datatype type, MPI_Op op) {
    MPI_Reduce(rank == 0 ? MPI_IN_PLACE : values.data(), values.data(), static_cast<int>(values.size()), type, op, 0,
               comm);
  };
  reduce(flat.sums, MPI_INT64_T, MPI_SUM);
  reduce(flat.minima, MPI_DOUBLE, MPI_MIN);
  reduce(flat.maxima, MPI_INT64_T, MPI_MAX);
  if (rank != 0) return;
  const size_t transitions = local.population[kLive].series[kCountExact].size();
  result.displacement = by_result_population(unflatten(flat, transitions, result.ulp));
}

// The integer width of every x (all tokens), on every rank: it sizes the
// saved delta_W_prime.
int32_t all_ranks_integer_width(const LocalTallies& local, MPI_Comm comm) {
  int32_t width = std::max(local.population[kLive].tally.width, local.population[kDead].tally.width);
  MPI_Allreduce(MPI_IN_PLACE, &width, 1, MPI_INT32_T, MPI_MAX, comm);
  return width;
}

// What the report tells of the input and the plan, before any step is read.
AnalysisSetup setup_of_plan(const AnalysisInput& input, const AnalysisPlan& plan, int ranks) {
  AnalysisSetup result;
  result.config = plan.config;
  result.ranks = ranks;
  result.kokkos_backend = ExecutionSpace::name();
  result.shape = input.shape();
  result.input_type = input.reader->type_description();
  result.element_type = input.reader->element_type();
  result.input_format = input.reader->format();
  result.step_numbers = input.reader->step_numbers();
  result.skipped = input.reader->skipped();
  result.dead_mask_found = input.dead_mask_found;
  for (uint8_t d : input.dead_mask) result.n_dead += d;
  result.memory_budget = plan.memory_budget;
  result.steps_per_block = plan.blocks.steps_per_block;
  result.magnitudes_in_memory = plan.blocks.magnitudes_in_memory;
  result.block_source = plan.block_source;
  result.arithmetic = plan.kernel.arithmetic;
  result.hop_radius = plan.hop_radius;
  return result;
}

class ProgressLine {
 public:
  ProgressLine(double interval, int64_t total, bool enabled)
      : m_interval(interval), m_total(total), m_enabled(enabled) {}
  void update(int64_t done) {
    if (!m_enabled || m_interval <= 0) return;
    const double elapsed = seconds_since(m_start);
    if (elapsed - m_last < m_interval || done >= m_total) return;
    m_last = elapsed;
    const double eta = elapsed * static_cast<double>(m_total - done) / static_cast<double>(std::max<int64_t>(done, 1));
    std::fprintf(stderr, "latdisp analyze: %lld/%lld transitions (%.1f%%), %.0f s elapsed, ETA %.0f s\n",
                 static_cast<long long>(done), static_cast<long long>(m_total),
                 100.0 * static_cast<double>(done) / static_cast<double>(m_total), elapsed, eta);
  }

 private:
  double m_interval;
  int64_t m_total;
  bool m_enabled;
  Clock::time_point m_start = Clock::now();
  double m_last = 0;
};

// The pass's state on this rank: what a checkpoint saves and restores.
struct PassState {
  PassState(const AnalysisPlan& plan, const std::vector<uint8_t>& slab_dead, int64_t transitions, MPI_Comm comm)
      : local(transitions) {
    collectively(comm, [&] {
      const GeneralValueSpace space{static_cast<int64_t>(plan.blocks.general_bytes / sizeof(uint64_t)),
                                    !plan.blocks.magnitudes_in_memory, plan.config.memory.scratch_dir};
      store = std::make_unique<MagnitudeStore>(slab_dead, transitions, space);
    });
    collectively(comm, [&] {
      motion = std::make_unique<TokenMotionTracker>(!plan.config.outputs.per_token.empty(), plan.blocks.steps_per_block - 1,
                                                    plan.slab.count, plan.kernel.hop_radius);
    });
    collectively(comm, [&] {
      const int64_t items = block_items_per_transition(plan.slab.count, plan.kernel.tokens_per_item);
      near_zero = std::make_unique<NearZeroPass>(transitions, plan.blocks.steps_per_block, items);
    });
  }
  void save(ArchiveWriter& archive) const {
    local.save(archive);
    store->save(archive);
    motion->save(archive);
    near_zero->save(archive);
  }
  // The next step to read.
  int64_t restore(Checkpointer& checkpoint, int64_t slab_tokens) {
    return checkpoint.restore([&](ArchiveReader& archive, int64_t next_step) {
      local.load(archive);
      store->load(archive);
      motion->load(archive);
      near_zero->load(archive);
      if (store->rows() != next_step * slab_tokens) archive.damaged("its magnitudes do not cover the steps it claims");
    });
  }

  LocalTallies local;
  std::unique_ptr<MagnitudeStore> store;
  std::unique_ptr<TokenMotionTracker> motion;
  std::unique_ptr<NearZeroPass> near_zero;  // docs/definitions.md §19
};

// A step block's values as raw bytes of the input's element format.
using DeviceValues = Kokkos::View<uint8_t*, DeviceMemory>;
using DeviceFlags = Kokkos::View<uint8_t*, DeviceMemory>;

DeviceFlags device_dead_flags(const std::vector<uint8_t>& slab_dead) {
  DeviceFlags dead("latdisp::analyze::dead", slab_dead.size());
  auto host_dead = Kokkos::create_mirror_view(dead);
  for (size_t n = 0; n < slab_dead.size(); ++n) host_dead(n) = slab_dead[n];
  Kokkos::deep_copy(dead, host_dead);
  return dead;
}

// Direct blocks reach the kernel a few steps at a time through one small
// buffer, read into it just before the kernel runs: the kernel then finds W
// in its core's cache (docs/operations.md §2, "Direct reads").
constexpr int64_t kStagingBytes = int64_t(2) << 20;

// The steps the staging buffer holds: at least two (one transition).
int64_t staging_steps(const AnalysisPlan& plan, int64_t step_bytes) {
  if (plan.block_source != BlockSource::direct) return 0;
  return std::max<int64_t>(2, kStagingBytes / std::max<int64_t>(step_bytes, 1));
}

// The kernel's Views for the largest step block and their host mirrors (the
// same memory on a host backend), each built where it is declared. Two value
// blocks when reads run behind compute: the kernel's and the next one; none
// when the blocks are mapped from the file.
struct BlockBuffers {
  BlockBuffers(const AnalysisPlan& plan, const std::vector<uint8_t>& slab_dead, int64_t dims, int64_t items,
               formats::ElementType type)
      : element_type(type),
        dims(dims),
        values{DeviceValues(uninitialized("latdisp::analyze::values"),
                            buffered(plan) ? block_bytes(plan, dims, type) : 0),
               DeviceValues(uninitialized("latdisp::analyze::next_values"),
                            buffered(plan) && plan.background_reads ? block_bytes(plan, dims, type) : 0)},
        host_values{Kokkos::create_mirror_view(values[0]), Kokkos::create_mirror_view(values[1])},
        dead(device_dead_flags(slab_dead)),
        tallies(uninitialized("latdisp::analyze::tallies"), plan.blocks.steps_per_block - 1, items),
        magnitudes(uninitialized("latdisp::analyze::magnitudes"), plan.blocks.steps_per_block - 1, plan.slab.count),
        host_tallies(Kokkos::create_mirror_view(tallies)),
        host_magnitudes(Kokkos::create_mirror_view(magnitudes)),
        staging_steps(latdisp::staging_steps(plan, plan.slab.count * dims * formats::element_bytes(type))),
        staging(static_cast<size_t>(staging_steps * plan.slab.count * dims * formats::element_bytes(type))) {}

  static bool buffered(const AnalysisPlan& plan) { return plan.block_source == BlockSource::read; }
  static size_t block_bytes(const AnalysisPlan& plan, int64_t dims, formats::ElementType type) {
    return static_cast<size_t>(plan.blocks.steps_per_block * plan.slab.count * dims * formats::element_bytes(type));
  }
  // Where the stream reads block values into (null when they are mapped).
  uint8_t* read_buffer(int index) const {
    return host_values[static_cast<size_t>(index)].extent(0) > 0 ? host_values[static_cast<size_t>(index)].data()
                                                                 : nullptr;
  }

  formats::ElementType element_type;
  int64_t dims;
  std::array<DeviceValues, 2> values;
  std::array<DeviceValues::HostMirror, 2> host_values;
  DeviceFlags dead;
  ItemTallies tallies;
  RowMagnitudes magnitudes;
  ItemTallies::HostMirror host_tallies;
  RowMagnitudes::HostMirror host_magnitudes;
  int64_t staging_steps;  // direct blocks: steps of the staging buffer (else 0)
  std::vector<char> staging;
};

// The block the kernel reads: on the host the stream's values in place (a
// buffer, or the mapped file with its step stride); with device memory of
// its own, the buffer copied there.
RawBlockValues kernel_block(const StepBlock& step_block, const BlockBuffers& buffers, int64_t slab_tokens) {
  RawBlockValues block;
  block.steps = step_block.steps;
  block.tokens = slab_tokens;
  block.dims = buffers.dims;
  block.type = buffers.element_type;
  block.data = step_block.values;
  block.step_stride = step_block.step_stride;
  if (kSeparateDeviceMemory) {
    const size_t buffer = static_cast<size_t>(step_block.buffer);
    const std::pair<size_t, size_t> bytes(
        0, static_cast<size_t>(step_block.steps * step_block.step_stride * formats::element_bytes(block.type)));
    Kokkos::deep_copy(Kokkos::subview(buffers.values[buffer], bytes),
                      Kokkos::subview(buffers.host_values[buffer], bytes));
    block.data = buffers.values[buffer].data();
  }
  return block;
}

// Transitions [first, first + count) of the step block (`values` holds
// exactly their steps) through the kernel, into the
// same rows of the block's tallies, magnitudes and row events (the near-zero
// breakdown counted in the same pass).
void analyze_transitions(const RawBlockValues& values, int64_t first, int64_t count, const StepBlock& step_block,
                         const AnalysisPlan& plan, const BlockBuffers& buffers, PassState& state, PhaseTimer& phases) {
  using Rows = std::pair<int64_t, int64_t>;
  const Rows rows(first, first + count);
  const RowEventViews events = state.motion->events();
  phases.enter("kernel");
  analyze_raw_block(values, buffers.dead, step_block.final && first + count == step_block.steps - 1, plan.kernel,
                    Kokkos::subview(buffers.tallies, rows, Kokkos::ALL),
                    Kokkos::subview(buffers.magnitudes, rows, Kokkos::ALL),
                    events.extent(0) > 0 ? RowEventViews(Kokkos::subview(events, rows, Kokkos::ALL)) : events,
                    state.near_zero->outputs());
  // Each kernel run overwrites the near-zero outputs: folded part by part.
  phases.enter("near_zero");
  state.near_zero->add_block(count, step_block.first_step + first);
}

// A direct block part by part through the staging buffer: each part's steps
// read into it (its first step kept from the part before).
void analyze_direct_block(const StepBlock& step_block, const StepStream& stream, const AnalysisPlan& plan,
                          BlockBuffers& buffers, PassState& state, PhaseTimer& phases) {
  RawBlockValues staged = kernel_block(step_block, buffers, plan.slab.count);
  staged.data = buffers.staging.data();
  staged.step_stride = plan.slab.count * buffers.dims;
  const size_t step_bytes = static_cast<size_t>(staged.step_stride * formats::element_bytes(staged.type));
  const int64_t part = buffers.staging_steps - 1;
  char* out = buffers.staging.data();
  for (int64_t first = 0; first < step_block.steps - 1; first += part) {
    const int64_t count = std::min(part, step_block.steps - 1 - first);
    phases.enter("wait");
    if (first == 0)
      stream.read_steps(step_block, 0, 1, out);
    else
      std::memcpy(out, out + static_cast<size_t>(part) * step_bytes, step_bytes);
    stream.read_steps(step_block, first + 1, count, out + step_bytes);
    staged.steps = count + 1;
    analyze_transitions(staged, first, count, step_block, plan, buffers, state, phases);
  }
}

// One step block through the kernel (copied to the device first when it has
// its own memory); its tallies and magnitudes folded into the pass state.
void analyze_step_block(const StepBlock& step_block, const StepStream& stream, const AnalysisPlan& plan, int64_t items,
                        BlockBuffers& buffers, PassState& state, const RowSink& rows, PhaseTimer& phases,
                        MPI_Comm comm) {
  const int64_t transitions = step_block.steps - 1;
  if (step_block.values == nullptr)
    analyze_direct_block(step_block, stream, plan, buffers, state, phases);
  else
    analyze_transitions(kernel_block(step_block, buffers, plan.slab.count), 0, transitions, step_block, plan, buffers,
                        state, phases);
  phases.enter("kernel");
  state.motion->update(buffers.magnitudes, step_block.first_step, transitions);
  phases.enter("fold");
  Kokkos::deep_copy(buffers.host_tallies, buffers.tallies);
  Kokkos::deep_copy(buffers.host_magnitudes, buffers.magnitudes);
  for (int64_t t = 0; t < transitions; ++t)
    for (int64_t i = 0; i < items; ++i) state.local.add(step_block.first_step + t, buffers.host_tallies(t, i));
  // Also where a stop signal on any rank stops every rank (with --checkpoint-dir: at the
  // block boundary, after the checkpoint).
  collectively(comm, [&] {
    stream.raise_read_failure();
    state.store->append(buffers.host_magnitudes.data(), transitions * plan.slab.count);
    phases.enter("agree");  // the agreement itself: waiting for every rank to reach it
  });
  if (rows) {
    phases.enter("fold");
    rows(step_block.first_step, transitions, buffers.host_magnitudes.data());
  }
}

// Streams W from `first_step` to the end, block by block, through the kernel;
// a checkpoint at block boundaries when one is due.
void stream_steps(const TrajectoryReader& reader, const AnalysisPlan& plan, int64_t first_step, BlockBuffers& buffers,
                  PassState& state, Checkpointer& checkpoint, PhaseTimer& phases, const RowSink& rows, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  const int64_t transitions = reader.shape().steps - 1;
  const int64_t items = block_items_per_transition(plan.slab.count, plan.kernel.tokens_per_item);
  ProgressLine progress(plan.config.memory.progress_seconds, transitions - first_step, rank == 0);
  StepStream stream(reader, plan.slab, plan.max_slab, plan.blocks.steps_per_block, buffers.read_buffer(0),
                    plan.background_reads ? buffers.read_buffer(1) : nullptr, plan.background_reads, first_step,
                    plan.block_source);
  const auto save_state = [&](ArchiveWriter& archive) { state.save(archive); };
  StepBlock step_block;
  for (;;) {
    phases.enter("wait");
    if (!stream.next(step_block)) break;
    analyze_step_block(step_block, stream, plan, items, buffers, state, rows, phases, comm);
    const int64_t next_step = step_block.first_step + step_block.steps - 1;
    progress.update(next_step - first_step);
    if (plan.config.checkpoint.block_pause > 0) {
      phases.enter("block_pause");
      std::this_thread::sleep_for(std::chrono::duration<double>(plan.config.checkpoint.block_pause));
    }
    phases.enter("checkpoint");
    checkpoint.at_block_boundary(next_step, step_block.final, save_state);
  }
  phases.add_concurrent("read_busy", stream.busy_seconds());
}

// Rank 0's totals, series and magnitude statistics from every rank's state.
void reduce_pass(const PassState& state, const std::vector<uint8_t>& slab_dead, int64_t transitions,
                 AnalysisResult& result, PhaseTimer& phases, MPI_Comm comm) {
  // Waiting for the slowest rank's last block is not reduction.
  phases.enter("imbalance");
  MPI_Barrier(comm);
  phases.enter("reduce");
  reduce_tallies(state.local, result, comm);
  result.integer_width = all_ranks_integer_width(state.local, comm);
  result.magnitude = summarize_magnitudes(*state.store, slab_dead, transitions, comm);
  result.near_zero = state.near_zero->reduce(comm);
}

}  // namespace

AnalysisResult analyze_trajectory(const AnalyzeConfig& config, MPI_Comm comm) {
  PhaseTimer phases(analysis_phases(), analysis_concurrent_work());
  const PreparedAnalysis prepared = prepare_analysis(config, comm);
  return analyze_trajectory(prepared.input, prepared.plan, phases, comm);
}

AnalysisResult analyze_trajectory(const AnalysisInput& input, const AnalysisPlan& plan, PhaseTimer& phases,
                                  MPI_Comm comm, const RowSink& rows) {
  phases.enter("setup");
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  const AnalyzeConfig& config = plan.config;
  AnalysisResult result;
  static_cast<AnalysisSetup&>(result) = setup_of_plan(input, plan, ranks);
  const TrajectoryReader& reader = *input.reader;
  Checkpointer checkpoint(config, reader, input.dead_mask, comm);
  if (!result.dead_mask_found && rank == 0)
    std::fprintf(stderr, "latdisp analyze: warning: %s; every token is treated as live\n",
                 missing_dead_mask_text(config.input.path, config.input.dead_mask).c_str());
  const TokenRange slab = plan.slab;
  const std::vector<uint8_t> slab_dead(input.dead_mask.begin() + slab.begin,
                                       input.dead_mask.begin() + slab.begin + slab.count);
  const int64_t transitions = reader.shape().steps - 1;

  PassState state(plan, slab_dead, transitions, comm);
  // Allocated inside collectively(): running out of memory on one rank is one agreed error.
  std::unique_ptr<BlockBuffers> buffers;
  collectively(comm, [&] {
    buffers = std::make_unique<BlockBuffers>(plan, slab_dead, reader.shape().dims,
                                             block_items_per_transition(slab.count, plan.kernel.tokens_per_item),
                                             reader.element_type());
  });
  const int64_t first_step = config.checkpoint.resume ? state.restore(checkpoint, slab.count) : 0;
  stream_steps(reader, plan, first_step, *buffers, state, checkpoint, phases, rows, comm);
  if (checkpoint.enabled()) result.checkpoint = checkpoint.summary();
  if (!config.outputs.per_token.empty()) result.per_token = PerTokenTable{slab, slab_dead, state.motion->records()};
  reduce_pass(state, slab_dead, transitions, result, phases, comm);
  result.peak_rss = gather_peak_rss(comm);
  result.timings = timings_of(summarize_phases(phases, comm));
  return result;
}

}  // namespace latdisp
