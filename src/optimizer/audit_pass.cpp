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
#include "io/block_plan.hpp"
#include "io/checkpoint_archive.hpp"
#include "optimizer/cell_percentiles.hpp"
#include "optimizer/key_selection.hpp"
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

// Rows of one step go through the kernel in chunks of about this many
// coordinates: their outcomes (four arrays, 28 bytes a coordinate) stay in
// the core's cache until they are folded.
constexpr int64_t kChunkCoordinates = 4096;

}  // namespace

AuditPass::AuditPass(const OptimizerConfig& options, const AuditInput& input, OptimizerResult& result,
                     bool per_token, PhaseTimer& phases, MPI_Comm comm)
    : m_input(input),
      m_result(result),
      m_per_token(per_token),
      m_phases(phases),
      m_comm(comm) {
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
  // A quarter of the budget holds the percentile candidates, beside the blocks of the second pass.
  m_candidate_keys = std::max<int64_t>(1024, int64_t(budget_of(options, comm) / 4 / sizeof(uint64_t)));
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

// The largest block of snapshots whose four tensors fit in half the budget
// (io/block_plan), the same on every rank; a block of k + 1 snapshots audits
// k transitions.
void AuditPass::plan(const OptimizerConfig& options) {
  const uint64_t budget = budget_of(options, m_comm);
  m_result.memory_budget = budget;
  const uint64_t step_bytes = uint64_t(m_max_slab) * uint64_t(m_result.dims);
  const uint64_t value_bytes = uint64_t(formats::element_bytes(m_type)) + 4;  // the rule's format and as stored
  BlockCost cost;
  cost.steps = std::max<int64_t>(2, m_result.steps);
  cost.min_steps = 2;
  cost.bytes_per_step = step_bytes * 4 * value_bytes;  // outcomes: one chunk of rows, not counted
  cost.preferred_step_bytes = step_bytes * 4 * uint64_t(formats::element_bytes(m_type));
  cost.transfer_step_bytes = step_bytes * 4;  // one tensor's step as stored (at most 4 bytes a value)
  const uint64_t usable = budget / 2;
  if (usable < 2 * cost.bytes_per_step)
    fail(kExitUsage, "--memory-budget " + format_bytes(budget) + " is too small: one step of the four tensors of " +
                         "this rank's " + std::to_string(m_max_slab) + " tokens needs " +
                         format_bytes(4 * cost.bytes_per_step) + " (raise it or use more ranks)");
  // Half the budget holds the blocks: the planner's library margin comes on top of that half.
  const int64_t max_steps = options.memory.max_steps_per_block >= 2 ? options.memory.max_steps_per_block : 0;
  const BlockPlan blocks = plan_blocks(cost, usable + kLibraryMarginBytes, m_comm, max_steps);
  m_block_steps = std::min<int64_t>(blocks.steps_per_block - 1, std::max<int64_t>(1, m_result.steps - 1));
  m_result.steps_per_block = m_block_steps + 1;
}

template <>
UninitializedBuffer<uint16_t>& AuditPass::values<formats::BF16>(int tensor) {
  return m_bf16[tensor];
}
template <>
UninitializedBuffer<uint32_t>& AuditPass::values<formats::F32>(int tensor) {
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

// Snapshots first .. first + count - 1 of the four tensors (of W, exp_avg
// and exp_avg_sq alone without `with_gradient`).
template <class F>
void AuditPass::read_block(int64_t first, int64_t count, bool with_gradient) {
  const int64_t values_count = count * m_slab.count * m_result.dims;
  for (int i = 0; i < 4; ++i) {
    if (i == 1 && !with_gradient) continue;
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
  const int64_t transitions = m_result.steps - 1;
  m_last_progress = now_seconds();
  m_chunk_rows = std::max<int64_t>(1, std::min(m_slab.count, kChunkCoordinates / m_result.dims));
  const size_t chunk = size_t(m_chunk_rows * m_result.dims);
  m_u.resize(chunk), m_delta.resize(chunk), m_cells.resize(chunk), m_flags.resize(chunk), m_chunk_bins.resize(chunk);
  m_terms.resize(size_t(std::min<int64_t>(int64_t(chunk), kExactChunkTerms)));
  const auto save_state = [&](ArchiveWriter& archive) { save(archive); };
  for (int64_t first = m_next_transition; first < transitions; first += m_block_steps) {
    const int64_t count = std::min(m_block_steps, transitions - first);
    m_block_first = first;
    m_phases.enter("read");
    read_block<F>(first, count + 1);
    // The kernel and the fold of its outcomes alternate chunk by chunk (while
    // in cache): one phase, since a clock read per chunk would cost more than
    // a chunk's fold.
    m_phases.enter("replay");
    block_scalars(first, count);
    collectively(m_comm, [&] {
      for (int64_t i = 0; i < count; ++i) audit_step<F>(i, first + 1 + i);
      m_phases.enter("agree");  // the agreement itself: waiting for every rank to reach it
    });
    progress(first + count);
    if (m_block_pause > 0) {
      m_phases.enter("block_pause");
      std::this_thread::sleep_for(std::chrono::duration<double>(m_block_pause));
    }
    if (checkpoint.enabled()) {
      m_phases.enter("checkpoint");
      checkpoint.at_block_boundary(first + count, first + count >= transitions, save_state);
    } else {
      m_phases.enter("agree");
      stop_if_signalled(m_comm);
    }
  }
}

// The scalars of the block's steps first + 1 .. first + count.
void AuditPass::block_scalars(int64_t first, int64_t count) {
  m_scalars.resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const int64_t t = first + 1 + i;
    m_scalars[i] =
        step_scalars(m_result.hyperparameters, m_result.hyperparameters.lr_per_step[t], m_result.step_counts[t]);
  }
}

// Step i of the block (transition t): chunks of rows of one step through the
// kernel, each folded while its outcomes are in cache.
template <class F>
void AuditPass::audit_step(int64_t i, int64_t t) {
  using Bits = typename F::bits_type;
  using Unmanaged = Kokkos::MemoryTraits<Kokkos::Unmanaged>;
  auto view = [&](int k) { return Kokkos::View<const Bits*, Unmanaged>(values<F>(k).data(), values<F>(k).size()); };
  using Values = decltype(ChunkOutcomes::u);
  const ChunkOutcomes outcome{Values(m_u.data(), m_u.size()), Values(m_delta.data(), m_delta.size()),
                              Values(m_cells.data(), m_cells.size()),
                              decltype(ChunkOutcomes::flags)(m_flags.data(), m_flags.size())};
  for (int64_t n0 = 0; n0 < m_slab.count; n0 += m_chunk_rows) {
    const int64_t rows = std::min(m_chunk_rows, m_slab.count - n0);
    audit_block<F>(m_settings, i * m_slab.count + n0, rows, m_slab.count, view(0), view(1), view(2), view(3),
                   Kokkos::View<const StepScalars*, Unmanaged>(m_scalars.data(), m_scalars.size()), outcome);
    fold_chunk(t, n0, rows);
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

int AuditPass::population(int64_t n) const {
  return m_input.dead.empty() || !m_input.dead[m_slab.begin + n] ? kAuditLive : kAuditDead;
}

// The chunk's rows (tokens n0 .. n0 + rows - 1 of step t) in runs of one population.
void AuditPass::fold_chunk(int64_t t, int64_t n0, int64_t rows) {
  for (int64_t begin = 0; begin < rows;) {
    const int p = population(n0 + begin);
    int64_t end = begin + 1;
    while (end < rows && population(n0 + end) == p) ++end;
    fold_segment(t, p, n0, begin, end);
    begin = end;
  }
}

namespace {

// The flags' bits 0 .. 19 (docs: audit_block.hpp), and three of their pairs
// as bits 20, 28, 30: kSubHalfCell and kMoved both set; exp_avg's and
// exp_avg_sq's 2-bit shift fields 3 (not finite).
constexpr int kBothShift = 20;
constexpr uint32_t kPairLowBits = kSubHalfCell | 1u << kExpAvgShift | 1u << kExpAvgSqShift;
static_assert(kMoved == kSubHalfCell << 1 && kClassShift + kClassCount <= kBothShift, "the pairs' bits are free");

constexpr int bit_of(uint32_t flag) { return flag == 1 ? 0 : 1 + bit_of(flag >> 1); }

KOKKOS_FORCEINLINE_FUNCTION uint32_t with_pairs(uint32_t flags) {
  return flags | (flags & flags >> 1 & kPairLowBits) << kBothShift;
}

// How many of the flags have each bit of with_pairs(flags): one flat pass
// that adds every bit j, 8 + j, 16 + j, 24 + j at once in the four bytes of
// a 32-bit counter (bit slices; vectorised), emptied every 255 flags before
// a byte overflows.
std::array<int64_t, 32> count_bits(const uint32_t* flags, int64_t count) {
  std::array<int64_t, 32> bits{};
  for (int64_t begin = 0; begin < count; begin += 255) {
    const int64_t end = std::min(count, begin + 255);
    uint32_t slices[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t k = begin; k < end; ++k) {
      const uint32_t f = with_pairs(flags[k]);
      for (int j = 0; j < 8; ++j) slices[j] += f >> j & 0x01010101u;
    }
    for (int j = 0; j < 8; ++j)
      for (int byte = 0; byte < 4; ++byte) bits[size_t(8 * byte + j)] += slices[j] >> (8 * byte) & 0xFFu;
  }
  return bits;
}

// The counters of count coordinates' flags (a state's shift field: 1
// increased, 2 decreased, 0 unchanged, 3 not finite).
void add_flag_counts(const uint32_t* flags, int64_t count, std::array<int64_t, kCounterCount>& c) {
  const std::array<int64_t, 32> bits = count_bits(flags, count);
  for (int k = 0; k < kClassCount; ++k) c[size_t(kClassFirst + k)] += bits[size_t(kClassShift + k)];
  c[kSubHalfCellCount] += bits[bit_of(kSubHalfCell)];
  c[kSubHalfCellMoved] += bits[kBothShift];
  const int states[2][2] = {{kExpAvgShift, kExpAvgIncreased}, {kExpAvgSqShift, kExpAvgSqIncreased}};
  for (const auto& state : states) {
    const int64_t low = bits[size_t(state[0])], high = bits[size_t(state[0] + 1)];
    const int64_t both = bits[size_t(state[0] + kBothShift)];
    c[size_t(state[1])] += low - both;
    c[size_t(state[1] + 1)] += count - low - high + both;
    c[size_t(state[1] + 2)] += high - both;
  }
  c[kCountDecayEligible] += bits[bit_of(kDecayEligible)];
  c[kCountDecayNoop] += bits[bit_of(kDecayNoop)];
  static_assert(kMismatchExpAvg == kMismatchW << 1 && kMismatchExpAvgSq == kMismatchW << 2, "W, exp_avg, exp_avg_sq");
  for (int k = 0; k < 3; ++k) c[size_t(kCountMismatchW + k)] += bits[size_t(bit_of(kMismatchW) + k)];
}

// How many of the flags match (a row's per-token counts): one flat pass,
// vectorised with 32-bit lanes, in pieces whose counts fit them.
int64_t count_matching(const uint32_t* flags, int64_t count, uint32_t mask, uint32_t value) {
  constexpr int64_t kPiece = int64_t(1) << 30;
  int64_t matching = 0;
  for (int64_t begin = 0; begin < count; begin += kPiece) {
    const int64_t end = std::min(count, begin + kPiece);
    uint32_t piece = 0;
    for (int64_t k = begin; k < end; ++k) piece += uint32_t((flags[k] & mask) == value);
    matching += piece;
  }
  return matching;
}

}  // namespace

// Rows begin .. end - 1 of the chunk, all of population p: counters, per-row
// results, exact sums, |c| keys, first mismatches. A non-finite coordinate
// has u = Delta = 0 and neither kMoved nor kHalfCellOrMore: it adds nothing
// to the sums.
void AuditPass::fold_segment(int64_t t, int p, int64_t n0, int64_t begin, int64_t end) {
  const int64_t dims = m_result.dims, k0 = begin * dims, count = (end - begin) * dims;
  auto& c = m_result.counts[static_cast<size_t>((t - 1) * 2 + p)];
  const uint32_t* flags = m_flags.data() + k0;
  const int64_t mismatches_before = c[kCountMismatchW] + c[kCountMismatchW + 1] + c[kCountMismatchW + 2];
  add_flag_counts(flags, count, c);
  c[kCompared] += count;
  for (int64_t r = begin; r < end; ++r) fold_row(t, n0 + r, r * dims, c);
  add_sums(k0, count, m_result.sums[static_cast<size_t>((t - 1) * 2 + p)]);
  count_keys(k0, count, p == kAuditDead);
  const bool mismatched = c[kCountMismatchW] + c[kCountMismatchW + 1] + c[kCountMismatchW + 2] > mismatches_before;
  if (!mismatched || m_result.first_mismatches.size() >= 20) return;
  const uint32_t any_mismatch = kMismatchW | kMismatchExpAvg | kMismatchExpAvgSq;
  for (int64_t k = 0; k < count && m_result.first_mismatches.size() < 20; ++k)
    if (flags[k] & any_mismatch) note_mismatches(t, n0 + begin + k / dims, k % dims, flags[k]);
}

// One row's freeze prediction and per-token results (its outcomes at k0).
void AuditPass::fold_row(int64_t t, int64_t n, int64_t k0, std::array<int64_t, kCounterCount>& c) {
  const int64_t dims = m_result.dims;
  const uint32_t* flags = m_flags.data() + k0;
  uint32_t any_flags = 0;
  for (int64_t d = 0; d < dims; ++d) any_flags |= flags[d];
  const bool finite = !(any_flags & class_flag(kNonfinite));
  const bool frozen = finite && !(any_flags & kMoved), predicted_frozen = finite && !(any_flags & kHalfCellOrMore);
  ++c[frozen ? (predicted_frozen ? kFrozenAsPredicted : kFrozenThoughPredictedMoving)
             : (predicted_frozen ? kMovedThoughPredictedFrozen : kMovedAsPredicted)];
  if (!m_per_token) return;
  const double *u = m_u.data() + k0, *delta = m_delta.data() + k0;
  double intended = 0, lost = 0;  // double sums in dim order (docs/optimizer.md §6)
  for (int64_t d = 0; d < dims; ++d) intended += std::fabs(u[d]), lost += std::fabs(u[d] - delta[d]);
  const uint32_t mismatch = kMismatchW | kMismatchExpAvg | kMismatchExpAvgSq;
  TokenAudit& p = m_result.per_token;
  p.swallowed[n] += count_matching(flags, dims, class_flag(kSwallowed), class_flag(kSwallowed));
  if (any_flags & mismatch)
    for (uint32_t bit : {kMismatchW, kMismatchExpAvg, kMismatchExpAvgSq}) p.replay_mismatches[n] += count_matching(flags, dims, bit, bit);
  p.intended_l1[n] += intended;
  p.lost_l1[n] += lost;
  if (!frozen) ++p.moved[n], p.last_moved[n] = t;
  if (any_flags & kHalfCellOrMore) p.last_half_cell[n] = t;
}

namespace {

// The exponent `top` of a largest magnitude's bits: every |x| with those
// bits or fewer is < 2^top.
int top_of(uint64_t largest) {
  const int biased = int(largest >> 52);
  return (biased == 0 ? 1 : biased) - 1022;  // |x| < 2^(e+1) for a normal x of exponent e
}

// Exponents top_a, top_b with every |a[k]| < 2^top_a, |b[k]| < 2^top_b, k <
// count (from the largest magnitudes' bits: one flat pass over both).
void magnitude_tops(const double* a, const double* b, int64_t count, int& top_a, int& top_b) {
  uint64_t largest_a = 0, largest_b = 0;
  for (int64_t k = 0; k < count; ++k) {
    uint64_t bits_a, bits_b;
    std::memcpy(&bits_a, &a[k], sizeof bits_a);
    std::memcpy(&bits_b, &b[k], sizeof bits_b);
    bits_a &= ~(uint64_t(1) << 63);
    bits_b &= ~(uint64_t(1) << 63);
    largest_a = bits_a > largest_a ? bits_a : largest_a;
    largest_b = bits_b > largest_b ? bits_b : largest_b;
  }
  top_a = top_of(largest_a);
  top_b = top_of(largest_b);
}

}  // namespace

// The five sums' terms of count coordinates at k0, each rounded to double,
// into the exact sums (wide_sum: up to kExactChunkTerms terms a call, each
// made as it is added). Each sum's bound on its terms comes from the largest
// |u| and |Delta|: |u - Delta| <= |u| + |Delta|, |u * Delta| <= |u| |Delta|,
// one more binade each for the rounding.
void AuditPass::add_sums(int64_t k0, int64_t count, std::array<WideSum, kSumCount>& sums) {
  const double *u = m_u.data() + k0, *delta = m_delta.data() + k0;
  double* scratch = m_terms.data();
  for (int64_t begin = 0; begin < count; begin += kExactChunkTerms) {
    const int64_t n = std::min(kExactChunkTerms, count - begin);
    const double *a = u + begin, *b = delta + begin;
    int top_u = 0, top_delta = 0;
    magnitude_tops(a, b, n, top_u, top_delta);
    const int top_lost = std::max(top_u, top_delta) + 2, top_dot = top_u + top_delta + 1, top_sq = 2 * top_u + 1;
    if (std::max(top_lost, std::max(top_dot, top_sq)) > kMostTermTop) {
      add_sums_by_terms(a, b, n, sums);
      continue;
    }
    add_terms_exactly([&](int64_t k) { return std::fabs(a[k]); }, n, top_u, scratch, sums[kIntendedL1]);
    add_terms_exactly([&](int64_t k) { return std::fabs(b[k]); }, n, top_delta, scratch, sums[kRealizedL1]);
    add_terms_exactly([&](int64_t k) { return std::fabs(a[k] - b[k]); }, n, top_lost, scratch, sums[kLostL1]);
    add_terms_exactly([&](int64_t k) { return a[k] * b[k]; }, n, top_dot, scratch, sums[kDot]);
    add_terms_exactly([&](int64_t k) { return a[k] * a[k]; }, n, top_sq, scratch, sums[kIntendedSq]);
  }
}

// add_sums for terms near the top of the double range: each sum's terms
// written out, then add_exactly (which adds such terms one by one).
void AuditPass::add_sums_by_terms(const double* a, const double* b, int64_t n, std::array<WideSum, kSumCount>& sums) {
  double* terms = m_terms.data();
  for (int64_t k = 0; k < n; ++k) terms[k] = std::fabs(a[k]);
  add_exactly(terms, n, sums[kIntendedL1]);
  for (int64_t k = 0; k < n; ++k) terms[k] = std::fabs(b[k]);
  add_exactly(terms, n, sums[kRealizedL1]);
  for (int64_t k = 0; k < n; ++k) terms[k] = std::fabs(a[k] - b[k]);
  add_exactly(terms, n, sums[kLostL1]);
  for (int64_t k = 0; k < n; ++k) terms[k] = a[k] * b[k];
  add_exactly(terms, n, sums[kDot]);
  for (int64_t k = 0; k < n; ++k) terms[k] = a[k] * a[k];
  add_exactly(terms, n, sums[kIntendedSq]);
}

// The |c| of every coordinate with u != 0 as a percentile key, counted by
// its top digit (the keys themselves are made again by key_pass).
// Each key's bin first (one flat pass, vectorised; bin kBins where u == 0),
// then the counts.
void AuditPass::count_keys(int64_t k0, int64_t count, bool dead) {
  const double *u = m_u.data() + k0, *cells = m_cells.data() + k0;
  uint32_t* bins = m_chunk_bins.data();
  for (int64_t k = 0; k < count; ++k)
    bins[k] = u[k] != 0 ? TopDigitCounts::bin_of(magnitude_key(cells[k], dead)) : uint32_t(TopDigitCounts::kBins);
  m_top.count_bins(bins, count);
}

void AuditPass::key_pass(const std::vector<uint8_t>& top_digits, const KeyVisit& visit) {
  if (m_type == formats::ElementType::f32) key_pass_typed<formats::F32>(top_digits, visit);
  else key_pass_typed<formats::BF16>(top_digits, visit);
}

// Collective: the percentiles' pass over every block again (docs/optimizer.md
// §5), W, exp_avg and exp_avg_sq only: the |c| keys of u != 0 whose top digit
// is marked in `top_digits`, chunk by chunk, as count_keys counted them (the
// same accounting of the same values).
template <class F>
void AuditPass::key_pass_typed(const std::vector<uint8_t>& top_digits, const KeyVisit& visit) {
  using Unmanaged = Kokkos::MemoryTraits<Kokkos::Unmanaged>;
  using Bits = typename F::bits_type;
  auto view = [&](int k) { return Kokkos::View<const Bits*, Unmanaged>(values<F>(k).data(), values<F>(k).size()); };
  m_chunk_rows = std::max<int64_t>(1, std::min(m_slab.count, kChunkCoordinates / m_result.dims));
  m_cells.resize(size_t(m_chunk_rows * m_result.dims));
  m_chunk_keys.resize(m_cells.size() + 8);  // whole vectors are stored
  const WantedDigits wanted(top_digits);
  const int64_t transitions = m_result.steps - 1;
  for (int64_t first = 0; first < transitions; first += m_block_steps) {
    const int64_t count = std::min(m_block_steps, transitions - first);
    m_phases.enter("read");
    read_block<F>(first, count + 1, false);
    m_phases.enter("replay");
    block_scalars(first, count);
    for (int64_t i = 0; i < count; ++i)
      for (int64_t n0 = 0; n0 < m_slab.count; n0 += m_chunk_rows) {
        const int64_t rows = std::min(m_chunk_rows, m_slab.count - n0);
        block_cells<F>(m_settings, i * m_slab.count + n0, rows, m_slab.count, view(0), view(2), view(3),
                       Kokkos::View<const StepScalars*, Unmanaged>(m_scalars.data(), m_scalars.size()),
                       Kokkos::View<double*, Unmanaged>(m_cells.data(), m_cells.size()));
        visit(m_chunk_keys.data(), wanted_keys(n0, rows, wanted));
      }
  }
  m_phases.enter("reduce");
}

// The keys of the chunk's |c| (m_cells; rows tokens n0 .. n0 + rows - 1)
// whose top digit is wanted, into m_chunk_keys, row by row (one population
// each); how many.
int64_t AuditPass::wanted_keys(int64_t n0, int64_t rows, const WantedDigits& wanted) {
  const int64_t dims = m_result.dims;
  int64_t keys = 0;
  for (int64_t r = 0; r < rows; ++r)
    keys += wanted.select(m_cells.data() + r * dims, dims, population(n0 + r) == kAuditDead, m_chunk_keys.data() + keys);
  return keys;
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

// Counters and sums are reduced where they lie (each step's arrays are
// contiguous): no flattened copies, whose fresh pages would cost more page
// faults than the reduction itself costs time.
void AuditPass::reduce() {
  static_assert(sizeof(std::array<int64_t, kCounterCount>) == kCounterCount * sizeof(int64_t), "contiguous");
  static_assert(sizeof(std::array<WideSum, kSumCount>) == kSumCount * sizeof(WideSum), "contiguous");
  int64_t* counts = reinterpret_cast<int64_t*>(m_result.counts.data());
  const int count_values = int(m_result.counts.size() * kCounterCount);
  if (m_ranks > 1)
    MPI_Reduce(m_rank == 0 ? MPI_IN_PLACE : counts, counts, count_values, MPI_INT64_T, MPI_SUM, 0, m_comm);
  reduce_to_root(reinterpret_cast<WideSum*>(m_result.sums.data()), m_result.sums.size() * kSumCount, m_comm);
  const KeyPass pass = [&](const std::vector<uint8_t>& top_digits, const KeyVisit& visit) {
    key_pass(top_digits, visit);
  };
  m_result.percentiles = cell_percentiles(pass, m_top, m_candidate_keys, m_comm);
  m_result.first_mismatches = gather_first_mismatches(m_result.first_mismatches, m_comm);
}

// Checkpoint: this rank's counters, exact sums, |c| keys' top-digit counts, first mismatches
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
  archive.put_ints("optimizer.cell_top_digits", m_top.counted_bins());
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
  if (!m_top.restore(archive.get_ints("optimizer.cell_top_digits")))
    archive.damaged("its intended cells' top-digit counts are not (bin, count) pairs");
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
