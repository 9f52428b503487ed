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
#include "analysis/tally_archive.hpp"
#include "io/step_stream.hpp"
#include "kokkos_kernels/block_analysis.hpp"
#include "parallel/errors.hpp"
#include "parallel/memory.hpp"
#include "parallel/partition.hpp"

namespace latdisp {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

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
    for (int p = 0; p < 2; ++p) {
      population[p].tally.merge(item.population[p]);
      for (int f = 0; f < kSeriesFields; ++f)
        population[p].series[f][static_cast<size_t>(step)] += item.population[p].counts[f];
    }
    ulp.merge(item.ulp);
  }
  void save(ArchiveWriter& archive) const {
    for (int p = 0; p < 2; ++p) {
      const std::string name = p == 0 ? "live" : "dead";
      save_tally(archive, name, population[p].tally);
      for (int f = 0; f < kSeriesFields; ++f)
        archive.put_ints(name + ".series." + std::to_string(f), population[p].series[f]);
    }
    save_tally(archive, "ulp", ulp);
  }
  void load(ArchiveReader& archive) {
    for (int p = 0; p < 2; ++p) {
      const std::string name = p == 0 ? "live" : "dead";
      load_tally(archive, name, population[p].tally);
      for (int f = 0; f < kSeriesFields; ++f) {
        std::vector<int64_t>& series = population[p].series[f];
        series = archive.get_ints(name + ".series." + std::to_string(f), static_cast<int64_t>(series.size()));
      }
    }
    load_tally(archive, "ulp", ulp);
  }
  PopulationResult population[2];  // live, dead
  UlpTally ulp;
};

// Reduces the live/dead tallies to rank 0 and derives "all tokens".
void reduce_tallies(LocalTallies& local, AnalysisResult& result, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  std::vector<int64_t> sums, maxima;
  std::vector<double> minima;
  for (const PopulationResult& p : local.population) {
    sums.insert(sums.end(), p.tally.counts, p.tally.counts + kNumTallyCounts);
    for (const auto& series : p.series) sums.insert(sums.end(), series.begin(), series.end());
    minima.insert(minima.end(), {p.tally.min, -p.tally.max, -p.tally.max_abs, p.tally.int_min, -p.tally.int_max});
    maxima.push_back(p.tally.width);
  }
  sums.insert(sums.end(), {local.ulp.zeros, local.ulp.subnormals, local.ulp.nonfinite});
  maxima.insert(maxima.end(), {local.ulp.max_exponent, -static_cast<int64_t>(local.ulp.min_exponent)});
  const auto reduce = [&](auto& values, MPI_Datatype type, MPI_Op op) {
    MPI_Reduce(rank == 0 ? MPI_IN_PLACE : values.data(), values.data(), static_cast<int>(values.size()), type, op, 0,
               comm);
  };
  reduce(sums, MPI_INT64_T, MPI_SUM);
  reduce(minima, MPI_DOUBLE, MPI_MIN);
  reduce(maxima, MPI_INT64_T, MPI_MAX);
  if (rank != 0) return;

  size_t s = 0, m = 0, x = 0;
  for (int p = 0; p < 2; ++p) {
    PopulationResult& target = result.displacement[p == 0 ? kLiveTokens : kDeadTokens];
    target.tally.reset();
    for (int c = 0; c < kNumTallyCounts; ++c) target.tally.counts[c] = sums[s++];
    for (auto& series : target.series) {
      series.assign(sums.begin() + static_cast<std::ptrdiff_t>(s),
                    sums.begin() + static_cast<std::ptrdiff_t>(s + local.population[p].series[0].size()));
      s += series.size();
    }
    target.tally.min = minima[m++];
    target.tally.max = -minima[m++];
    target.tally.max_abs = -minima[m++];
    target.tally.int_min = minima[m++];
    target.tally.int_max = -minima[m++];
    target.tally.width = static_cast<int32_t>(maxima[x++]);
  }
  result.ulp.zeros = sums[s++];
  result.ulp.subnormals = sums[s++];
  result.ulp.nonfinite = sums[s++];
  result.ulp.max_exponent = static_cast<int32_t>(maxima[x++]);
  result.ulp.min_exponent = static_cast<int32_t>(-maxima[x++]);

  PopulationResult& all = result.displacement[kAllTokens];
  all = result.displacement[kLiveTokens];
  all.tally.merge(result.displacement[kDeadTokens].tally);
  for (int f = 0; f < kSeriesFields; ++f)
    for (size_t t = 0; t < all.series[f].size(); ++t) all.series[f][t] += result.displacement[kDeadTokens].series[f][t];
}

// The integer width of every x (all tokens), on every rank: it sizes the
// saved delta_W_prime.
int32_t all_ranks_integer_width(const LocalTallies& local, MPI_Comm comm) {
  int32_t width = std::max(local.population[0].tally.width, local.population[1].tally.width);
  MPI_Allreduce(MPI_IN_PLACE, &width, 1, MPI_INT32_T, MPI_MAX, comm);
  return width;
}

// What the report tells of the input and the plan, before any step is read.
AnalysisResult result_of_plan(const AnalysisInput& input, const AnalysisPlan& plan, int ranks) {
  AnalysisResult result;
  result.options = plan.options;
  result.ranks = ranks;
  result.kokkos_backend = ExecutionSpace::name();
  result.shape = input.shape();
  result.input_type = input.reader->type_description();
  result.input_format = input.reader->format();
  result.step_numbers = input.reader->step_numbers();
  result.dead_mask_found = input.dead_mask_found;
  for (uint8_t d : input.dead_mask) result.n_dead += d;
  result.memory_budget = plan.memory_budget;
  result.steps_per_block = plan.blocks.steps_per_block;
  result.magnitudes_in_memory = plan.blocks.magnitudes_in_memory;
  result.read_method = plan.block_source == BlockSource::mapped ? "map" : "read";
  result.hop_radius = hop_radius_of(plan.options, input.shape().dims);
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

using ValueBuffer = Kokkos::View<uint16_t***, Kokkos::LayoutRight, DeviceMemory>;

// The block the kernel reads: on the host the stream's values in place (a
// buffer, or the mapped file with its step stride); with device memory of
// its own, the buffer copied there.
BlockValues kernel_block(const StepBlock& step_block, const std::array<ValueBuffer, 2>& values,
                         const std::array<ValueBuffer::HostMirror, 2>& host_values, int64_t slab_tokens, int64_t dims) {
  const std::pair<int64_t, int64_t> steps(0, step_block.steps);
  if (kSeparateDeviceMemory) {
    const size_t buffer = static_cast<size_t>(step_block.buffer);
    auto block = Kokkos::subview(values[buffer], steps, Kokkos::ALL, Kokkos::ALL);
    Kokkos::deep_copy(block, Kokkos::subview(host_values[buffer], steps, Kokkos::ALL, Kokkos::ALL));
    return block;
  }
  const Kokkos::LayoutStride layout(static_cast<size_t>(step_block.steps), static_cast<size_t>(step_block.step_stride),
                                    static_cast<size_t>(slab_tokens), static_cast<size_t>(dims),
                                    static_cast<size_t>(dims), 1);
  return Kokkos::View<const uint16_t***, Kokkos::LayoutStride, DeviceMemory, Kokkos::MemoryUnmanaged>(step_block.values,
                                                                                                      layout);
}

}  // namespace

AnalysisResult analyze_trajectory(const AnalyzeOptions& options, MPI_Comm comm) {
  const PreparedAnalysis prepared = prepare_analysis(options, comm);
  return analyze_trajectory(prepared.input, prepared.plan, comm);
}

AnalysisResult analyze_trajectory(const AnalysisInput& input, const AnalysisPlan& plan, MPI_Comm comm) {
  const Clock::time_point start = Clock::now();
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  const AnalyzeOptions& options = plan.options;
  AnalysisResult result = result_of_plan(input, plan, ranks);
  const TrajectoryReader& reader = *input.reader;
  Checkpointer checkpoint(options, reader, input.dead_mask, comm);
  if (!result.dead_mask_found && rank == 0)
    std::fprintf(stderr, "latdisp analyze: warning: %s; every token is treated as live\n",
                 missing_dead_mask_text(options.input, options.dead_mask).c_str());
  const TrajectoryShape shape = reader.shape();
  const TokenRange slab = plan.slab;
  const int64_t max_slab = plan.max_slab;
  const std::vector<uint8_t> slab_dead(input.dead_mask.begin() + slab.begin,
                                       input.dead_mask.begin() + slab.begin + slab.count);
  const KernelSettings& settings = plan.kernel;
  const bool background_reads = plan.background_reads;
  const bool mapped = plan.block_source == BlockSource::mapped;  // no value buffers then
  const bool per_token = !options.per_token.empty();
  const int64_t block_steps = plan.blocks.steps_per_block;

  const int64_t transitions = shape.steps - 1;
  const int64_t items = block_items_per_transition(slab.count, settings.tokens_per_item);
  std::unique_ptr<MagnitudeStore> store;
  collectively(comm, [&] {
    const GeneralValueSpace space{static_cast<int64_t>(plan.blocks.general_bytes / sizeof(uint64_t)),
                                  !plan.blocks.magnitudes_in_memory, options.scratch_dir};
    store = std::make_unique<MagnitudeStore>(slab_dead, transitions, space);
  });

  // Allocated inside collectively(): running out of memory on one rank is one
  // agreed error. Two value blocks when reads run behind compute: the
  // kernel's and the next one.
  using Values = ValueBuffer;
  std::array<Values, 2> values;
  std::array<Values::HostMirror, 2> host_values;
  Kokkos::View<uint8_t*, DeviceMemory> dead;
  ItemTallies tallies;
  RowMagnitudes magnitudes;
  ItemTallies::HostMirror host_tallies;
  RowMagnitudes::HostMirror host_magnitudes;
  collectively(comm, [&] {
    values[0] = Values(Kokkos::view_alloc(Kokkos::WithoutInitializing, "latdisp::analyze::values"),
                       mapped ? 0 : block_steps, slab.count, shape.dims);
    values[1] = Values(Kokkos::view_alloc(Kokkos::WithoutInitializing, "latdisp::analyze::next_values"),
                       background_reads && !mapped ? block_steps : 0, slab.count, shape.dims);
    for (size_t b = 0; b < values.size(); ++b) host_values[b] = Kokkos::create_mirror_view(values[b]);
    dead = decltype(dead)("latdisp::analyze::dead", slab.count);
    auto host_dead = Kokkos::create_mirror_view(dead);
    for (int64_t n = 0; n < slab.count; ++n) host_dead(n) = slab_dead[static_cast<size_t>(n)];
    Kokkos::deep_copy(dead, host_dead);
    tallies = ItemTallies(Kokkos::view_alloc(Kokkos::WithoutInitializing, "latdisp::analyze::tallies"), block_steps - 1,
                          items);
    magnitudes = RowMagnitudes(Kokkos::view_alloc(Kokkos::WithoutInitializing, "latdisp::analyze::magnitudes"),
                               block_steps - 1, slab.count);
    host_tallies = Kokkos::create_mirror_view(tallies);
    host_magnitudes = Kokkos::create_mirror_view(magnitudes);
  });

  TokenMotionTracker motion(false, 0, 0, 0.0);
  collectively(comm, [&] { motion = TokenMotionTracker(per_token, block_steps - 1, slab.count, settings.hop_radius); });

  LocalTallies local(transitions);
  // The checkpoint state: every piece saves and loads itself.
  const auto save_state = [&](ArchiveWriter& archive) {
    local.save(archive);
    store->save(archive);
    motion.save(archive);
  };
  int64_t first_step = 0;
  if (options.resume)
    first_step = checkpoint.restore([&](ArchiveReader& archive, int64_t next_step) {
      local.load(archive);
      store->load(archive);
      motion.load(archive);
      if (store->rows() != next_step * slab.count) archive.damaged("its magnitudes do not cover the steps it claims");
    });
  ProgressLine progress(options.progress_seconds, transitions - first_step, rank == 0);
  StepStream stream(reader, slab, max_slab, block_steps, mapped ? nullptr : host_values[0].data(),
                    background_reads && !mapped ? host_values[1].data() : nullptr, background_reads, first_step,
                    plan.block_source);
  StepBlock step_block;
  for (;;) {
    Clock::time_point phase = Clock::now();
    if (!stream.next(step_block)) break;
    result.timings.read += seconds_since(phase);

    phase = Clock::now();
    const int64_t count = step_block.steps;
    const BlockValues block = kernel_block(step_block, values, host_values, slab.count, shape.dims);
    const int64_t block_transitions = count - 1;
    auto block_tallies = Kokkos::subview(tallies, std::pair<int64_t, int64_t>(0, block_transitions), Kokkos::ALL);
    auto block_magnitudes = Kokkos::subview(magnitudes, std::pair<int64_t, int64_t>(0, block_transitions), Kokkos::ALL);
    analyze_block(block, dead, step_block.final, settings, block_tallies, block_magnitudes, motion.events());
    motion.update(magnitudes, step_block.first_step, block_transitions);
    Kokkos::deep_copy(host_tallies, tallies);
    Kokkos::deep_copy(host_magnitudes, magnitudes);
    for (int64_t t = 0; t < block_transitions; ++t)
      for (int64_t i = 0; i < items; ++i) local.add(step_block.first_step + t, host_tallies(t, i));
    // Also where a stop signal on any rank stops every rank (with --checkpoint-dir: at the
    // boundary below, after the checkpoint).
    collectively(comm, [&] { store->append(host_magnitudes.data(), block_transitions * slab.count); });
    result.timings.compute += seconds_since(phase);
    const int64_t next_step = step_block.first_step + block_transitions;
    progress.update(next_step - first_step);
    if (options.block_pause > 0) std::this_thread::sleep_for(std::chrono::duration<double>(options.block_pause));
    checkpoint.at_block_boundary(next_step, step_block.final, save_state);
  }
  if (checkpoint.enabled()) {
    result.checkpoint = checkpoint.summary();
    result.timings.checkpoint = checkpoint.seconds();
  }

  if (per_token) result.per_token = PerTokenTable{slab, slab_dead, motion.records()};

  // Waiting for the slowest rank's last block is compute, not reduction.
  Clock::time_point phase = Clock::now();
  MPI_Barrier(comm);
  result.timings.compute += seconds_since(phase);
  phase = Clock::now();
  reduce_tallies(local, result, comm);
  result.integer_width = all_ranks_integer_width(local, comm);
  result.magnitude = summarize_magnitudes(*store, slab_dead, transitions, comm);
  result.timings.reduce = seconds_since(phase);
  result.peak_rss = gather_peak_rss(comm);
  result.timings.total = input.open_seconds + seconds_since(start);
  return result;
}

}  // namespace latdisp
