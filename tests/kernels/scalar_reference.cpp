#include "scalar_reference.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace latdisp {
namespace kernel_reference {

double numpy_pairwise_sum(const double* a, int64_t n) {
  if (n < 8) {
    double sum = -0.0;
    for (int64_t i = 0; i < n; ++i) sum += a[i];
    return sum;
  }
  if (n <= 128) {
    double r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    int64_t i = 8;
    for (; i < n - n % 8; i += 8)
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    double sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) sum += a[i];
    return sum;
  }
  int64_t half = n / 2;
  half -= half % 8;
  return numpy_pairwise_sum(a, half) + numpy_pairwise_sum(a + half, n - half);
}

namespace {

using kernel_harness::HostBlock;

// A finite bfloat16 value as a double (exact).
double value_of(uint16_t b) { return std::ldexp(static_cast<double>(bf16::significand(b)), bf16::scale_exponent(b)); }

int width_of_integer(double rounded) {
  if (!(rounded >= -9223372036854775808.0 && rounded < 9223372036854775808.0)) return bf16::kNoInteger;
  const int64_t v = static_cast<int64_t>(rounded);
  if (v >= INT8_MIN && v <= INT8_MAX) return bf16::kInt8;
  if (v >= INT16_MIN && v <= INT16_MAX) return bf16::kInt16;
  if (v >= INT32_MIN && v <= INT32_MAX) return bf16::kInt32;
  return bf16::kInt64;
}

// One coordinate as the driving arithmetic sees it.
struct Coordinate {
  int klass = bf16::kNonfinite;
  double value = 0;    // x (exact: correctly rounded; seed: the float32 value)
  double rounded = 0;  // round_half_even(x)
  int width = bf16::kNoInteger;
  bool beyond_float32 = false, beyond_float64 = false, float32_inexact = false;
};

Coordinate exact_coordinate(uint16_t a, uint16_t b, const KernelSettings& settings) {
  Coordinate c;
  if (!bf16::is_finite(a) || !bf16::is_finite(b)) return c;
  const bf16::ExactDisplacement x = bf16::exact_displacement(a, b, settings.zero_ulp);
  const bf16::IntegerFacts facts = bf16::integer_facts(x);
  c.klass = bf16::classify(x, settings.epsilon);
  c.value = bf16::to_double(x);
  c.rounded = facts.rounded;
  c.width = facts.width;
  c.beyond_float32 = facts.beyond_2_24;
  c.beyond_float64 = facts.beyond_2_53;
  c.float32_inexact = !bf16::exactly_float32(x);
  return c;
}

Coordinate seed_coordinate(uint16_t a, uint16_t b, const KernelSettings& settings) {
  Coordinate c;
  const float x = bf16::seed_displacement(a, b);
  c.klass = bf16::seed_classify(x, static_cast<float>(settings.epsilon));
  if (!std::isfinite(x)) {
    c.klass = bf16::kNonfinite;
    return c;
  }
  c.value = static_cast<double>(x);
  c.rounded = std::nearbyint(c.value);  // the default rounding mode: half to even
  c.width = width_of_integer(c.rounded);
  c.beyond_float32 = std::fabs(c.value) > 16777216.0;
  c.beyond_float64 = std::fabs(c.value) > 9007199254740992.0;
  return c;
}

void add_coordinate(PopulationTally& p, const Coordinate& c) {
  p.counts[c.klass] += 1;
  if (c.klass == bf16::kNonfinite) return;
  p.counts[kCountMoved] += c.value != 0.0;
  p.counts[kCountBeyondFloat32] += c.beyond_float32;
  p.counts[kCountBeyondFloat64] += c.beyond_float64;
  p.counts[kCountFloat32Inexact] += c.float32_inexact;
  p.min = std::fmin(p.min, c.value);
  p.max = std::fmax(p.max, c.value);
  p.max_abs = std::fmax(p.max_abs, std::fabs(c.value));
  p.int_min = std::fmin(p.int_min, c.rounded);
  p.int_max = std::fmax(p.int_max, c.rounded);
  p.width = std::max(p.width, c.width);
}

// The two arithmetics disagree: a different value or class; two non-finite
// values agree. The seed side uses 2^-126 for zeros; the exact side the
// zero rule `zero_rule`.
bool arithmetics_disagree(uint16_t a, uint16_t b, double epsilon, bf16::ZeroUlp zero_rule) {
  const bool exact_finite = bf16::is_finite(a) && bf16::is_finite(b);
  const float seed_x = bf16::seed_displacement(a, b);
  const bool seed_finite = std::isfinite(seed_x);
  if (!exact_finite || !seed_finite) return exact_finite != seed_finite;
  const bf16::ExactDisplacement x = bf16::exact_displacement(a, b, zero_rule);
  if (bf16::classify(x, epsilon) != bf16::seed_classify(seed_x, static_cast<float>(epsilon))) return true;
  // Equal values: x is exactly a float32 value, and that value is seed_x.
  return !(bf16::exactly_float32(x) && bf16::to_double(x) == static_cast<double>(seed_x));
}

// Why: the notebook's ULP of b is not the exact side's U(b) (under
// `zero_rule`); else its bfloat16 a - b is not the exact difference; else the
// floor-based class.
int disagreement_cause(uint16_t a, uint16_t b, bf16::ZeroUlp zero_rule) {
  const float seed_u = bf16::to_float(bf16::seed_ulp(b));
  if (static_cast<double>(seed_u) != std::ldexp(1.0, bf16::ulp_exponent(b, zero_rule))) return kCountCauseUlpRule;
  const float delta = bf16::to_float(bf16::round_to_bf16(bf16::to_float(a) - bf16::to_float(b)));
  // delta == a - b exactly  <=>  a - delta == b exactly
  if (!std::isfinite(delta) || !bf16::exact_difference_is(value_of(a), static_cast<double>(delta), value_of(b)))
    return kCountCauseRounding;
  return kCountCauseFloor;
}

void add_ulp(UlpTally& u, uint16_t b, const KernelSettings& settings) {
  if (!bf16::is_finite(b)) {
    u.nonfinite += 1;
    return;
  }
  u.zeros += bf16::is_zero(b);
  u.subnormals += bf16::is_subnormal(b);
  int k = bf16::ulp_exponent(b, settings.zero_ulp);
  if (settings.arithmetic == Arithmetic::seed) {
    const float seed_u = bf16::to_float(bf16::seed_ulp(b));
    k = seed_u == 0.0f ? kZeroUlpExponent : std::ilogb(seed_u);
  }
  u.min_exponent = std::min(u.min_exponent, k);
  u.max_exponent = std::max(u.max_exponent, k);
}


// torch.norm of a float32 row on the CPU: 8 float lanes of squares, lanes
// added in order, the tail one by one, sqrt in float32.
float torch_float_norm(const std::vector<float>& x) {
  const size_t n = x.size(), unrolled = n - n % 8;
  float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (size_t d = 0; d < unrolled; ++d) lanes[d % 8] = lanes[d % 8] + x[d] * x[d];
  float sum = lanes[0];
  for (int j = 1; j < 8; ++j) sum = sum + lanes[j];
  for (size_t d = unrolled; d < n; ++d) sum = sum + x[d] * x[d];
  return std::sqrt(sum);
}

// One row (transition t, token n) into `tally`; returns its magnitude.
double reference_row(const HostBlock& block, int64_t t, int64_t n, const KernelSettings& settings,
                     const Conventions& conventions, ItemTally& tally) {
  const bf16::ZeroUlp disagreement_zero_rule =
      conventions.disagreements_use_report_zero_rule ? settings.zero_ulp : bf16::ZeroUlp::min_normal;
  PopulationTally& p = tally.population[block.dead(n) ? kDead : kLive];
  const bool seed = settings.arithmetic == Arithmetic::seed;
  std::vector<double> squares;
  std::vector<float> seed_values;
  bool row_finite = true;
  for (int64_t d = 0; d < block.dims(); ++d) {
    const uint16_t b = block.values(t, n, d), a = block.values(t + 1, n, d);
    p.counts[kCountCrossed] += bf16::exponent_field(a) != bf16::exponent_field(b);
    add_ulp(tally.ulp, b, settings);
    const Coordinate c = seed ? seed_coordinate(a, b, settings) : exact_coordinate(a, b, settings);
    add_coordinate(p, c);
    if (arithmetics_disagree(a, b, settings.epsilon, disagreement_zero_rule)) {
      p.counts[kCountDisagreements] += 1;
      p.counts[disagreement_cause(a, b, disagreement_zero_rule)] += 1;
    }
    row_finite &= c.klass != bf16::kNonfinite;
    squares.push_back(c.value * c.value);
    seed_values.push_back(static_cast<float>(c.value));
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (!row_finite) return nan;
  if (!seed) return std::sqrt(numpy_pairwise_sum(squares.data(), static_cast<int64_t>(squares.size())));
  const float norm = torch_float_norm(seed_values);
  return std::isfinite(norm) ? static_cast<double>(norm) : nan;  // an overflowed norm is a non-finite row
}

}  // namespace

AnalysisReference reference_analyze_block(const HostBlock& block, bool includes_final_step,
                                          const KernelSettings& settings, const Conventions& conventions) {
  const int64_t transitions = block.steps() - 1, tokens = block.tokens(), per_item = settings.tokens_per_item;
  AnalysisReference reference;
  reference.items_per_transition = (tokens + per_item - 1) / per_item;
  reference.tallies.resize(static_cast<size_t>(transitions * reference.items_per_transition));
  reference.magnitudes.resize(static_cast<size_t>(transitions * tokens));
  for (int64_t t = 0; t < transitions; ++t)
    for (int64_t item = 0; item < reference.items_per_transition; ++item) {
      ItemTally& tally = reference.tallies[static_cast<size_t>(t * reference.items_per_transition + item)];
      tally.reset();
      for (int64_t n = item * per_item; n < std::min(tokens, (item + 1) * per_item); ++n) {
        const double m = reference_row(block, t, n, settings, conventions, tally);
        reference.magnitudes[static_cast<size_t>(t * tokens + n)] = m;
        // The row's regime (docs/definitions.md, "Motion regimes"), against the kernel's radius.
        const int regime = !std::isfinite(m)          ? kCountNonfiniteRows
                           : m == 0.0                 ? kCountFrozenRows
                           : m <= settings.hop_radius ? kCountHopRows
                                                      : kCountThermalRows;
        tally.population[block.dead(n) ? kDead : kLive].counts[regime] += 1;
        if (includes_final_step && t == transitions - 1)
          for (int64_t d = 0; d < block.dims(); ++d) add_ulp(tally.ulp, block.values(t + 1, n, d), settings);
      }
    }
  return reference;
}

namespace {

// x of the exact arithmetic, known to be an integer, as an exact integer
// (|x| < 2^110 here, or flagged as beyond every dtype).
bool exact_integer(const bf16::ExactDisplacement& x, __int128& value) {
  if (x.qa == 0) {
    value = -static_cast<__int128>(x.qb);
    return true;
  }
  if (x.s > 100) return false;  // |x| >= 2^101 - 255
  if (x.s >= 0) {
    value = (static_cast<__int128>(x.qa) << x.s) - x.qb;
    return true;
  }
  // An integer x from a finer binade: 2^-s divides qa, so -s <= 7.
  const int t = -x.s;
  value = static_cast<__int128>(t < 16 ? x.qa / (1 << t) : 0) - x.qb;
  return true;
}

bool fits_width(__int128 value, int width) {
  const int bits = 8 << width;
  const __int128 high = (static_cast<__int128>(1) << (bits - 1)) - 1;
  return value >= -high - 1 && value <= high;
}

// The driving arithmetic's integer and exception kind of one coordinate.
void encode_coordinate(uint16_t a, uint16_t b, const KernelSettings& settings, int width, int64_t& integer,
                       uint8_t& kind) {
  integer = 0;
  if (settings.arithmetic == Arithmetic::seed) {
    const float x = bf16::seed_displacement(a, b);
    const int klass = bf16::seed_classify(x, static_cast<float>(settings.epsilon));
    kind = static_cast<uint8_t>(klass);  // classes 1..4 are the exception kinds 1..4
    if (klass != bf16::kExact) return;
    const double v = static_cast<double>(x);
    const bool in_int64 = v >= -9223372036854775808.0 && v < 9223372036854775808.0;
    if (!in_int64 || !fits_width(static_cast<__int128>(v), width)) {
      kind = kExceptionOutOfRange;
      return;
    }
    integer = static_cast<int64_t>(v);
    kind = kNoException;
    return;
  }
  if (!bf16::is_finite(a) || !bf16::is_finite(b)) {
    kind = kExceptionNonfinite;
    return;
  }
  const bf16::ExactDisplacement x = bf16::exact_displacement(a, b, settings.zero_ulp);
  kind = static_cast<uint8_t>(bf16::classify(x, settings.epsilon));
  if (kind != kNoException) return;
  __int128 value = 0;
  if (!exact_integer(x, value) || !fits_width(value, width)) {
    kind = kExceptionOutOfRange;
    return;
  }
  integer = static_cast<int64_t>(value);
}

// The value an exception records: x of the driving arithmetic as a double,
// correctly rounded (exact) or the float32 value (seed); NaN where x is not
// finite in the exact arithmetic.
double exception_value(uint16_t a, uint16_t b, const KernelSettings& settings, uint8_t kind) {
  if (settings.arithmetic == Arithmetic::seed) return static_cast<double>(bf16::seed_displacement(a, b));
  if (kind == kExceptionNonfinite) return std::numeric_limits<double>::quiet_NaN();
  return bf16::to_double(bf16::exact_displacement(a, b, settings.zero_ulp));
}

// U(b) as bfloat16 bits: 2^k through float32, NaN where undefined.
uint16_t ulp_bits_of(uint16_t b, const KernelSettings& settings) {
  if (settings.arithmetic == Arithmetic::seed) return bf16::seed_ulp(b);
  if (!bf16::is_finite(b)) return 0x7FC0;
  const float u = std::ldexp(1.0f, bf16::ulp_exponent(b, settings.zero_ulp));
  uint32_t bits;
  std::memcpy(&bits, &u, sizeof bits);
  return static_cast<uint16_t>(bits >> 16);
}

}  // namespace

EncodeReference reference_encode_block(const HostBlock& block, const KernelSettings& settings, int integer_width) {
  const int64_t steps = block.steps(), tokens = block.tokens(), dims = block.dims();
  const size_t coordinates = static_cast<size_t>((steps - 1) * tokens * dims);
  EncodeReference reference;
  reference.integers.resize(coordinates);
  reference.kinds.resize(coordinates);
  reference.crossed.resize(coordinates);
  reference.ulps.resize(static_cast<size_t>(steps * tokens * dims));
  reference.values.resize(coordinates);
  size_t i = 0, u = 0;
  for (int64_t t = 0; t < steps; ++t)
    for (int64_t n = 0; n < tokens; ++n)
      for (int64_t d = 0; d < dims; ++d, ++u) {
        const uint16_t b = block.values(t, n, d);
        reference.ulps[u] = ulp_bits_of(b, settings);
        if (t == steps - 1) continue;
        const uint16_t a = block.values(t + 1, n, d);
        encode_coordinate(a, b, settings, integer_width, reference.integers[i], reference.kinds[i]);
        if (reference.kinds[i] != kNoException) reference.values[i] = exception_value(a, b, settings, reference.kinds[i]);
        reference.crossed[i] = bf16::exponent_field(a) != bf16::exponent_field(b);
        ++i;
      }
  return reference;
}

}  // namespace kernel_reference
}  // namespace latdisp
