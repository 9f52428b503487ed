#include "optimizer/audit_pass.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <tuple>

#include "analysis/checkpoint.hpp"
#include "analysis/magnitude_keys.hpp"
#include "io/checkpoint_archive.hpp"
#include "optimizer/cell_percentiles.hpp"
#include "parallel/errors.hpp"
#include "parallel/memory.hpp"
#include "parallel/signals.hpp"

namespace latdisp {

using namespace optimizer;
using optimizer::kDecayEligible;
using optimizer::kDecayNoop;
using optimizer::kMismatchW;

namespace {

using Clock = std::chrono::steady_clock;

double now_seconds() {
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

uint64_t budget_of(const OptimizerConfig& o, MPI_Comm comm) { return memory_budget_of(o.memory, comm); }

// Rows go through the kernel in chunks of about this many coordinates: their
// outcomes (32 bytes each) stay in the core's cache until they are folded.
constexpr int64_t kChunkCoordinates = 4096;

// A quarter of the budget holds the |c| keys in memory; the rest spill.
int64_t memory_keys(const OptimizerConfig& o, MPI_Comm comm) {
  return std::max<int64_t>(1024, int64_t(budget_of(o, comm) / 4 / sizeof(uint64_t)));
}

}  // namespace

AuditPass::AuditPass(const OptimizerConfig& options, const AuditInput& input, OptimizerResult& result,
                     bool per_token, MPI_Comm comm)
    : m_input(input),
      m_result(result),
      m_per_token(per_token),
      m_comm(comm),
      m_keys(memory_keys(options, comm), true, options.memory.scratch_dir) {
  MPI_Comm_rank(comm, &m_rank);
  MPI_Comm_size(comm, &m_ranks);
  require_a_token_per_rank(result.tokens, m_ranks, options.input.path);
  m_slab = token_range(result.tokens, m_rank, m_ranks);
  m_max_slab = m_slab.count;
  MPI_Allreduce(MPI_IN_PLACE, &m_max_slab, 1, MPI_INT64_T, MPI_MAX, comm);
  m_settings.rule = options.rule.update_rule;
  m_settings.capability = options.rule.torch_capability;
  m_settings.torch_threads = options.rule.torch_threads;
  m_settings.tokens = result.tokens;
  m_settings.first_token = m_slab.begin;
  m_settings.dims = result.dims;
  m_progress_seconds = options.memory.progress_seconds;
  m_block_pause = options.checkpoint.block_pause;
  m_binned.resize(2 * kSumCount);
  m_candidate_keys = std::max<int64_t>(1024, int64_t(budget_of(options, comm) / 2 / sizeof(uint64_t)));
  m_type = input.tensors[0]->element_type();
  plan(options);
  const size_t transitions = static_cast<size_t>(result.steps - 1);
  result.counts.assign(transitions * 2, {});
  result.sums.assign(transitions * 2, {});
  result.dead = input.dead;
  if (per_token) {
    TokenAudit& p = result.per_token;
    const size_t n = static_cast<size_t>(m_slab.count);
    p.swallowed.assign(n, 0);
    p.moved.assign(n, 0);
    p.last_moved.assign(n, -1);
    p.last_half_cell.assign(n, -1);
    p.replay_mismatches.assign(n, 0);
    p.intended_l1.assign(n, 0.0);
    p.lost_l1.assign(n, 0.0);
  }
}

// The largest block of transitions whose four tensors fit in half the
// budget, the same on every rank.
void AuditPass::plan(const OptimizerConfig& options) {
  const uint64_t budget = budget_of(options, m_comm);
  m_result.memory_budget = budget;
  const uint64_t step_bytes = uint64_t(m_max_slab) * uint64_t(m_result.dims);
  const uint64_t value_bytes = uint64_t(formats::element_bytes(m_type)) + 4;  // the rule's format and as stored
  const uint64_t per_transition = step_bytes * 4 * value_bytes;  // outcomes: one chunk of rows, not counted
  const uint64_t usable = budget / 2;
  int64_t steps = 0;
  if (usable > step_bytes * 4 * value_bytes) steps = int64_t((usable - step_bytes * 4 * value_bytes) / per_transition);
  if (steps < 1)
    fail(kExitUsage, "--memory-budget " + format_bytes(budget) + " is too small: one step of the four tensors of " +
                         "this rank's " + std::to_string(m_max_slab) + " tokens needs " +
                         format_bytes(2 * (step_bytes * 4 * value_bytes + per_transition)) +
                         " (raise it or use more ranks)");
  const int64_t max_steps = options.memory.max_steps_per_block;
  if (max_steps >= 2) steps = std::min<int64_t>(steps, max_steps - 1);
  steps = std::min<int64_t>(steps, m_result.steps - 1);
  MPI_Allreduce(MPI_IN_PLACE, &steps, 1, MPI_INT64_T, MPI_MIN, m_comm);
  m_block_steps = steps;
  m_result.steps_per_block = steps + 1;
}

template <>
std::vector<uint16_t>& AuditPass::values<formats::BF16>(int tensor) {
  return m_bf16[tensor];
}
template <>
std::vector<uint32_t>& AuditPass::values<formats::F32>(int tensor) {
  return m_f32[tensor];
}

namespace {

std::string hex_bits(uint32_t v) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", v);
  return text;
}

// `count` values stored as `stored` into the rule's format F: bf16 widens
// exactly to f32; f32 narrows to bf16 only where the value is a bf16 value.
template <class F>
void convert_values(const unsigned char* raw, formats::ElementType stored, int64_t count,
                    typename F::bits_type* out, const std::string& what) {
  using Bits = typename F::bits_type;
  if (stored == formats::ElementType::f32 && sizeof(Bits) == 2) {
    for (int64_t i = 0; i < count; ++i) {
      uint32_t v;
      std::memcpy(&v, raw + 4 * i, 4);
      if (v & 0xFFFFu)
        fail(kExitInput, what + " holds float32 values that are not bfloat16 values (" + hex_bits(v) +
                             "): it is not a tensor of a bfloat16 parameter's step");
      out[i] = Bits(v >> 16);
    }
  } else if (stored == formats::ElementType::bf16 && sizeof(Bits) == 4) {
    for (int64_t i = 0; i < count; ++i) {
      uint16_t v;
      std::memcpy(&v, raw + 2 * i, 2);
      out[i] = Bits(uint32_t(v) << 16);
    }
  } else {
    std::memcpy(out, raw, size_t(count) * sizeof(Bits));
  }
}

const char* const kRoles[4] = {"W", "the gradient", "exp_avg", "exp_avg_sq"};

}  // namespace

template <class F>
void AuditPass::read_block(int64_t first, int64_t count) {
  const int64_t values_count = count * m_slab.count * m_result.dims;
  for (int i = 0; i < 4; ++i) {
    const TrajectoryReader& reader = *m_input.tensors[i];
    values<F>(i).resize(size_t(values_count));
    if (reader.element_bytes() == int64_t(sizeof(typename F::bits_type)) &&
        (reader.element_type() == formats::ElementType::f32) == (sizeof(typename F::bits_type) == 4)) {
      // Stored in the rule's format: read in place, no copy.
      reader.read_steps(m_slab, first, count, m_max_slab, reinterpret_cast<unsigned char*>(values<F>(i).data()));
      continue;
    }
    m_raw.resize(size_t(values_count * reader.element_bytes()));
    reader.read_steps(m_slab, first, count, m_max_slab, m_raw.data());
    collectively(m_comm, [&] {
      convert_values<F>(m_raw.data(), reader.element_type(), values_count, values<F>(i).data(),
                        std::string(kRoles[i]) + " '" + reader.dataset() + "'");
    });
  }
}

void AuditPass::run(Checkpointer& checkpoint) {
  if (m_type == formats::ElementType::f32) run_typed<formats::F32>(checkpoint);
  else run_typed<formats::BF16>(checkpoint);
}

template <class F>
void AuditPass::run_typed(Checkpointer& checkpoint) {
  using Bits = typename F::bits_type;
  const int64_t transitions = m_result.steps - 1;
  m_last_progress = now_seconds();
  const auto save_state = [&](ArchiveWriter& archive) { save(archive); };
  for (int64_t first = m_next_transition; first < transitions; first += m_block_steps) {
    const int64_t count = std::min(m_block_steps, transitions - first);
    m_block_first = first;
    auto start = Clock::now();
    read_block<F>(first, count + 1);
    m_result.read_seconds += std::chrono::duration<double>(Clock::now() - start).count();
    start = Clock::now();
    m_scalars.resize(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
      const int64_t t = first + 1 + i;
      m_scalars[i] = step_scalars(m_result.hyperparameters, m_result.hyperparameters.lr_per_step[t],
                                  m_result.step_counts[t]);
    }
    const int64_t rows = count * m_slab.count;
    const int64_t chunk = std::max<int64_t>(1, kChunkCoordinates / m_result.dims);
    m_outcome.resize(static_cast<size_t>(chunk * m_result.dims));
    using Unmanaged = Kokkos::MemoryTraits<Kokkos::Unmanaged>;
    auto view = [&](int i) { return Kokkos::View<const Bits*, Unmanaged>(values<F>(i).data(), values<F>(i).size()); };
    collectively(m_comm, [&] {
      // Chunks of rows through the kernel, each folded while its outcomes are in cache.
      for (int64_t row = 0; row < rows; row += chunk) {
        const int64_t n = std::min(chunk, rows - row);
        audit_block<F>(m_settings, row, n, m_slab.count, view(0), view(1), view(2), view(3),
                       Kokkos::View<const StepScalars*, Unmanaged>(m_scalars.data(), m_scalars.size()),
                       Kokkos::View<CoordinateOutcome*, Unmanaged>(m_outcome.data(), m_outcome.size()));
        fold_rows(first, row, n);
      }
      flush_sums();
    });
    m_result.compute_seconds += std::chrono::duration<double>(Clock::now() - start).count();
    progress(first + count);
    if (m_block_pause > 0) std::this_thread::sleep_for(std::chrono::duration<double>(m_block_pause));
    if (checkpoint.enabled()) checkpoint.at_block_boundary(first + count, first + count >= transitions, save_state);
    else stop_if_signalled(m_comm);
  }
}

void AuditPass::progress(int64_t done) {
  if (m_rank != 0 || m_progress_seconds <= 0) return;
  const double now = now_seconds();
  if (now - m_last_progress < m_progress_seconds) return;
  m_last_progress = now;
  std::fprintf(stderr, "latdisp optimizer: %lld of %lld steps audited\n", static_cast<long long>(done),
               static_cast<long long>(m_result.steps - 1));
}

void AuditPass::fold_rows(int64_t first, int64_t first_row, int64_t rows) {
  const int64_t dims = m_result.dims;
  for (int64_t row = first_row; row < first_row + rows; ++row) {
    const int64_t t = first + 1 + row / m_slab.count;
    bind_sums(t);
    fold_row(t, row % m_slab.count, m_outcome.data() + (row - first_row) * dims);
  }
}

// The binned sums accumulate into step t's exact sums from now on.
void AuditPass::bind_sums(int64_t t) {
  if (t == m_sums_step) return;
  for (int p = 0; p < 2; ++p)
    for (int k = 0; k < kSumCount; ++k)
      m_binned[size_t(p * kSumCount + k)].start(&m_result.sums[size_t((t - 1) * 2 + p)][size_t(k)]);
  m_sums_step = t;
}

// Everything binned so far into the exact sums (before a checkpoint or the reduction).
void AuditPass::flush_sums() {
  for (BinnedSum& sum : m_binned) sum.flush();
}

// One row's outcomes into the step's counters, sums and keys. The counts
// accumulate in locals (no chain of increments through memory) and go into
// the step's counters once per row. A non-finite coordinate has u = Delta = 0
// and neither kMoved nor kHalfCellOrMore: it adds nothing to the sums.
void AuditPass::fold_row(int64_t t, int64_t n, const CoordinateOutcome* row) {
  const int population = m_input.dead.empty() || !m_input.dead[m_slab.begin + n] ? kAuditLive : kAuditDead;
  auto& c = m_result.counts[static_cast<size_t>((t - 1) * 2 + population)];
  BinnedSum* s = &m_binned[size_t(population * kSumCount)];
  int64_t classes[kClassCount] = {};
  int64_t sub_half = 0, sub_half_moved = 0, eligible = 0, noop = 0, mismatch[3] = {0, 0, 0};
  int64_t shifts[2][4] = {{0, 0, 0, 0}, {0, 0, 0, 0}};  // [exp_avg, exp_avg_sq][0 same, 1 up, 2 down, 3 n/a]
  uint32_t any_flags = 0;
  double intended = 0, lost = 0;
  for (int64_t d = 0; d < m_result.dims; ++d) {
    const CoordinateOutcome& o = row[d];
    const uint32_t f = o.flags;
    ++classes[o.cls];
    any_flags |= f;
    sub_half += (f & kSubHalfCell) != 0;
    sub_half_moved += (f & (kSubHalfCell | kMoved)) == (kSubHalfCell | kMoved);
    ++shifts[0][(f >> kExpAvgShift) & 3u];
    ++shifts[1][(f >> kExpAvgSqShift) & 3u];
    eligible += (f & kDecayEligible) != 0;
    noop += (f & kDecayNoop) != 0;
    mismatch[0] += (f & kMismatchW) != 0;
    mismatch[1] += (f & kMismatchExpAvg) != 0;
    mismatch[2] += (f & kMismatchExpAvgSq) != 0;
    if ((f & (kMismatchW | kMismatchExpAvg | kMismatchExpAvgSq)) && m_result.first_mismatches.size() < 20)
      note_mismatches(t, n, d, f);
    const double gap = std::fabs(o.u - o.delta);
    s[kIntendedL1].add(std::fabs(o.u));
    s[kRealizedL1].add(std::fabs(o.delta));
    s[kLostL1].add(gap);
    s[kDot].add(o.u * o.delta);
    s[kIntendedSq].add(o.u * o.u);
    intended += std::fabs(o.u);
    lost += gap;
    if (o.u != 0) {
      const uint64_t key = magnitude_key(o.cells, population == kAuditDead);
      m_keys.push(key);
      m_top.count(key);
    }
  }
  for (int k = 0; k < kClassCount; ++k) c[kClassFirst + k] += classes[k];
  c[kCompared] += m_result.dims;
  c[kSubHalfCellCount] += sub_half;
  c[kSubHalfCellMoved] += sub_half_moved;
  for (int state = 0; state < 2; ++state) {
    const int first = state == 0 ? kExpAvgIncreased : kExpAvgSqIncreased;
    c[first] += shifts[state][1], c[first + 1] += shifts[state][0], c[first + 2] += shifts[state][2];
  }
  c[kCountDecayEligible] += eligible;
  c[kCountDecayNoop] += noop;
  for (int k = 0; k < 3; ++k) c[kCountMismatchW + k] += mismatch[k];
  const bool finite = classes[kNonfinite] == 0;
  const bool frozen = finite && !(any_flags & kMoved), predicted_frozen = finite && !(any_flags & kHalfCellOrMore);
  ++c[frozen ? (predicted_frozen ? kFrozenAsPredicted : kFrozenThoughPredictedMoving)
             : (predicted_frozen ? kMovedThoughPredictedFrozen : kMovedAsPredicted)];
  if (!m_per_token) return;
  TokenAudit& p = m_result.per_token;
  p.swallowed[n] += classes[kSwallowed];
  p.replay_mismatches[n] += mismatch[0] + mismatch[1] + mismatch[2];
  p.intended_l1[n] += intended;
  p.lost_l1[n] += lost;
  if (!frozen) ++p.moved[n], p.last_moved[n] = t;
  if (any_flags & kHalfCellOrMore) p.last_half_cell[n] = t;
}

void AuditPass::note_mismatches(int64_t t, int64_t n, int64_t d, uint32_t flags) {
  if (m_type == formats::ElementType::f32) note_mismatches_typed<formats::F32>(t, n, d, flags);
  else note_mismatches_typed<formats::BF16>(t, n, d, flags);
}

// Keeps this rank's first 20 mismatches in (step, token, dim, tensor) order.
template <class F>
void AuditPass::note_mismatches_typed(int64_t t, int64_t n, int64_t d, uint32_t flags) {
  if (m_result.first_mismatches.size() >= 20) return;
  const int64_t step_values = m_slab.count * m_result.dims;
  const int64_t i = t - 1 - m_block_first;
  const int64_t before = i * step_values + n * m_result.dims + d, after = before + step_values;
  const int64_t flat = (m_slab.begin + n) * m_result.dims + d;
  const bool lane = torch_vector_lane(flat, m_result.tokens * m_result.dims, m_settings.torch_threads,
                                      torch_loop_lanes<F>(m_settings.capability));
  const auto r = replay_step<F>(m_settings.rule, values<F>(0)[before], values<F>(1)[after], values<F>(2)[before],
                                values<F>(3)[before], m_scalars[i], m_settings.capability, lane);
  const uint64_t replayed[3] = {r.w, r.exp_avg, r.exp_avg_sq};
  for (int k = 0; k < 3 && m_result.first_mismatches.size() < 20; ++k) {
    if (!(flags & (kMismatchW << k))) continue;
    const char* operation = k == 1 || (flags & kMismatchExpAvg) ? "exp_avg_update"
                            : k == 2 || (flags & kMismatchExpAvgSq) ? "exp_avg_sq_update"
                                                                     : "parameter_update";
    m_result.first_mismatches.push_back(
        {t, m_slab.begin + n, d, k, uint64_t(values<F>(k == 0 ? 0 : k + 1)[after]), replayed[k], operation});
  }
}

namespace {

const char* const kOperations[3] = {"parameter_update", "exp_avg_update", "exp_avg_sq_update"};

// Mismatches as 7 integers each (the operation by its index), and back.
std::vector<int64_t> flatten_mismatches(const std::vector<FirstMismatch>& mismatches) {
  std::vector<int64_t> flat;
  for (const FirstMismatch& m : mismatches) {
    const int64_t op = std::find_if(std::begin(kOperations), std::end(kOperations),
                                    [&](const char* name) { return m.operation == name; }) - std::begin(kOperations);
    flat.insert(flat.end(), {m.step, m.token, m.dim, m.tensor, int64_t(m.recorded_bits), int64_t(m.replayed_bits), op});
  }
  return flat;
}

std::vector<FirstMismatch> unflatten_mismatches(const std::vector<int64_t>& all) {
  std::vector<FirstMismatch> result;
  for (size_t i = 0; i + 7 <= all.size(); i += 7)
    result.push_back({all[i], all[i + 1], all[i + 2], int(all[i + 3]), uint64_t(all[i + 4]), uint64_t(all[i + 5]),
                      kOperations[std::min<int64_t>(std::max<int64_t>(all[i + 6], 0), 2)]});
  return result;
}

// Every rank's first mismatches to rank 0, the first 20 overall kept there.
std::vector<FirstMismatch> gather_first_mismatches(const std::vector<FirstMismatch>& mine, MPI_Comm comm) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  const std::vector<int64_t> flat = flatten_mismatches(mine);
  int length = int(flat.size());
  std::vector<int> lengths(ranks), offsets(ranks, 0);
  MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, comm);
  for (int r = 1; r < ranks; ++r) offsets[r] = offsets[r - 1] + lengths[r - 1];
  std::vector<int64_t> all(rank == 0 ? size_t(offsets[ranks - 1] + lengths[ranks - 1]) : 0);
  MPI_Gatherv(flat.data(), length, MPI_INT64_T, all.data(), lengths.data(), offsets.data(), MPI_INT64_T, 0, comm);
  std::vector<FirstMismatch> result = unflatten_mismatches(all);
  std::sort(result.begin(), result.end(), [](const FirstMismatch& a, const FirstMismatch& b) {
    return std::tie(a.step, a.token, a.dim, a.tensor) < std::tie(b.step, b.token, b.dim, b.tensor);
  });
  if (result.size() > 20) result.resize(20);
  return result;
}

}  // namespace

void AuditPass::reduce() {
  const auto start = Clock::now();
  std::vector<int64_t> counts;
  for (const auto& c : m_result.counts) counts.insert(counts.end(), c.begin(), c.end());
  MPI_Reduce(m_rank == 0 ? MPI_IN_PLACE : counts.data(), counts.data(), int(counts.size()), MPI_INT64_T, MPI_SUM, 0,
             m_comm);
  for (size_t i = 0; i < m_result.counts.size(); ++i)
    std::copy(counts.begin() + i * kCounterCount, counts.begin() + (i + 1) * kCounterCount, m_result.counts[i].begin());
  std::vector<WideSum> sums;
  for (const auto& s : m_result.sums) sums.insert(sums.end(), s.begin(), s.end());
  reduce_to_root(sums, m_comm);
  for (size_t i = 0; i < m_result.sums.size(); ++i)
    std::copy(sums.begin() + i * kSumCount, sums.begin() + (i + 1) * kSumCount, m_result.sums[i].begin());
  // The block buffers are done with: their half of the budget holds the percentile candidates.
  for (auto& v : m_bf16) std::vector<uint16_t>().swap(v);
  for (auto& v : m_f32) std::vector<uint32_t>().swap(v);
  std::vector<unsigned char>().swap(m_raw);
  m_result.percentiles = cell_percentiles(m_keys, m_top, m_candidate_keys, m_comm);
  m_result.first_mismatches = gather_first_mismatches(m_result.first_mismatches, m_comm);
  m_result.reduce_seconds = std::chrono::duration<double>(Clock::now() - start).count();
}

// Checkpoint: this rank's counters, exact sums, |c| keys, first mismatches
// and per-token table (docs/formats.md §13).
void AuditPass::save(ArchiveWriter& archive) const {
  std::vector<int64_t> counts, digits(WideSum::kDigits);
  for (const auto& c : m_result.counts) counts.insert(counts.end(), c.begin(), c.end());
  archive.put_ints("optimizer.counts", counts);
  archive.begin_ints("optimizer.sums", int64_t(m_result.sums.size()) * kSumCount * WideSum::kDigits);
  for (const auto& step : m_result.sums)
    for (const WideSum& sum : step) {
      sum.digits(digits.data());
      archive.add_ints(digits.data(), WideSum::kDigits);
    }
  m_keys.save(archive, "optimizer.cells");
  archive.put_ints("optimizer.first_mismatches", flatten_mismatches(m_result.first_mismatches));
  if (!m_per_token) return;
  const TokenAudit& p = m_result.per_token;
  archive.put_ints("optimizer.token.swallowed", p.swallowed);
  archive.put_ints("optimizer.token.moved", p.moved);
  archive.put_ints("optimizer.token.last_moved", p.last_moved);
  archive.put_ints("optimizer.token.last_half_cell", p.last_half_cell);
  archive.put_ints("optimizer.token.replay_mismatches", p.replay_mismatches);
  archive.put_doubles("optimizer.token.intended_l1", p.intended_l1);
  archive.put_doubles("optimizer.token.lost_l1", p.lost_l1);
}

void AuditPass::load(ArchiveReader& archive, int64_t next_transition) {
  if (next_transition < 0 || next_transition > m_result.steps - 1)
    archive.damaged("its next step " + std::to_string(next_transition) + " is not a step of this input");
  const std::vector<int64_t> counts =
      archive.get_ints("optimizer.counts", int64_t(m_result.counts.size()) * kCounterCount);
  for (size_t i = 0; i < m_result.counts.size(); ++i)
    std::copy(counts.begin() + i * kCounterCount, counts.begin() + (i + 1) * kCounterCount, m_result.counts[i].begin());
  const std::vector<int64_t> digits =
      archive.get_ints("optimizer.sums", int64_t(m_result.sums.size()) * kSumCount * WideSum::kDigits);
  const int64_t* next = digits.data();
  for (auto& step : m_result.sums)
    for (WideSum& sum : step) sum = WideSum::from_digits(next), next += WideSum::kDigits;
  m_keys.load(archive, "optimizer.cells");
  m_top.recount(m_keys);
  m_result.first_mismatches = unflatten_mismatches(archive.get_ints("optimizer.first_mismatches"));
  if (m_result.first_mismatches.size() > 20) archive.damaged("it holds more than 20 first mismatches");
  if (m_per_token) {
    TokenAudit& p = m_result.per_token;
    const int64_t n = m_slab.count;
    p.swallowed = archive.get_ints("optimizer.token.swallowed", n);
    p.moved = archive.get_ints("optimizer.token.moved", n);
    p.last_moved = archive.get_ints("optimizer.token.last_moved", n);
    p.last_half_cell = archive.get_ints("optimizer.token.last_half_cell", n);
    p.replay_mismatches = archive.get_ints("optimizer.token.replay_mismatches", n);
    p.intended_l1 = archive.get_doubles("optimizer.token.intended_l1", n);
    p.lost_l1 = archive.get_doubles("optimizer.token.lost_l1", n);
  }
  m_next_transition = next_transition;
}

void AuditPass::restore(Checkpointer& checkpoint) {
  checkpoint.restore([&](ArchiveReader& archive, int64_t next_transition) { load(archive, next_transition); });
}

}  // namespace latdisp
