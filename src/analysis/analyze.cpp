#include "analysis/analyze.hpp"

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "analysis/checkpoint.hpp"
#include "analysis/kernel_values.hpp"
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
      motion =
          std::make_unique<TokenMotionTracker>(!plan.config.outputs.per_token.empty(), plan.blocks.steps_per_block - 1,
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

using DeviceFlags = Kokkos::View<uint8_t*, DeviceMemory>;

DeviceFlags device_dead_flags(const std::vector<uint8_t>& slab_dead) {
  DeviceFlags dead("latdisp::analyze::dead", slab_dead.size());
  auto host_dead = Kokkos::create_mirror_view(dead);
  for (size_t n = 0; n < slab_dead.size(); ++n) host_dead(n) = slab_dead[n];
  Kokkos::deep_copy(dead, host_dead);
  return dead;
}

// The kernel's Views for the largest step block and their host mirrors (the
// same memory on a host backend), each built where it is declared. The
// block's values are the stream's (io/step_stream.hpp); only a device with
// memory of its own gets a copy of them (`values`).
struct KernelBuffers {
  KernelBuffers(const AnalysisPlan& plan, const std::vector<uint8_t>& slab_dead, int64_t dims, int64_t items,
                formats::ElementType type)
      : values("latdisp::analyze::values", plan.blocks.steps_per_block, plan.slab.count, dims, type),
        dead(device_dead_flags(slab_dead)),
        tallies(host_pages_view<ItemTallies>("latdisp::analyze::tallies", tally_pages, plan.blocks.steps_per_block - 1,
                                             items)),
        magnitudes(host_pages_view<RowMagnitudes>("latdisp::analyze::magnitudes", magnitude_pages,
                                                  plan.blocks.steps_per_block - 1, plan.slab.count)),
        host_tallies(Kokkos::create_mirror_view(tallies)),
        host_magnitudes(Kokkos::create_mirror_view(magnitudes)) {}

  KernelValues values;
  DeviceFlags dead;
  HostPages tally_pages, magnitude_pages;  // before the Views on them
  ItemTallies tallies;
  RowMagnitudes magnitudes;
  ItemTallies::HostMirror host_tallies;
  RowMagnitudes::HostMirror host_magnitudes;
};

// The part's transitions through the kernel, into the same rows of the
// block's tallies, magnitudes and row events (the near-zero breakdown
// counted in the same pass).
void analyze_part(const StepPart& part, const StepBlock& step_block, const AnalysisPlan& plan,
                  const KernelBuffers& buffers, PassState& state, PhaseTimer& phases) {
  using Rows = std::pair<int64_t, int64_t>;
  const int64_t count = part.steps - 1;
  const Rows rows(part.first, part.first + count);
  const RowEventViews events = state.motion->events();
  phases.enter("kernel");
  analyze_raw_block(buffers.values(part), buffers.dead, step_block.final && part.first + count == step_block.steps - 1,
                    plan.kernel, Kokkos::subview(buffers.tallies, rows, Kokkos::ALL),
                    Kokkos::subview(buffers.magnitudes, rows, Kokkos::ALL),
                    events.extent(0) > 0 ? RowEventViews(Kokkos::subview(events, rows, Kokkos::ALL)) : events,
                    state.near_zero->outputs());
  // Each kernel run overwrites the near-zero outputs: folded part by part.
  phases.enter("near_zero");
  state.near_zero->add_block(count, step_block.first_step + part.first);
}

// One step block through the kernel, part by part as the stream hands it
// out (a direct block's parts are read then, timed as waiting); its tallies
// and magnitudes folded into the pass state.
void analyze_step_block(const StepBlock& step_block, StepStream& stream, const AnalysisPlan& plan, int64_t items,
                        KernelBuffers& buffers, PassState& state, const RowSink& rows, PhaseTimer& phases,
                        MPI_Comm comm) {
  const int64_t transitions = step_block.steps - 1;
  StepPart part;
  for (;;) {
    phases.enter("wait");
    if (!stream.next_part(part)) break;
    analyze_part(part, step_block, plan, buffers, state, phases);
  }
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

// How the analysis streams W: the plan's blocks and source, from `first_step`.
StepStreamLayout stream_layout(const AnalysisPlan& plan, int64_t first_step) {
  StepStreamLayout layout;
  layout.block_steps = plan.blocks.steps_per_block;
  layout.source = plan.block_source;
  layout.background = plan.background_reads;
  layout.first_step = first_step;
  return layout;
}

// Streams W from `first_step` to the end, block by block, through the kernel;
// a checkpoint at block boundaries when one is due.
void stream_steps(const TrajectoryReader& reader, const AnalysisPlan& plan, int64_t first_step, KernelBuffers& buffers,
                  PassState& state, Checkpointer& checkpoint, PhaseTimer& phases, const RowSink& rows, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  const int64_t transitions = reader.shape().steps - 1;
  const int64_t items = block_items_per_transition(plan.slab.count, plan.kernel.tokens_per_item);
  ProgressLine progress(plan.config.memory.progress_seconds, transitions - first_step, rank == 0);
  StepStream stream(reader, plan.slab, plan.max_slab, stream_layout(plan, first_step));
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
  std::unique_ptr<KernelBuffers> buffers;
  collectively(comm, [&] {
    buffers = std::make_unique<KernelBuffers>(plan, slab_dead, reader.shape().dims,
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
