#include "kokkos_kernels/block_analysis.hpp"

#include "kokkos_kernels/formats/common_case.hpp"
#include "kokkos_kernels/formats/lattice_rules.hpp"
#include "kokkos_kernels/kokkos_compat.hpp"
#include "kokkos_kernels/near_zero.hpp"
#include "kokkos_kernels/near_zero_fold.hpp"

#include <cstdint>
#include <cstring>
#include <type_traits>

namespace latdisp {
namespace {

using bf16::ExactDisplacement;

// numpy's pairwise_sum (numpy/core/src/umath/loops_utils): a block of at
// most 128 values, summed with 8 interleaved accumulators.
template <class Square>
KOKKOS_INLINE_FUNCTION double pairwise_block(int64_t begin, int64_t n, const Square& square) {
  if (n < 8) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += square(begin + i);
    return sum;
  }
  double r[8];
  for (int j = 0; j < 8; ++j) r[j] = square(begin + j);
  int64_t i = 8;
  for (; i < n - (n % 8); i += 8)
    for (int j = 0; j < 8; ++j) r[j] += square(begin + i + j);
  double sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
  for (; i < n; ++i) sum += square(begin + i);
  return sum;
}

// Sum of squares in numpy's pairwise order, so magnitudes equal
// np.linalg.norm(x, axis=-1) bit for bit. numpy recurses (n > 128: halves,
// the first a multiple of 8); this walks the same tree with an explicit stack,
// since GPU threads have no room for recursion.
template <class Square>
KOKKOS_INLINE_FUNCTION double pairwise_sum(int64_t begin, int64_t n, const Square& square) {
  struct Frame {
    int64_t begin, n;
    double left;
    bool left_done;
  };
  Frame stack[48];  // depth log2(n / 128) + 1
  int top = 0;
  stack[0] = Frame{begin, n, 0.0, false};
  double value = 0.0;
  bool have_value = false;
  for (;;) {
    Frame& f = stack[top];
    if (have_value) {  // a child of f finished
      if (!f.left_done) {
        f.left = value;
        f.left_done = true;
        have_value = false;
        int64_t half = f.n / 2;
        half -= half % 8;
        stack[++top] = Frame{f.begin + half, f.n - half, 0.0, false};
        continue;
      }
      value = f.left + value;
      if (top == 0) return value;
      --top;
      continue;
    }
    if (f.n <= 128) {
      value = pairwise_block(f.begin, f.n, square);
      have_value = true;
      if (top == 0) return value;
      --top;
      continue;
    }
    int64_t half = f.n / 2;
    half -= half % 8;
    stack[++top] = Frame{f.begin, half, 0.0, false};
  }
}

// torch.norm of a float32 row on the CPU (vectorized path, 8 float lanes):
// squares accumulated per lane in float32, lanes added in order, the tail
// added one by one, sqrt in float32 (overflows to Inf past ~1.8e19).
template <class Value>
KOKKOS_INLINE_FUNCTION float torch_float_norm(int64_t n, const Value& value) {
  float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  const int64_t unrolled = n - n % 8;
  int64_t d = 0;
  for (; d < unrolled; d += 8)
    for (int j = 0; j < 8; ++j) {
      const float v = value(d + j);
      lanes[j] = lanes[j] + v * v;
    }
  float sum = lanes[0];
  for (int j = 1; j < 8; ++j) sum = sum + lanes[j];
  for (; d < n; ++d) {
    const float v = value(d);
    sum += v * v;
  }
  return static_cast<float>(kmath::sqrt(static_cast<double>(sum)));
}

// A zero that stays a zero: x = +0 in both arithmetics, class exact, the ULP
// that of a zero. Not a=-0, b=+0, whose seed x is -0 (a signed zero extreme
// the general path keeps).
KOKKOS_INLINE_FUNCTION bool is_fast_zero_pair(int32_t a, int32_t b) {
  return (((a | b) & 0x7FFF) == 0) & (((a ^ 0x8000) | b) != 0);
}

// One coordinate's fast case: `normal` when b is normal with |b| < 256 and
// either E(b) <= E(a) <= E(b) + 8 and |x| <= 255 (x an integer), or, when
// `allow_halves`, a normal with E(a) = E(b) - 1 and |2x| <= 255 (x a multiple
// of 1/2: a - b is exact in bfloat16, so the seed x is the same); `zero` for
// a zero that stays a zero (is_fast_zero_pair); x2 = 2x there, else 0.
// Without `allow_minus_half`, x = -1/2 is not fast: the seed arithmetic
// rounds it to -0, a signed zero extreme the general path keeps.
// Branch-free, for pass 1's vectorized loop.
struct FastCoordinate {
  int32_t x2;
  int32_t normal;
  int32_t zero;
};

KOKKOS_INLINE_FUNCTION FastCoordinate fast_doubled_x(int32_t a, int32_t b, int32_t allow_halves,
                                                     int32_t allow_minus_half) {
  const int32_t ea = (a >> 7) & 0xFF, eb = (b >> 7) & 0xFF;
  const int32_t shift = ea - eb;
  const int32_t clamped = shift < 0 ? 0 : (shift > 8 ? 8 : shift);
  const int32_t qa = bf16::normal_signed_significand(a);
  const int32_t qb = bf16::normal_signed_significand(b);
  const int32_t up_x = (qa << clamped) - qb;  // shift >= 0
  const int32_t down_x2 = qa - 2 * qb;        // shift == -1
  const int32_t b_small_normal = static_cast<int32_t>(static_cast<uint32_t>(eb - 1) <= 133u);
  const int32_t up = b_small_normal & static_cast<int32_t>(static_cast<uint32_t>(shift) <= 8u) &
                     static_cast<int32_t>(static_cast<uint32_t>(up_x + 255) <= 510u);
  const int32_t down = allow_halves & b_small_normal & static_cast<int32_t>(shift == -1) &
                       static_cast<int32_t>(ea >= 1) &
                       static_cast<int32_t>(static_cast<uint32_t>(down_x2 + 255) <= 510u) &
                       (allow_minus_half | static_cast<int32_t>(down_x2 != -1));
  FastCoordinate c;
  c.normal = up | down;
  c.zero = static_cast<int32_t>(is_fast_zero_pair(a, b));
  c.x2 = ((2 * up_x) & -up) | (down_x2 & -down);
  return c;
}

// round_half_even(x2 / 2) as an integer (+0 for zero), as integer_facts has it.
KOKKOS_INLINE_FUNCTION double half_rounded(int32_t x2) {
  const int32_t floor_half = x2 >> 1;  // arithmetic shift: floor(x2 / 2)
  return static_cast<double>(floor_half + (x2 & floor_half & 1));
}

// The lattice path: most coordinates keep b's sign and exponent field with b
// normal and |b| < 256 (then x = s(b) * (a - b) on the raw bits, an integer,
// |x| <= 127, exact in both arithmetics), or are a zero that stays a zero.
// These "easy" lanes are tallied in 16-bit arithmetic, which vectorizes at
// twice pass 1's width and with a fraction of its work; the few other lanes
// of the row (a crossing, mostly) get pass 1's fast test one by one. A row
// with any coordinate outside the fast case takes the general row instead.
constexpr int32_t kLaneChunk = 256;  // 16-bit counts and 32-bit sums of squares (127^2 * 256) cannot overflow

struct EasyLanes {
  int16_t hard;  // lanes left to the one-by-one test
  int16_t moved;
  int16_t zeros;
  int16_t x_lo, x_hi;   // over the easy lanes (sentinels when none)
  uint16_t e_lo, e_hi;  // the ULP's exponent field, shifted left by 7
  int32_t squares;      // sum of x^2
};

// One chunk of a row (n <= kLaneChunk): the easy lanes' sums; hard[d] = 1
// marks the others. `zero_field` is the exponent field of a zero's ULP.
KOKKOS_FORCEINLINE_FUNCTION EasyLanes easy_lanes(const uint16_t* from, const uint16_t* to, int32_t n,
                                                 uint16_t zero_field, uint8_t* hard) {
  // Branch-free, in local accumulators (masks, no short-circuits), so compilers vectorize it.
  int16_t hard_count = 0, moved = 0, zeros = 0, x_lo = 0x7FFF, x_hi = -0x7FFF;
  uint16_t e_lo = 0x7F80, e_hi = 0;
  int32_t squares = 0;
  const uint16_t zero_e = static_cast<uint16_t>(zero_field << 7);
  for (int32_t d = 0; d < n; ++d) {
    const uint16_t a = to[d], b = from[d];
    const uint16_t eb = static_cast<uint16_t>(b & 0x7F80);
    const uint16_t normal =
        static_cast<uint16_t>((((a ^ b) & 0xFF80) == 0) & (static_cast<uint16_t>(eb - 0x80) <= (134 << 7) - 0x80));
    const uint16_t zero = static_cast<uint16_t>((((a | b) & 0x7FFF) == 0) & (((a ^ 0x8000) | b) != 0));
    const uint16_t easy = static_cast<uint16_t>(normal | zero);
    const uint16_t normal_mask = static_cast<uint16_t>(-normal), easy_mask = static_cast<uint16_t>(-easy);
    const int16_t sign = static_cast<int16_t>(static_cast<int16_t>(b) >> 15);
    const int16_t x = static_cast<int16_t>(((static_cast<int16_t>(a - b) ^ sign) - sign) & normal_mask);
    const int16_t x_or_high = static_cast<int16_t>((x & easy_mask) | (~easy_mask & 0x7FFF));
    const int16_t x_or_low = static_cast<int16_t>((x & easy_mask) | (~easy_mask & -0x7FFF));
    x_lo = x_or_high < x_lo ? x_or_high : x_lo;
    x_hi = x_or_low > x_hi ? x_or_low : x_hi;
    const uint16_t e = static_cast<uint16_t>((eb & normal_mask) | (zero_e & ~normal_mask));
    const uint16_t e_or_high = static_cast<uint16_t>((e & easy_mask) | (~easy_mask & 0x7F80));
    const uint16_t e_or_low = static_cast<uint16_t>(e & easy_mask);
    e_lo = e_or_high < e_lo ? e_or_high : e_lo;
    e_hi = e_or_low > e_hi ? e_or_low : e_hi;
    hard_count = static_cast<int16_t>(hard_count + (easy ^ 1));
    moved = static_cast<int16_t>(moved + (x != 0));
    zeros = static_cast<int16_t>(zeros + zero);
    squares += static_cast<int32_t>(x) * x;
    hard[d] = static_cast<uint8_t>(easy ^ 1);
  }
  return EasyLanes{hard_count, moved, zeros, x_lo, x_hi, e_lo, e_hi, squares};
}

// What a row's fast coordinates add up to, in pass 1's terms (x2 = 2x).
struct FastRowSums {
  int64_t quadruple_squares = 0;  // the sum of (2x)^2
  int32_t moved = 0, crossed = 0, zeros = 0, halves = 0;
  int32_t x2_min = 1 << 30, x2_max = -(1 << 30);
  int32_t e_min = 255, e_max = 0;  // the ULP's exponent field

  KOKKOS_INLINE_FUNCTION void add(const EasyLanes& l, int32_t n) {
    quadruple_squares += 4 * static_cast<int64_t>(l.squares);
    moved += l.moved;
    zeros += l.zeros;
    if (l.hard == n) return;  // no easy lane: the extremes are sentinels
    x2_min = 2 * l.x_lo < x2_min ? 2 * l.x_lo : x2_min;
    x2_max = 2 * l.x_hi > x2_max ? 2 * l.x_hi : x2_max;
    e_min = (l.e_lo >> 7) < e_min ? (l.e_lo >> 7) : e_min;
    e_max = (l.e_hi >> 7) > e_max ? (l.e_hi >> 7) : e_max;
  }

  KOKKOS_INLINE_FUNCTION void add(const FastCoordinate& c, int32_t a, int32_t b, int32_t zero_field) {
    quadruple_squares += c.x2 * c.x2;
    moved += static_cast<int32_t>(c.x2 != 0);
    crossed += static_cast<int32_t>(((a ^ b) & 0x7F80) != 0);
    zeros += c.zero;
    halves += c.x2 & 1;
    x2_min = c.x2 < x2_min ? c.x2 : x2_min;
    x2_max = c.x2 > x2_max ? c.x2 : x2_max;
    const int32_t e = c.normal ? (b >> 7) & 0xFF : zero_field;
    e_min = e < e_min ? e : e_min;
    e_max = e > e_max ? e : e_max;
  }
};

// The tallies of a row's `fast` fast coordinates.
KOKKOS_INLINE_FUNCTION void add_fast_row(const FastRowSums& s, int64_t fast, PopulationTally& p, UlpTally& u) {
  p.counts[kCountExact] += fast - s.halves;
  p.counts[kCountHalf] += s.halves;
  p.counts[kCountMoved] += s.moved;
  p.counts[kCountCrossed] += s.crossed;
  u.zeros += s.zeros;
  if (fast == 0) return;  // the extremes are sentinels
  const double lo = 0.5 * s.x2_min, hi = 0.5 * s.x2_max;
  p.min = lo < p.min ? lo : p.min;
  p.max = hi > p.max ? hi : p.max;
  // Rounding is monotonic: the extremes of the rounded values are the rounded extremes.
  const double int_lo = half_rounded(s.x2_min), int_hi = half_rounded(s.x2_max);
  p.int_min = int_lo < p.int_min ? int_lo : p.int_min;
  p.int_max = int_hi > p.int_max ? int_hi : p.int_max;
  const double abs_hi = (-lo > hi) ? -lo : hi;
  p.max_abs = abs_hi > p.max_abs ? abs_hi : p.max_abs;
  const int w = (int_lo < -128 || int_hi > 127) ? bf16::kInt16 : bf16::kInt8;
  p.width = w > p.width ? w : p.width;
  u.min_exponent = s.e_min - 134 < u.min_exponent ? s.e_min - 134 : u.min_exponent;
  u.max_exponent = s.e_max - 134 > u.max_exponent ? s.e_max - 134 : u.max_exponent;
}

// The driving arithmetic's view of one finite-input coordinate.
struct Outcome {
  int klass;
  double value;    // x (exact: correctly rounded; seed: the float32 value)
  double rounded;  // round_half_even(x)
  int width;
  bool beyond_float32;
  bool beyond_float64;
  bool float32_inexact;
};

KOKKOS_INLINE_FUNCTION Outcome exact_outcome(const ExactDisplacement& x, double epsilon) {
  Outcome o;
  o.klass = bf16::classify(x, epsilon);
  o.value = bf16::to_double(x);
  const bf16::IntegerFacts facts = bf16::integer_facts(x);
  o.rounded = facts.rounded;
  o.width = facts.width;
  o.beyond_float32 = facts.beyond_2_24;
  o.beyond_float64 = facts.beyond_2_53;
  o.float32_inexact = !bf16::exactly_float32(x);
  return o;
}

KOKKOS_INLINE_FUNCTION double round_half_even(double v) {
  // 2^52 trick: exact for |v| < 2^52, and larger doubles are integers.
  const double two52 = 4503599627370496.0;
  const double a = v < 0 ? -v : v;
  if (!(a < two52)) return v;
  const double r = (a + two52) - two52;
  return v < 0 ? -r : r;
}

KOKKOS_INLINE_FUNCTION int width_of_double(double r) {
  const double two63 = 9223372036854775808.0;
  if (!(r >= -two63 && r < two63)) return bf16::kNoInteger;
  return bf16::width_of(static_cast<int64_t>(r));
}

KOKKOS_INLINE_FUNCTION Outcome seed_outcome(float x, float epsilon) {
  Outcome o;
  o.klass = bf16::seed_classify(x, epsilon);
  o.value = static_cast<double>(x);
  o.rounded = round_half_even(o.value);
  o.width = width_of_double(o.rounded);
  const double a = o.value < 0 ? -o.value : o.value;
  o.beyond_float32 = a > 16777216.0;
  o.beyond_float64 = a > 9007199254740992.0;
  o.float32_inexact = false;
  return o;
}

// Do the two arithmetics disagree on this coordinate? (docs/definitions.md §14: a
// different value or class; two non-finite values agree.)
KOKKOS_INLINE_FUNCTION bool disagree(bool exact_finite, const ExactDisplacement& x, int exact_class, float seed_x,
                                     int seed_class) {
  const bool seed_finite = bf16::is_finite_float(seed_x);
  if (!exact_finite || !seed_finite) return exact_finite != seed_finite;
  if (exact_class != seed_class) return true;
  // Same value iff qa * 2^s - seed_x == qb exactly.
  return !bf16::exact_difference_is(static_cast<double>(x.qa) * bf16::pow2(x.s), static_cast<double>(seed_x),
                                    static_cast<double>(x.qb));
}

// Why they disagree: the seed ULP rule (for a zero under min-subnormal, the
// two rules' ULPs), the bfloat16 rounding of a - b, or (same ULP, exact
// difference) the floor-based classification.
KOKKOS_INLINE_FUNCTION int disagreement_cause(uint16_t a, uint16_t b, bf16::ZeroUlp zero_ulp) {
  const float seed_u = bf16::to_float(bf16::seed_ulp(b));
  const double exact_u = bf16::pow2(bf16::ulp_exponent(b, zero_ulp));
  if (!bf16::is_finite(b) || static_cast<double>(seed_u) != exact_u) return kCountCauseUlpRule;
  if (!bf16::is_finite(a)) return kCountCauseRounding;
  const double delta = static_cast<double>(bf16::to_float(bf16::round_to_bf16(bf16::to_float(a) - bf16::to_float(b))));
  const double a_value = static_cast<double>(bf16::significand(a)) * bf16::pow2(bf16::scale_exponent(a));
  const double b_value = static_cast<double>(bf16::significand(b)) * bf16::pow2(bf16::scale_exponent(b));
  // delta == a - b  <=>  a - delta == b
  if (!bf16::exact_difference_is(a_value, delta, b_value)) return kCountCauseRounding;
  return kCountCauseFloor;
}

KOKKOS_INLINE_FUNCTION void add_outcome(PopulationTally& p, const Outcome& o) {
  p.counts[o.klass] += 1;
  if (o.value != 0.0) p.counts[kCountMoved] += 1;
  if (o.beyond_float32) p.counts[kCountBeyondFloat32] += 1;
  if (o.beyond_float64) p.counts[kCountBeyondFloat64] += 1;
  if (o.float32_inexact) p.counts[kCountFloat32Inexact] += 1;
  if (o.value < p.min) p.min = o.value;
  if (o.value > p.max) p.max = o.value;
  const double a = o.value < 0 ? -o.value : o.value;
  if (a > p.max_abs) p.max_abs = a;
  if (o.rounded < p.int_min) p.int_min = o.rounded;
  if (o.rounded > p.int_max) p.int_max = o.rounded;
  if (o.width > p.width) p.width = o.width;
}

// Rows up to this long keep pass 1's results for pass 2 (one pass over W
// each): a host thread has room for a 4B model's rows, a GPU thread for a
// pairwise block of numpy's (longer rows recompute what they need).
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
constexpr int64_t kHeldDims = 128;
#else
constexpr int64_t kHeldDims = 8192;
#endif
constexpr int32_t kNotFast = 1 << 30;

// One work item (a transition x a run of tokens) of either analysis functor:
// each row through the functor's own `analyze_row`, then its magnitude,
// regime and per-token events, and at the last transition the ULPs of W[S-1];
// the near-zero breakdown row by row (NearZeroFold::row), when asked for.
template <class Functor>
KOKKOS_INLINE_FUNCTION void analyze_item(const Functor& f, const int64_t item) {
  using Fold = NearZeroFold<typename Functor::Format>;
  Fold near_zero;
  auto out = f.m_near_zero.access();
  near_zero.reset(f.m_settings.epsilon, static_cast<formats::ZeroUlp>(static_cast<int>(f.m_settings.zero_ulp)));
  const int64_t t = item / f.m_items_per_transition;
  const int64_t chunk = item % f.m_items_per_transition;
  const int64_t per_item = f.m_settings.tokens_per_item;
  const int64_t token_begin = chunk * per_item;
  const int64_t token_end = token_begin + per_item < f.m_tokens ? token_begin + per_item : f.m_tokens;
  ItemTally tally;
  tally.reset();
  for (int64_t n = token_begin; n < token_end; ++n) {
    const auto* from = &f.m_values(t, n, 0);
    const auto* to = &f.m_values(t + 1, n, 0);
    const int p = f.m_dead(n) ? kDead : kLive;
    PopulationTally& population = tally.population[p];
    if (f.m_near_zero.enabled) near_zero.row(from, to, f.m_dims, f.m_common_rules, p, t, out);
    const int64_t crossed = population.counts[kCountCrossed];
    const int64_t non_integer = population.counts[kCountNonInteger];
    const int64_t half = population.counts[kCountHalf];
    const double magnitude = f.analyze_row(from, to, population, tally.ulp);
    f.m_magnitudes(t, n) = magnitude;
    population.counts[kCountFrozenRows + row_regime(magnitude, f.m_settings.hop_radius)] += 1;
    if (f.m_events.extent(0) > 0)
      f.m_events(t, n) = RowEvents{static_cast<int32_t>(population.counts[kCountCrossed] - crossed),
                                   static_cast<int32_t>(population.counts[kCountNonInteger] - non_integer),
                                   static_cast<int32_t>(population.counts[kCountHalf] - half)};
    if (t == f.m_last_transition)
      for (int64_t d = 0; d < f.m_dims; ++d) f.ulp_of_value(to[d], tally.ulp);
  }
  f.m_tallies(t, chunk) = tally;
  if (f.m_near_zero.enabled) {
    near_zero.flush(out);
    f.m_near_zero.items(t, chunk) = near_zero.item;
  }
}

// --- the common case, once for every format (formats/common_case.hpp) ---------------
// A work item's rows are contiguous in W (one step holds every token in
// order), so the common pass runs over a group of whole rows as one flat,
// vectorized loop: its extremes and the counts that need more than the row
// loop need one reduction per group, not one per row. A second short loop
// per row sums its squares and its marks (crossed, half-integer, not
// common); in a row with any coordinate outside the common case those
// coordinates go through the functor's general rules (`uncommon_coordinate`)
// and the row's magnitude through numpy's pairwise sum (mixed_row).
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
constexpr int64_t kGroupCoordinates = 128;
#else
constexpr int64_t kGroupCoordinates = 8192;
#endif
constexpr int64_t kGroupRows = 256;
static_assert(kGroupCoordinates <= NearZeroFold<formats::BF16>::kBufferCoordinates,
              "a group fits the near-zero fold's buffer");

template <class F>
struct CommonSums {
  using C = formats::CommonCase<F>;
  // From the rows' marks, over the common coordinates (crossed: over all of them).
  int64_t common = 0, halves = 0, crossed = 0;
  // From the flat pass, over its common coordinates.
  int64_t moved = 0, zeros = 0, subnormals = 0;
  int32_t x2_min = 0, x2_max = 0, field_min = 0, field_max = 0;  // valid when x2_min <= x2_max
  int64_t redone = 0;  // rows the simple pass left to the full one (simple_group, redo_rows)
  // kCountsFromTags (common_group): moved, zeros and subnormals are left 0 here (the
  // near-zero histogram gives them per work item).
  bool counts_from_tags = false;
  // With the near-zero tags (kTags): the least tag and the greatest common one.
  typename C::U tag_lo = 0, tag_hi = 0;
};

// The range [low, high] of `value` over the lanes where `keep` is 1,
// branch-free (a lane with keep 0 widens neither end): for the flat passes.
template <class U>
KOKKOS_FORCEINLINE_FUNCTION void widen_kept_range(U value, U keep, U& low, U& high) {
  const U mask = static_cast<U>(-keep);
  const U value_or_high = static_cast<U>(value | static_cast<U>(~mask));
  low = value_or_high < low ? value_or_high : low;
  const U value_or_low = static_cast<U>(value & mask);
  high = value_or_low > high ? value_or_low : high;
}

// The flat pass over `n` coordinates: the sums of the common ones; x2[i]
// (0 where not common) and marks[i] (crossed, half-integer and not common,
// packed as CommonCase says). x2's extremes are taken over every lane, with
// no mask (a mask costs a select per lane), and settled afterwards
// (settle_extremes): x2 is 0 in the lanes that are not common. With kTags
// (the FP8 formats, with the near-zero breakdown) also each coordinate's
// near-zero tag (NearZeroFold::tag_of) and their range, in the same loop;
// for the FP8 formats then without the moved, zero-b and subnormal-b counts,
// which the tags' histogram gives (NearZeroFold::add_common_counts): their
// flags widened from bytes to U lanes cost about a tenth of the pass.
template <class F, bool kTags = false>
KOKKOS_FORCEINLINE_FUNCTION CommonSums<F> common_group(const typename F::bits_type* from,
                                                       const typename F::bits_type* to, int32_t n,
                                                       const typename formats::CommonCase<F>::Rules rules,
                                                       typename formats::CommonCase<F>::S* x2,
                                                       typename formats::CommonCase<F>::U* marks,
                                                       typename formats::CommonCase<F>::U* tags = nullptr) {
  using C = formats::CommonCase<F>;
  using U = typename C::U;
  using S = typename C::S;
  // In 32-bit lanes the zeros and the subnormals are counted in one lane: zeros in
  // the low 16 bits, subnormals in the high (n <= kGroupCoordinates < 2^16).
  constexpr bool kKindsInOneLane = C::kWide;
  static_assert(kGroupCoordinates < (int64_t(1) << 16), "a group's counts fit 16 bits");
  // Branch-free, in lane-wide local accumulators (n <= kGroupCoordinates fits them), so compilers vectorize it.
  U moved = 0, zeros = 0, subnormals = 0;
  S x2_min = static_cast<S>(C::kX2Limit), x2_max = static_cast<S>(-C::kX2Limit);
  U field_min = static_cast<U>(~U(0)), field_max = 0;
  U tag_lo = static_cast<U>(~U(0)), tag_hi = 0;
  // The lanes in bytes for the 8-bit formats (CommonCase::ByteU): their x2's
  // extremes and fields too; the counts, x2, marks and tags widened to U/S.
  using V = typename C::ByteU;
  using SV = std::make_signed_t<V>;
  constexpr bool kCountsFromTags = kTags && C::kByteLanes;
  SV x2_low = static_cast<SV>(C::kX2Limit), x2_high = static_cast<SV>(-C::kX2Limit);
  V field_low = static_cast<V>(~V(0)), field_high = 0;
  for (int32_t i = 0; i < n; ++i) {
    const typename C::template LaneOf<V> l = C::template lane<V>(static_cast<V>(to[i]), static_cast<V>(from[i]), rules);
    const S lane_x2 = l.x2;
    const U lane_common = l.common;
    if constexpr (kTags) {
      const U tag = NearZeroFold<F>::tag_of(static_cast<U>(to[i]), static_cast<U>(from[i]), lane_x2, lane_common);
      tags[i] = tag;
      tag_lo = tag < tag_lo ? tag : tag_lo;
      const U tag_or_low = static_cast<U>(tag & static_cast<U>(-lane_common));
      tag_hi = tag_or_low > tag_hi ? tag_or_low : tag_hi;
    }
    if constexpr (!kCountsFromTags) {
      moved = static_cast<U>(moved + (l.x2 != 0));
      if (kKindsInOneLane) {
        const U kind = l.b_zero ? U(1) : static_cast<U>(l.b_subnormal << 16);
        zeros = static_cast<U>(zeros + (l.common ? kind : U(0)));
      } else {
        zeros = static_cast<U>(zeros + static_cast<U>(l.b_zero & l.common));
        if (!C::kSeedAgreement)  // there a common b is normal or zero
          subnormals = static_cast<U>(subnormals + static_cast<U>(l.b_subnormal & l.common));
      }
    }
    if constexpr (C::kByteLanes) {
      x2_low = l.x2 < x2_low ? l.x2 : x2_low;
      x2_high = l.x2 > x2_high ? l.x2 : x2_high;
      widen_kept_range(static_cast<V>(l.ulp_field), static_cast<V>(l.common), field_low, field_high);
    } else {
      x2_min = l.x2 < x2_min ? l.x2 : x2_min;
      x2_max = l.x2 > x2_max ? l.x2 : x2_max;
      widen_kept_range(static_cast<U>(l.ulp_field), static_cast<U>(l.common), field_min, field_max);
    }
    x2[i] = lane_x2;
    marks[i] = static_cast<U>(static_cast<U>(l.crossed) | ((lane_x2 & 1) << C::kHalfShift) |
                              ((lane_common ^ 1) << C::kUncommonShift));
  }
  if constexpr (C::kByteLanes) {
    x2_min = x2_low, x2_max = x2_high;
    field_min = field_low;  // no common lane: above kMaxField, as below
    field_max = field_high;
  }
  CommonSums<F> s;
  s.moved = moved;
  s.zeros = kKindsInOneLane ? (zeros & 0xFFFF) : zeros;
  s.subnormals = kKindsInOneLane ? (static_cast<uint32_t>(zeros) >> 16) : subnormals;
  s.x2_min = x2_min;
  s.x2_max = x2_max;
  // No common lane: no field (a field is at least 1, and at most kMaxField).
  s.field_min = field_min > C::kMaxField ? INT32_MAX : static_cast<int32_t>(field_min);
  s.field_max = static_cast<int32_t>(field_max);
  s.tag_lo = tag_lo;
  s.tag_hi = tag_hi;
  s.counts_from_tags = kCountsFromTags;
  return s;
}

// The flat pass in two steps where a format's pairs are mostly simple
// (CommonCase::simple_lane: same sign and binade, normal or zero): first every lane
// as a simple one (x2 and the marks of the flat pass, a lane that is not
// simple marked not common), then the rows with a lane that is not simple
// again through common_group (redo_rows). In 32-bit lanes the simple step
// takes half the instructions of the full one.
template <class F>
constexpr bool kSimpleFirst = formats::CommonCase<F>::kWide && F::specials == formats::Specials::ieee;

template <class F>
KOKKOS_FORCEINLINE_FUNCTION CommonSums<F> simple_group(const typename F::bits_type* from,
                                                       const typename F::bits_type* to, int32_t n,
                                                       const typename formats::CommonCase<F>::Rules rules,
                                                       typename formats::CommonCase<F>::S* x2,
                                                       typename formats::CommonCase<F>::U* marks) {
  using C = formats::CommonCase<F>;
  using U = typename C::U;
  using S = typename C::S;
  U moved = 0, zeros = 0, others = 0;
  S x2_min = static_cast<S>(C::kX2Limit), x2_max = static_cast<S>(-C::kX2Limit);
  U field_min = static_cast<U>(~U(0)), field_max = 0;
  for (int32_t i = 0; i < n; ++i) {
    const typename C::SimpleLane l = C::simple_lane(static_cast<U>(to[i]), static_cast<U>(from[i]), rules);
    moved = static_cast<U>(moved + (l.x2 != 0));
    zeros = static_cast<U>(zeros + l.b_zero);
    others = static_cast<U>(others | (l.simple ^ 1));
    x2_min = l.x2 < x2_min ? l.x2 : x2_min;  // 0 where not simple: settle_extremes
    x2_max = l.x2 > x2_max ? l.x2 : x2_max;
    widen_kept_range(static_cast<U>(l.field), static_cast<U>(l.simple), field_min, field_max);
    x2[i] = l.x2;
    marks[i] = static_cast<U>((l.simple ^ 1) << C::kUncommonShift);
  }
  CommonSums<F> s;
  s.moved = moved;
  s.zeros = zeros;
  s.x2_min = x2_min;
  s.x2_max = x2_max;
  // No simple lane: no field (a field is at least 1, and at most kMaxField).
  s.field_min = field_min > C::kMaxField ? INT32_MAX : static_cast<int32_t>(field_min);
  s.field_max = static_cast<int32_t>(field_max);
  s.redone = others;  // 1: some row is to be redone
  return s;
}

// The rows of a group (`rows` of `dims`) with a lane the simple pass left:
// through common_group, their sums merged into `s` (the moves and zero b of
// their simple lanes taken back out first), `s.redone` their number.
template <class F>
KOKKOS_INLINE_FUNCTION void redo_rows(CommonSums<F>& s, const typename F::bits_type* from,
                                      const typename F::bits_type* to, int64_t rows, int64_t dims,
                                      const typename formats::CommonCase<F>::Rules& rules,
                                      typename formats::CommonCase<F>::S* x2,
                                      typename formats::CommonCase<F>::U* marks) {
  using C = formats::CommonCase<F>;
  using U = typename C::U;
  s.redone = 0;
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t offset = row * dims;
    U others = 0, moved = 0, zeros = 0;
    for (int64_t d = offset; d < offset + dims; ++d) {
      others = static_cast<U>(others | marks[d]);
      moved = static_cast<U>(moved + (x2[d] != 0));
      zeros = static_cast<U>(zeros + ((marks[d] | static_cast<U>(from[d] & C::kMagnitudeMask)) == 0));
    }
    if (others == 0) continue;
    ++s.redone;
    const CommonSums<F> r = common_group<F>(from + offset, to + offset, static_cast<int32_t>(dims), rules,
                                            x2 + offset, marks + offset);
    s.moved += r.moved - static_cast<int64_t>(moved);
    s.zeros += r.zeros - static_cast<int64_t>(zeros);
    s.subnormals += r.subnormals;
    s.x2_min = r.x2_min < s.x2_min ? r.x2_min : s.x2_min;
    s.x2_max = r.x2_max > s.x2_max ? r.x2_max : s.x2_max;
    s.field_min = r.field_min < s.field_min ? r.field_min : s.field_min;
    s.field_max = r.field_max > s.field_max ? r.field_max : s.field_max;
  }
}

// x2's extremes of the flat pass over the common lanes only, once the rows
// have counted them (`s.common` of `n`). Taken over every lane they take in
// the 0 of a lane that is not common (or was not simple): that is one of the
// common values too when some common coordinate did not move, and changes
// neither extreme when they have opposite signs (where the group's moves are
// not counted, s.counts_from_tags, only the signs tell); else they are taken
// again over the common lanes.
template <class F>
KOKKOS_INLINE_FUNCTION void settle_extremes(CommonSums<F>& s, const typename formats::CommonCase<F>::S* x2,
                                            const typename formats::CommonCase<F>::U* marks, int64_t n) {
  using C = formats::CommonCase<F>;
  using S = typename C::S;
  if (s.common == 0) {  // no common coordinate: add_common_sums takes nothing
    s.x2_min = 1;
    s.x2_max = 0;
    return;
  }
  if (s.common == n && s.redone == 0) return;
  if (s.counts_from_tags ? (s.x2_min < 0 && s.x2_max > 0) : s.moved < s.common) return;
  S lo = static_cast<S>(C::kX2Limit), hi = static_cast<S>(-C::kX2Limit);
  for (int64_t i = 0; i < n; ++i) {
    // x2 is 0 where not common: out of the extremes' way by arithmetic (it vectorizes)
    const S uncommon = static_cast<S>((marks[i] >> C::kUncommonShift) & 1);
    const S out = static_cast<S>(uncommon * static_cast<S>(C::kX2Limit));
    const S x_or_high = static_cast<S>(x2[i] + out), x_or_low = static_cast<S>(x2[i] - out);
    lo = x_or_high < lo ? x_or_high : lo;
    hi = x_or_low > hi ? x_or_low : hi;
  }
  s.x2_min = lo;
  s.x2_max = hi;
}

// A row of the group from the flat pass's arrays: its sum of (2x)^2, crossed
// and half-integer coordinates, and whether every coordinate is common.
struct CommonRow {
  int64_t quadruple_squares;
  int32_t crossed, halves, uncommon;
};

template <class F>
KOKKOS_FORCEINLINE_FUNCTION CommonRow common_row(const typename formats::CommonCase<F>::S* x2,
                                                 const typename formats::CommonCase<F>::U* marks, int64_t dims) {
  using C = formats::CommonCase<F>;
  using U = typename C::U;
  constexpr int32_t kCrossed = (int32_t(1) << C::kHalfShift) - 1;
  constexpr int32_t kHalves = (int32_t(1) << (C::kUncommonShift - C::kHalfShift)) - 1;
  CommonRow r{0, 0, 0, 0};
  for (int64_t begin = 0; begin < dims; begin += C::kRowChunk) {
    const int64_t end = dims - begin < C::kRowChunk ? dims : begin + C::kRowChunk;
    typename C::SquareSum squares = 0;
    int32_t packed = 0;  // the three marks' counts, packed as the marks are
    for (int64_t d = begin; d < end; ++d) {
      const typename C::SquareSum v = x2[d];
      squares += v * v;
      packed += static_cast<U>(marks[d]);
    }
    r.quadruple_squares += squares;
    r.crossed += packed & kCrossed;
    r.halves += (packed >> C::kHalfShift) & kHalves;
    r.uncommon += packed >> C::kUncommonShift;
  }
  return r;
}

// The group's common sums into the population and ULP tallies.
template <class F>
KOKKOS_INLINE_FUNCTION void add_common_sums(const CommonSums<F>& s, PopulationTally& p, UlpTally& u) {
  p.counts[kCountExact] += s.common - s.halves;
  p.counts[kCountHalf] += s.halves;  // half-integers are common only where their class is half
  p.counts[kCountMoved] += s.moved;
  p.counts[kCountCrossed] += s.crossed;
  u.zeros += s.zeros;
  u.subnormals += s.subnormals;
  if (s.x2_min > s.x2_max) return;  // no common coordinate
  const double lo = 0.5 * s.x2_min, hi = 0.5 * s.x2_max;
  p.min = lo < p.min ? lo : p.min;
  p.max = hi > p.max ? hi : p.max;
  const double abs_hi = (-lo > hi) ? -lo : hi;
  p.max_abs = abs_hi > p.max_abs ? abs_hi : p.max_abs;
  const double int_lo = half_rounded(s.x2_min), int_hi = half_rounded(s.x2_max);
  p.int_min = int_lo < p.int_min ? int_lo : p.int_min;
  p.int_max = int_hi > p.int_max ? int_hi : p.int_max;
  const int w_lo = bf16::width_of(static_cast<int64_t>(int_lo)), w_hi = bf16::width_of(static_cast<int64_t>(int_hi));
  const int w = w_lo > w_hi ? w_lo : w_hi;
  p.width = w > p.width ? w : p.width;
  const int k_lo = formats::CommonCase<F>::ulp_exponent_of_field(s.field_min);
  const int k_hi = formats::CommonCase<F>::ulp_exponent_of_field(s.field_max);
  u.min_exponent = k_lo < u.min_exponent ? k_lo : u.min_exponent;
  u.max_exponent = k_hi > u.max_exponent ? k_hi : u.max_exponent;
}

// A row with coordinates outside the common case (or, in f32, squares of
// 2^53 or more): those through the functor's general rules
// (`uncommon_coordinate`: the ULP of b and the class of x), the others as the
// flat pass left them; its magnitude in numpy's pairwise order.
// The near-zero breakdown of a group (fold: null when not asked for): its
// common coordinates in common_rows, the others here, by the exact rules.
template <class F, class Access>
struct NearZeroGroup {
  NearZeroFold<F>* fold;
  Access* out;
  int population;
  int64_t t;
};

template <class F, class Functor, class Access>
KOKKOS_INLINE_FUNCTION double mixed_row(const Functor& f, const typename F::bits_type* from,
                                        const typename F::bits_type* to, const typename formats::CommonCase<F>::S* x2,
                                        const typename formats::CommonCase<F>::U* marks, int64_t dims,
                                        PopulationTally& p, UlpTally& u, const NearZeroGroup<F, Access>& near_zero) {
  using C = formats::CommonCase<F>;
  double values[kGroupCoordinates];
  bool finite = true;
  for (int64_t d = 0; d < dims; ++d) {
    double value = 0.5 * x2[d];
    if ((marks[d] >> C::kUncommonShift) & 1) {
      if (near_zero.fold) near_zero.fold->general(to[d], from[d], near_zero.population, near_zero.t, *near_zero.out);
      value = f.uncommon_coordinate(to[d], from[d], p, u);
      finite = finite && value - value == 0.0;
    }
    values[d] = value;
  }
  if (!finite) return nonfinite_magnitude();
  const auto square = [&](int64_t d) { return values[d] * values[d]; };
  return kmath::sqrt(pairwise_sum(0, dims, square));
}

// The rows [n, n_end) of transition t (one population, contiguous in W, at
// most kGroupCoordinates values and kGroupRows rows): magnitudes, regimes
// and events of each, tallies into `population` and `ulp`. The rows' square
// roots and regimes are taken in a loop of their own (it vectorizes, and no
// branch waits for a square root).
template <class F, class Functor, class Access>
KOKKOS_INLINE_FUNCTION void common_rows(const Functor& f, int64_t t, int64_t n, int64_t n_end,
                                        PopulationTally& population, UlpTally& ulp,
                                        const NearZeroGroup<F, Access>& near_zero) {
  using C = formats::CommonCase<F>;
  typename C::S x2[kGroupCoordinates];
  typename C::U marks[kGroupCoordinates];
  double squares[kGroupRows];  // (2x)^2 summed, exact; -1 for a mixed row
  const int64_t dims = f.m_dims, rows = n_end - n;
  const typename F::bits_type* from = &f.m_values(t, n, 0);
  const typename F::bits_type* to = &f.m_values(t + 1, n, 0);
  CommonSums<F> sums;
  const int32_t n_group = static_cast<int32_t>(rows * dims);
  if constexpr (kSimpleFirst<F>) {
    sums = simple_group<F>(from, to, n_group, f.m_common_rules, x2, marks);
    if (sums.redone) redo_rows<F>(sums, from, to, rows, dims, f.m_common_rules, x2, marks);
  } else if constexpr (NearZeroFold<F>::kExactMagnitude) {
    // The FP8 formats: the near-zero tags in the common pass's loop.
    if (near_zero.fold) {
      typename C::U scratch[kGroupCoordinates];
      typename C::U* tags = near_zero.fold->tag_room(near_zero.population, n_group, scratch);
      sums = common_group<F, true>(from, to, n_group, f.m_common_rules, x2, marks, tags);
      near_zero.fold->tagged_group(tags, n_group, near_zero.population, t, sums.tag_lo, sums.tag_hi, *near_zero.out);
    } else {
      sums = common_group<F>(from, to, n_group, f.m_common_rules, x2, marks);
    }
  } else {
    sums = common_group<F>(from, to, n_group, f.m_common_rules, x2, marks);
  }
  if (near_zero.fold && !NearZeroFold<F>::kExactMagnitude) {
    typename C::U tags[kGroupCoordinates];
    near_zero.fold->group(from, to, x2, marks, static_cast<int32_t>(rows * dims), near_zero.population, t, tags,
                          *near_zero.out);
  }
  const bool events = f.m_events.extent(0) > 0;
  int64_t mixed_rows = 0;
  for (int64_t row = 0; row < rows; ++row) {
    const CommonRow r = common_row<F>(x2 + row * dims, marks + row * dims, dims);
    sums.common += dims - r.uncommon;
    sums.crossed += r.crossed;
    sums.halves += r.halves;
    // Squares of multiples of 1/2 sum exactly below 2^51 in any order: numpy's pairwise sum, sqrt(S / 4) = sqrt(S) / 2.
    if (r.uncommon == 0 && r.quadruple_squares < (int64_t(1) << 53)) {
      squares[row] = static_cast<double>(r.quadruple_squares);
      if (events) f.m_events(t, n + row) = RowEvents{r.crossed, 0, r.halves};
    } else {
      squares[row] = -1.0;
      ++mixed_rows;
    }
  }
  settle_extremes<F>(sums, x2, marks, rows * dims);
  double* magnitudes = &f.m_magnitudes(t, n);  // a row of the (transition, token) view: contiguous
  const double radius = f.m_settings.hop_radius;
  int64_t frozen = 0, hops = 0, thermal = 0;
  for (int64_t row = 0; row < rows; ++row) {
    const double q = squares[row];
    const double magnitude = 0.5 * kmath::sqrt(q);  // NaN for the mixed rows, overwritten below
    magnitudes[row] = magnitude;
    frozen += q == 0.0;
    hops += (q > 0.0) & (magnitude <= radius);
    thermal += (q > 0.0) & (magnitude > radius);
  }
  population.counts[kCountFrozenRows] += frozen;
  population.counts[kCountHopRows] += hops;
  population.counts[kCountThermalRows] += thermal;
  for (int64_t row = 0; mixed_rows > 0 && row < rows; ++row) {
    if (squares[row] >= 0.0) continue;
    --mixed_rows;
    const int64_t offset = row * dims;
    const int64_t non_integer = population.counts[kCountNonInteger];
    const int64_t half = population.counts[kCountHalf];
    const double magnitude =
        mixed_row<F>(f, from + offset, to + offset, x2 + offset, marks + offset, dims, population, ulp, near_zero);
    magnitudes[row] = magnitude;
    population.counts[kCountFrozenRows + row_regime(magnitude, radius)] += 1;
    if (events) {
      const CommonRow r = common_row<F>(x2 + offset, marks + offset, dims);
      f.m_events(t, n + row) = RowEvents{r.crossed, static_cast<int32_t>(population.counts[kCountNonInteger] - non_integer),
                                         static_cast<int32_t>(population.counts[kCountHalf] - half + r.halves)};
    }
  }
  add_common_sums<F>(sums, population, ulp);
}

// The ULPs of `n` consecutive values of the final step: the common ones
// (a value paired with itself) in one flat loop, the others one by one.
template <class F, class Functor>
KOKKOS_INLINE_FUNCTION void common_final_ulps(const Functor& f, const typename F::bits_type* w, int64_t n,
                                              UlpTally& u) {
  using C = formats::CommonCase<F>;
  using U = typename C::U;
  const typename C::Rules rules = f.m_common_rules;
  for (int64_t begin = 0; begin < n; begin += kGroupCoordinates) {
    const int64_t end = n - begin < kGroupCoordinates ? n : begin + kGroupCoordinates;
    U zeros = 0, subnormals = 0, uncommon = 0, field_min = static_cast<U>(~U(0)), field_max = 0;
    for (int64_t i = begin; i < end; ++i) {
      const typename C::Lane l = C::lane(static_cast<U>(w[i]), static_cast<U>(w[i]), rules);
      const U mask = static_cast<U>(-l.common);
      zeros = static_cast<U>(zeros + (l.b_zero & l.common));
      subnormals = static_cast<U>(subnormals + (l.b_subnormal & l.common));
      uncommon = static_cast<U>(uncommon + (l.common ^ 1));
      const U field_or_high = static_cast<U>(l.ulp_field | static_cast<U>(~mask));
      field_min = field_or_high < field_min ? field_or_high : field_min;
      const U field_or_low = static_cast<U>(l.ulp_field & mask);
      field_max = field_or_low > field_max ? field_or_low : field_max;
    }
    u.zeros += zeros;
    u.subnormals += subnormals;
    if (uncommon < end - begin) {
      const int k_lo = C::ulp_exponent_of_field(field_min), k_hi = C::ulp_exponent_of_field(field_max);
      u.min_exponent = k_lo < u.min_exponent ? k_lo : u.min_exponent;
      u.max_exponent = k_hi > u.max_exponent ? k_hi : u.max_exponent;
    }
    for (int64_t i = begin; uncommon > 0 && i < end; ++i)
      if (!C::lane(static_cast<U>(w[i]), static_cast<U>(w[i]), rules).common) {
        f.ulp_of_value(w[i], u);
        --uncommon;
      }
  }
}

// One work item through the common case: its tokens in groups of whole rows
// of one population (live or dead).
template <class F, class Functor>
KOKKOS_INLINE_FUNCTION void common_item(const Functor& f, const int64_t item) {
  const int64_t t = item / f.m_items_per_transition;
  const int64_t chunk = item % f.m_items_per_transition;
  const int64_t per_item = f.m_settings.tokens_per_item;
  const int64_t token_begin = chunk * per_item;
  const int64_t token_end = token_begin + per_item < f.m_tokens ? token_begin + per_item : f.m_tokens;
  const int64_t rows_per_group =
      kGroupCoordinates / f.m_dims < kGroupRows ? kGroupCoordinates / f.m_dims : kGroupRows;
  ItemTally tally;
  tally.reset();
  NearZeroFold<F> fold;
  auto out = f.m_near_zero.access();
  fold.reset(f.m_settings.epsilon, static_cast<formats::ZeroUlp>(static_cast<int>(f.m_settings.zero_ulp)));
  for (int64_t n = token_begin; n < token_end;) {
    const uint8_t dead = f.m_dead(n);
    int64_t n_end = n + 1;
    while (n_end < token_end && n_end - n < rows_per_group && f.m_dead(n_end) == dead) ++n_end;
    const int p = dead ? kDead : kLive;
    const NearZeroGroup<F, decltype(out)> near_zero{f.m_near_zero.enabled ? &fold : nullptr, &out, p, t};
    common_rows<F>(f, t, n, n_end, tally.population[p], tally.ulp, near_zero);
    n = n_end;
  }
  if (t == f.m_last_transition)
    common_final_ulps<F>(f, &f.m_values(t + 1, token_begin, 0), (token_end - token_begin) * f.m_dims, tally.ulp);
  if (f.m_near_zero.enabled) {
    fold.flush(out);
    f.m_near_zero.items(t, chunk) = fold.item;
    fold.add_common_counts(tally.population, tally.ulp);  // the FP8 formats' (common_group)
  }
  f.m_tallies(t, chunk) = tally;
}

// Whether the common pass applies: whole rows one after another in W, and a row fits a group.
template <class Values>
bool rows_are_contiguous(const Values& values) {
  return values.extent(2) > 0 && static_cast<int64_t>(values.extent(2)) <= kGroupCoordinates &&
         values.stride(2) == 1 && (values.extent(1) < 2 || values.stride(1) == values.extent(2));
}

template <class Space>
struct BlockAnalysisFunctor {
  using Format = formats::BF16;
  BlockAnalysisFunctor(const typename BlockViews<Space>::Values& values, const typename BlockViews<Space>::Flags& dead,
                       bool includes_final_step, const KernelSettings& settings,
                       const typename BlockViews<Space>::Tallies& tallies,
                       const typename BlockViews<Space>::Magnitudes& magnitudes,
                       const typename MotionViews<Space>::Events& events)
      : m_values(values),
        m_dead(dead),
        m_tallies(tallies),
        m_magnitudes(magnitudes),
        m_events(events),
        m_settings(settings),
        m_tokens(static_cast<int64_t>(values.extent(1))),
        m_dims(static_cast<int64_t>(values.extent(2))),
        m_items_per_transition(block_items_per_transition(m_tokens, settings.tokens_per_item)),
        m_last_transition(includes_final_step ? static_cast<int64_t>(values.extent(0)) - 2 : -1),
        m_seed_epsilon(static_cast<float>(settings.epsilon)),
        m_zero_ulp_field(
            settings.arithmetic == Arithmetic::exact && settings.zero_ulp == bf16::ZeroUlp::min_subnormal ? 1 : 8),
        m_fast_halves(settings.epsilon < 0.25 ? 1 : 0),
        m_fast_minus_half(settings.arithmetic == Arithmetic::exact ? 1 : 0),
        m_common_rules(formats::CommonCase<formats::BF16>::rules(
            static_cast<formats::ZeroUlp>(static_cast<int>(settings.zero_ulp)), settings.epsilon)),
        m_common(settings.arithmetic == Arithmetic::exact && rows_are_contiguous(values)) {}

  // Work items: a transition x a run of tokens.
  int64_t items() const { return (static_cast<int64_t>(m_values.extent(0)) - 1) * m_items_per_transition; }

  typename BlockViews<Space>::Values m_values;
  typename BlockViews<Space>::Flags m_dead;
  typename BlockViews<Space>::Tallies m_tallies;
  typename BlockViews<Space>::Magnitudes m_magnitudes;
  typename MotionViews<Space>::Events m_events;  // empty: not recorded
  KernelSettings m_settings;
  int64_t m_tokens;
  int64_t m_dims;
  int64_t m_items_per_transition;
  int64_t m_last_transition;  // -1 unless the block holds the final step
  float m_seed_epsilon;
  // The exponent field e of a zero b's ULP, 2^(e - 134), in the driving
  // arithmetic: 2^-126 (seed, min-normal) or 2^-133 (min-subnormal).
  int32_t m_zero_ulp_field;
  // Half-integer x in the fast path: both arithmetics class them half
  // (epsilon below 1/4, exact in float32 too).
  int32_t m_fast_halves;
  int32_t m_fast_minus_half;  // exact: round_half_even(-1/2) is +0 (seed: -0)
  typename formats::CommonCase<formats::BF16>::Rules m_common_rules;
  // The exact arithmetic over contiguous rows: the common pass (common_item),
  // this functor's rows for the rest.
  bool m_common;
  NearZeroSink<Space> m_near_zero;  // not enabled: no near-zero breakdown

  // The general path: any finite or non-finite pair, both arithmetics.
  // Returns the driving arithmetic's x as a double, NaN if not finite.
  KOKKOS_INLINE_FUNCTION double general_coordinate(uint16_t a, uint16_t b, PopulationTally& p) const {
    const bool exact_finite = bf16::is_finite(a) && bf16::is_finite(b);
    const ExactDisplacement x = bf16::exact_displacement(a, b, m_settings.zero_ulp);
    const int exact_class = exact_finite ? bf16::classify(x, m_settings.epsilon) : bf16::kNonfinite;
    const float seed_x = bf16::seed_displacement(a, b);
    const int seed_class = bf16::seed_classify(seed_x, m_seed_epsilon);
    // The seed side always uses 2^-126 for zeros; the exact side is the
    // report's own x, under the --zero-ulp in force (docs/definitions.md).
    if (disagree(exact_finite, x, exact_class, seed_x, seed_class)) {
      p.counts[kCountDisagreements] += 1;
      p.counts[disagreement_cause(a, b, m_settings.zero_ulp)] += 1;
    }

    if (m_settings.arithmetic == Arithmetic::exact) {
      if (!exact_finite) {
        p.counts[bf16::kNonfinite] += 1;
        return nonfinite_magnitude();
      }
      const Outcome o = exact_outcome(x, m_settings.epsilon);
      add_outcome(p, o);
      return o.value;
    }
    if (seed_class == bf16::kNonfinite) {
      p.counts[bf16::kNonfinite] += 1;
      return nonfinite_magnitude();
    }
    const Outcome o = seed_outcome(seed_x, m_seed_epsilon);
    add_outcome(p, o);
    return o.value;
  }

  // A coordinate outside the common case (common_rows): W[t]'s ULP into `u`, x by the general rules.
  KOKKOS_INLINE_FUNCTION double uncommon_coordinate(uint16_t a, uint16_t b, PopulationTally& p, UlpTally& u) const {
    ulp_of_value(b, u);
    return general_coordinate(a, b, p);
  }

  KOKKOS_INLINE_FUNCTION double value_of_x(uint16_t a, uint16_t b) const {
    if (m_settings.arithmetic == Arithmetic::exact)
      return bf16::to_double(bf16::exact_displacement(a, b, m_settings.zero_ulp));
    return static_cast<double>(bf16::seed_displacement(a, b));
  }

  KOKKOS_INLINE_FUNCTION void ulp_of_value(uint16_t b, UlpTally& u) const {
    const int e = bf16::exponent_field(b);
    if (e == 255) {
      u.nonfinite += 1;
      return;
    }
    if (e == 0) {
      if (bf16::mantissa_field(b) == 0)
        u.zeros += 1;
      else
        u.subnormals += 1;
    }
    int k = bf16::ulp_exponent(b, m_settings.zero_ulp);
    if (m_settings.arithmetic == Arithmetic::seed) {
      // The notebook's ULP: 0 or a power of two, normal (exponent field k + 127) or
      // subnormal (2^-133 times its one mantissa bit: 2^-133 .. 2^-127).
      const uint16_t seed_u = bf16::seed_ulp(b);
      if (bf16::is_zero(seed_u)) {
        k = kZeroUlpExponent;
      } else if (bf16::exponent_field(seed_u) != 0) {
        k = bf16::exponent_field(seed_u) - 127;
      } else {
        k = -133;
        for (int m = bf16::mantissa_field(seed_u); m > 1; m >>= 1) ++k;
      }
    }
    if (k < u.min_exponent) u.min_exponent = k;
    if (k > u.max_exponent) u.max_exponent = k;
  }

  // The lattice path (easy_lanes): true, with the row tallied into `p` and
  // `u` and its magnitude, when every coordinate is fast; false, with
  // nothing tallied, otherwise.
  KOKKOS_FORCEINLINE_FUNCTION bool lattice_row(const uint16_t* from, const uint16_t* to, PopulationTally& p,
                                               UlpTally& u, double& magnitude) const {
    FastRowSums sums;
    for (int64_t begin = 0; begin < m_dims; begin += kLaneChunk) {
      const int32_t n = static_cast<int32_t>(m_dims - begin < kLaneChunk ? m_dims - begin : kLaneChunk);
      uint8_t hard[kLaneChunk];
      const EasyLanes lanes = easy_lanes(from + begin, to + begin, n, static_cast<uint16_t>(m_zero_ulp_field), hard);
      sums.add(lanes, n);
      if (lanes.hard > 0 && !add_hard_lanes(from + begin, to + begin, n, hard, sums)) return false;
    }
    if (!fast_row_magnitude(sums, magnitude)) return false;
    add_fast_row(sums, m_dims, p, u);
    return true;
  }

  // The magnitude of a row whose coordinates are all fast, from its sum of
  // (2x)^2; false where the seed's float32 sum might round (the general pass
  // then sums it as torch does). Squares of multiples of 1/2 below 2^26 sum
  // exactly in any order, so this equals numpy's pairwise sum (sqrt(S / 4) =
  // sqrt(S) / 2 exactly); below 2^24 quarters (2^26 without halves) also any
  // float32 sum, whose correctly rounded sqrt is the float of the double sqrt.
  KOKKOS_INLINE_FUNCTION bool fast_row_magnitude(const FastRowSums& sums, double& magnitude) const {
    const double exact_magnitude = 0.5 * kmath::sqrt(static_cast<double>(sums.quadruple_squares));
    if (m_settings.arithmetic == Arithmetic::exact) {
      magnitude = exact_magnitude;
      return true;
    }
    if (sums.quadruple_squares >= (int64_t(1) << (sums.halves == 0 ? 26 : 24))) return false;
    magnitude = static_cast<double>(static_cast<float>(exact_magnitude));
    return true;
  }

  // The lanes easy_lanes left (hard[d] = 1), by pass 1's fast test: false if
  // one of them is not fast. Reads the marks eight at a time, one bit each.
  KOKKOS_INLINE_FUNCTION bool add_hard_lanes(const uint16_t* from, const uint16_t* to, int32_t n, uint8_t* hard,
                                             FastRowSums& sums) const {
    for (int32_t d = n; d % 8 != 0; ++d) hard[d] = 0;
    for (int32_t word = 0; word < n; word += 8) {
      uint64_t marks;
      memcpy(&marks, hard + word, 8);
      for (; marks != 0; marks &= marks - 1) {
        const int32_t d = word + kmath::lowest_set_bit(marks) / 8;
        // x = -1/2 is fast here in both arithmetics: the seed's round-half-even
        // of it is -0, equal to the +0 tallied (a zero extreme's sign depends
        // on the order zeros are met in, and is not part of the result).
        const FastCoordinate c = fast_doubled_x(to[d], from[d], m_fast_halves, 1);
        if (!(c.normal | c.zero)) return false;
        sums.add(c, to[d], from[d], m_zero_ulp_field);
      }
    }
    return true;
  }

  // One row (transition t, token n): classify its coordinates into `p`, the
  // ULPs of W[t] into `u`; returns the row's magnitude.
  KOKKOS_FORCEINLINE_FUNCTION double analyze_row(const uint16_t* from, const uint16_t* to, PopulationTally& p,
                                                 UlpTally& u) const {
    double magnitude;
    if (lattice_row(from, to, p, u, magnitude)) return magnitude;
    return general_row(from, to, p, u);
  }

  // Any row, in two passes: pass 1 the fast coordinates, pass 2 the others
  // and the magnitude in numpy's order. Forced inline: left to itself the
  // compiler stops inlining it into operator() (about 5% slower).
  KOKKOS_FORCEINLINE_FUNCTION double general_row(const uint16_t* from, const uint16_t* to, PopulationTally& p,
                                                 UlpTally& u) const {
    int32_t held[kHeldDims];  // pass 1's 2x, or kNotFast (when dims <= kHeldDims)
    int32_t fast = 0;
    const FastRowSums sums = fast_pass(from, to, held, fast);
    add_fast_row(sums, fast, p, u);
    double magnitude;
    if (fast == m_dims && fast_row_magnitude(sums, magnitude)) return magnitude;
    return general_pass(from, to, held, p, u);
  }

  // Pass 1, branch-free (masks, no short-circuits) so compilers vectorize
  // it, over the fast coordinates (fast_doubled_x): there 2x is a small
  // integer, both arithmetics agree, and the squares sum exactly. Their
  // sums, their count in `fast`, and held[d] for rows of up to kHeldDims.
  KOKKOS_FORCEINLINE_FUNCTION FastRowSums fast_pass(const uint16_t* from, const uint16_t* to, int32_t* held,
                                                    int32_t& fast) const {
    const int64_t dims = m_dims;
    int32_t moved = 0, crossed = 0, zeros = 0, halves = 0;
    int32_t x2_min = 1 << 30, x2_max = -(1 << 30), e_min = 255, e_max = 0;
    const int32_t zero_field = m_zero_ulp_field;
    const int32_t allow_halves = m_fast_halves, allow_minus_half = m_fast_minus_half;
    const bool hold = dims <= kHeldDims;
    int64_t quadruple_squares = 0;    // the sum of (2x)^2
    constexpr int64_t kChunk = 8192;  // keeps the int32 sum of (2x)^2 (<= 510^2 each) exact
    for (int64_t begin = 0; begin < dims; begin += kChunk) {
      const int32_t end = static_cast<int32_t>((dims - begin) < kChunk ? dims - begin : kChunk);
      const uint16_t* chunk_to = to + begin;
      const uint16_t* chunk_from = from + begin;
      int32_t chunk_squares = 0;
      for (int32_t d = 0; d < end; ++d) {
        const int32_t a = chunk_to[d], b = chunk_from[d];
        const FastCoordinate c = fast_doubled_x(a, b, allow_halves, allow_minus_half);
        crossed += static_cast<int32_t>(((a ^ b) & 0x7F80) != 0);
        const int32_t is_fast = c.normal | c.zero;
        const int32_t mask = -is_fast;
        fast += is_fast;
        zeros += c.zero;
        halves += c.x2 & 1;
        moved += is_fast & static_cast<int32_t>(c.x2 != 0);
        const int32_t x_or_high = (c.x2 & mask) | (~mask & (1 << 30));
        const int32_t x_or_low = (c.x2 & mask) | (~mask & -(1 << 30));
        x2_min = x_or_high < x2_min ? x_or_high : x2_min;
        x2_max = x_or_low > x2_max ? x_or_low : x2_max;
        const int32_t e = (((b >> 7) & 0xFF) & -c.normal) | (zero_field & -c.zero);  // the field of b's ULP
        const int32_t e_or_high = (e & mask) | (~mask & 255);
        e_min = e_or_high < e_min ? e_or_high : e_min;
        e_max = (e & mask) > e_max ? (e & mask) : e_max;
        chunk_squares += c.x2 * c.x2;
        // A contiguous store (an index masked to the array's size made it a scatter).
        if (hold) held[d] = (c.x2 & mask) | (~mask & kNotFast);
      }
      quadruple_squares += chunk_squares;
    }
    return FastRowSums{quadruple_squares, moved, crossed, zeros, halves, x2_min, x2_max, e_min, e_max};
  }

  // Pass 2: the coordinates pass 1 left, by the general rules, then the
  // row's magnitude in numpy's order (torch's for the seed arithmetic).
  KOKKOS_FORCEINLINE_FUNCTION double general_pass(const uint16_t* from, const uint16_t* to, const int32_t* held,
                                                  PopulationTally& p, UlpTally& u) const {
    const int64_t dims = m_dims;
    double values[kHeldDims];
    bool row_finite = true;
    for (int64_t d = 0; d < dims; ++d) {
      double value;
      int32_t x2 = kNotFast;
      if (dims <= kHeldDims) {
        x2 = held[d];
      } else {
        const FastCoordinate c = fast_doubled_x(to[d], from[d], m_fast_halves, m_fast_minus_half);
        if (c.normal | c.zero) x2 = c.x2;
      }
      if (x2 != kNotFast) {
        value = 0.5 * x2;
      } else {
        ulp_of_value(from[d], u);
        value = general_coordinate(to[d], from[d], p);
        if (!(value - value == 0.0)) row_finite = false;
      }
      if (d < kHeldDims) values[d] = value;
    }
    if (!row_finite) return nonfinite_magnitude();
    if (m_settings.arithmetic == Arithmetic::seed) {
      const auto seed_value = [&](int64_t d) {
        return d < kHeldDims ? static_cast<float>(values[d]) : bf16::seed_displacement(to[d], from[d]);
      };
      // torch.norm overflows to Inf past about 1.8e19: such a row is
      // non-finite, excluded from the statistics as the notebook does.
      const float norm = torch_float_norm(dims, seed_value);
      return bf16::is_finite_float(norm) ? static_cast<double>(norm) : nonfinite_magnitude();
    }
    if (dims <= kHeldDims) {
      const auto square = [&](int64_t d) { return values[d] * values[d]; };
      return kmath::sqrt(pairwise_sum(0, dims, square));
    }
    const auto square = [&](int64_t d) {
      const double v = value_of_x(to[d], from[d]);
      return v * v;
    };
    return kmath::sqrt(pairwise_sum(0, dims, square));
  }

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t item) const {
    if (m_common)
      common_item<formats::BF16>(*this, item);
    else
      analyze_item(*this, item);
  }
};

// Any element format other than bf16 (docs/definitions.md §17): the exact rules of formats/lattice_rules.hpp, one coordinate at
// a time (bf16 keeps its lattice lanes above). Tallies, magnitudes (numpy's
// pairwise order) and row events as BlockAnalysisFunctor has them; the exact
// arithmetic only (the seed arithmetic is bf16's).
template <class Space, class F>
struct FormatAnalysisFunctor {
  using Format = F;
  using Bits = typename F::bits_type;
  using L = formats::Lattice<F>;
  using Values = Kokkos::View<const Bits***, Kokkos::LayoutStride, typename Space::memory_space>;

  FormatAnalysisFunctor(const Values& values, const typename BlockViews<Space>::Flags& dead, bool includes_final_step,
                        const KernelSettings& settings, const typename BlockViews<Space>::Tallies& tallies,
                        const typename BlockViews<Space>::Magnitudes& magnitudes,
                        const typename MotionViews<Space>::Events& events)
      : m_values(values),
        m_dead(dead),
        m_tallies(tallies),
        m_magnitudes(magnitudes),
        m_events(events),
        m_settings(settings),
        m_zero_rule(static_cast<formats::ZeroUlp>(static_cast<int>(settings.zero_ulp))),
        m_tokens(static_cast<int64_t>(values.extent(1))),
        m_dims(static_cast<int64_t>(values.extent(2))),
        m_items_per_transition(block_items_per_transition(m_tokens, settings.tokens_per_item)),
        m_last_transition(includes_final_step ? static_cast<int64_t>(values.extent(0)) - 2 : -1),
        m_common_rules(formats::CommonCase<F>::rules(m_zero_rule, settings.epsilon)),
        m_common(rows_are_contiguous(values)) {}

  int64_t items() const { return (static_cast<int64_t>(m_values.extent(0)) - 1) * m_items_per_transition; }

  Values m_values;
  typename BlockViews<Space>::Flags m_dead;
  typename BlockViews<Space>::Tallies m_tallies;
  typename BlockViews<Space>::Magnitudes m_magnitudes;
  typename MotionViews<Space>::Events m_events;
  KernelSettings m_settings;
  formats::ZeroUlp m_zero_rule;
  int64_t m_tokens;
  int64_t m_dims;
  int64_t m_items_per_transition;
  int64_t m_last_transition;
  typename formats::CommonCase<F>::Rules m_common_rules;
  bool m_common;  // contiguous rows: the common pass (common_item), analyze_row for the rest
  NearZeroSink<Space> m_near_zero;  // not enabled: no near-zero breakdown

  // The common cases, decided from the bits alone: a and b finite, of one
  // sign, and either of one exponent field (b not a zero unless a is one
  // too: then U(b) is a's scale and x = +-(the patterns' difference)) or b
  // normal and a up to 8 binades above it with |x| <= 2^24 (x = +-(qa *
  // 2^shift - qb)). Then x is an integer exactly a float32: class exact, its
  // own rounding.
  KOKKOS_INLINE_FUNCTION bool fast_coordinate(Bits a, Bits b, PopulationTally& p, double& value) const {
    const uint32_t ra = L::raw(a), rb = L::raw(b);
    if (L::sign_bit(a) != L::sign_bit(b) || !L::is_finite(a) || !L::is_finite(b)) return false;
    const int ea = L::exponent_field(a), eb = L::exponent_field(b);
    int64_t magnitude;
    if (ea == eb) {
      if (L::is_zero(b) && !L::is_zero(a)) return false;
      magnitude = static_cast<int64_t>(ra) - static_cast<int64_t>(rb);
    } else if (eb >= 1 && ea > eb && ea - eb <= 8) {
      const int64_t hidden = int64_t(1) << F::mantissa_bits;
      magnitude = ((static_cast<int64_t>(L::mantissa_field(a)) + hidden) << (ea - eb)) -
                  (static_cast<int64_t>(L::mantissa_field(b)) + hidden);
      if (magnitude > (int64_t(1) << 24)) return false;
    } else {
      return false;
    }
    const int64_t x = L::sign_bit(b) ? -magnitude : magnitude;
    Outcome o;
    o.klass = bf16::kExact;
    o.value = static_cast<double>(x);
    o.rounded = o.value;
    o.width = bf16::width_of(x);
    o.beyond_float32 = o.beyond_float64 = o.float32_inexact = false;
    add_outcome(p, o);
    value = o.value;
    return true;
  }

  // x of one coordinate into `p`; its correctly rounded double, NaN if not finite.
  KOKKOS_INLINE_FUNCTION double coordinate(Bits a, Bits b, PopulationTally& p) const {
    double fast;
    if (fast_coordinate(a, b, p, fast)) return fast;
    if (!L::is_finite(a) || !L::is_finite(b)) {
      p.counts[bf16::kNonfinite] += 1;
      return nonfinite_magnitude();
    }
    const formats::ExactX x = formats::exact_x<F>(a, b, m_zero_rule);
    Outcome o;
    o.klass = formats::classify<F>(x, m_settings.epsilon);
    o.value = formats::to_double(x);
    const bf16::IntegerFacts facts = formats::integer_facts<F>(x);
    o.rounded = facts.rounded;
    o.width = facts.width;
    o.beyond_float32 = facts.beyond_2_24;
    o.beyond_float64 = facts.beyond_2_53;
    o.float32_inexact = !formats::exactly_float32(x);
    add_outcome(p, o);
    return o.value;
  }

  // A coordinate outside the common case (common_rows): W[t]'s ULP into `u`, x by the general rules.
  KOKKOS_INLINE_FUNCTION double uncommon_coordinate(Bits a, Bits b, PopulationTally& p, UlpTally& u) const {
    ulp_of_value(b, u);
    return coordinate(a, b, p);
  }

  KOKKOS_INLINE_FUNCTION double value_of_x(Bits a, Bits b) const {
    if (!L::is_finite(a) || !L::is_finite(b)) return nonfinite_magnitude();
    return formats::to_double(formats::exact_x<F>(a, b, m_zero_rule));
  }

  KOKKOS_INLINE_FUNCTION void ulp_of_value(Bits b, UlpTally& u) const {
    if (!L::is_finite(b)) {
      u.nonfinite += 1;
      return;
    }
    if (L::is_zero(b)) u.zeros += 1;
    if (L::is_subnormal(b)) u.subnormals += 1;
    const int k = L::ulp_exponent(b, m_zero_rule);
    if (k < u.min_exponent) u.min_exponent = k;
    if (k > u.max_exponent) u.max_exponent = k;
  }

  // One row: every coordinate classified into `p`, W[t]'s ULPs into `u`; its magnitude.
  KOKKOS_INLINE_FUNCTION double analyze_row(const Bits* from, const Bits* to, PopulationTally& p, UlpTally& u) const {
    double values[kHeldDims];
    bool row_finite = true;
    for (int64_t d = 0; d < m_dims; ++d) {
      p.counts[kCountCrossed] += static_cast<int64_t>(L::exponent_field(to[d]) != L::exponent_field(from[d]));
      ulp_of_value(from[d], u);
      const double value = coordinate(to[d], from[d], p);
      if (!(value - value == 0.0)) row_finite = false;
      if (d < kHeldDims) values[d] = value;
    }
    if (!row_finite) return nonfinite_magnitude();
    const auto square = [&](int64_t d) {
      const double v = d < kHeldDims ? values[d] : value_of_x(to[d], from[d]);
      return v * v;
    };
    return kmath::sqrt(pairwise_sum(0, m_dims, square));
  }

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t item) const {
    if (m_common)
      common_item<F>(*this, item);
    else
      analyze_item(*this, item);
  }
};

}  // namespace

int64_t block_items_per_transition(int64_t tokens, int64_t tokens_per_item) {
  return (tokens + tokens_per_item - 1) / tokens_per_item;
}

namespace {

template <class Space>
void run_block_analysis(const typename BlockViews<Space>::Values& values, const typename BlockViews<Space>::Flags& dead,
                        bool includes_final_step, const KernelSettings& settings,
                        const typename BlockViews<Space>::Tallies& tallies,
                        const typename BlockViews<Space>::Magnitudes& magnitudes,
                        const typename MotionViews<Space>::Events& events,
                        const NearZeroSink<Space>& near_zero = NearZeroSink<Space>()) {
  BlockAnalysisFunctor<Space> functor(values, dead, includes_final_step, settings, tallies, magnitudes, events);
  functor.m_near_zero = near_zero;
  Kokkos::parallel_for("latdisp::displacement::analyze_block",
                       Kokkos::RangePolicy<Space, Kokkos::IndexType<int64_t>>(0, functor.items()), functor);
  Kokkos::fence();
}

}  // namespace

void analyze_block(const BlockValues& values, const TokenFlags& dead, bool includes_final_step,
                   const KernelSettings& settings, const ItemTallies& tallies, const RowMagnitudes& magnitudes,
                   const RowEventViews& events) {
  run_block_analysis<ExecutionSpace>(values, dead, includes_final_step, settings, tallies, magnitudes, events);
}

namespace {

// A raw block as a View of format F's bits, (steps, tokens, dims), steps
// `step_stride` values apart.
template <class F>
Kokkos::View<const typename F::bits_type***, Kokkos::LayoutStride, DeviceMemory, Kokkos::MemoryUnmanaged> typed_view(
    const RawBlockValues& block) {
  const Kokkos::LayoutStride layout(static_cast<size_t>(block.steps), static_cast<size_t>(block.step_stride),
                                    static_cast<size_t>(block.tokens), static_cast<size_t>(block.dims),
                                    static_cast<size_t>(block.dims), 1);
  return Kokkos::View<const typename F::bits_type***, Kokkos::LayoutStride, DeviceMemory, Kokkos::MemoryUnmanaged>(
      static_cast<const typename F::bits_type*>(block.data), layout);
}


// Runs `run(sink)`; with `outputs`, the sink's scatter views start from zero
// and are folded into them afterwards.
template <class Run>
void with_near_zero_sink(NearZeroBlockOutputs* outputs, const Run& run) {
  using Sink = NearZeroSink<ExecutionSpace>;
  Sink sink;
  if (outputs == nullptr) {
    run(sink);
    return;
  }
  Kokkos::deep_copy(outputs->bins, 0);
  Kokkos::deep_copy(outputs->kinds, 0);
  Kokkos::deep_copy(outputs->maxima, 0);
  sink.enabled = true;
  sink.bins = typename Sink::Bins(outputs->bins);
  sink.kinds = typename Sink::Bins(outputs->kinds);
  sink.maxima = typename Sink::Maxima(outputs->maxima);
  sink.items = outputs->items;
  run(sink);
  Kokkos::Experimental::contribute(outputs->bins, sink.bins);
  Kokkos::Experimental::contribute(outputs->kinds, sink.kinds);
  Kokkos::Experimental::contribute(outputs->maxima, sink.maxima);
}

}  // namespace

void analyze_raw_block(const RawBlockValues& block, const TokenFlags& dead, bool includes_final_step,
                       const KernelSettings& settings, const ItemTallies& tallies, const RowMagnitudes& magnitudes,
                       const RowEventViews& events, NearZeroBlockOutputs* near_zero) {
  with_near_zero_sink(near_zero, [&](const NearZeroSink<ExecutionSpace>& sink) {
    formats::dispatch_element_type(block.type, [&](auto traits) {
      using F = decltype(traits);
      if constexpr (std::is_same<F, formats::BF16>::value) {
        run_block_analysis<ExecutionSpace>(typed_view<F>(block), dead, includes_final_step, settings, tallies,
                                           magnitudes, events, sink);
      } else {
        FormatAnalysisFunctor<ExecutionSpace, F> functor(typed_view<F>(block), dead, includes_final_step, settings,
                                                         tallies, magnitudes, events);
        functor.m_near_zero = sink;
        Kokkos::parallel_for("latdisp::displacement::analyze_format_block",
                             Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<int64_t>>(0, functor.items()),
                             functor);
        Kokkos::fence();
      }
    });
  });
}

void analyze_block_on_host(const BlockViews<HostSpace>::Values& values, const BlockViews<HostSpace>::Flags& dead,
                           bool includes_final_step, const KernelSettings& settings,
                           const BlockViews<HostSpace>::Tallies& tallies,
                           const BlockViews<HostSpace>::Magnitudes& magnitudes,
                           const MotionViews<HostSpace>::Events& events) {
  run_block_analysis<HostSpace>(values, dead, includes_final_step, settings, tallies, magnitudes, events);
}

}  // namespace latdisp
