#include "kokkos_kernels/encode_block.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

#include "kokkos_kernels/formats/common_case.hpp"
#include "kokkos_kernels/formats/lattice_rules.hpp"

namespace latdisp {

namespace {

using Policy = Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<int64_t>>;
using Unmanaged = Kokkos::MemoryTraits<Kokkos::Unmanaged>;
template <class Integer>
using PackedIntegers = Kokkos::View<Integer***, Kokkos::LayoutRight, DeviceMemory, Unmanaged>;
template <class F>
using FormatValues = Kokkos::View<const typename F::bits_type***, Kokkos::LayoutStride, DeviceMemory, Unmanaged>;
template <class F>
using PackedUlps = Kokkos::View<typename F::bits_type***, Kokkos::LayoutRight, DeviceMemory, Unmanaged>;

template <class F>
constexpr bool is_bf16() {
  return std::is_same<F, formats::BF16>::value;
}

KOKKOS_INLINE_FUNCTION double quiet_nan() {
  const uint64_t bits = 0x7FF8000000000000ull;  // the host's quiet NaN, sign clear
  double value;
  memcpy(&value, &bits, sizeof value);
  return value;
}

template <class Integer>
KOKKOS_INLINE_FUNCTION bool holds(int64_t v) {
  constexpr int64_t highest = static_cast<int64_t>(~uint64_t(0) >> (65 - 8 * sizeof(Integer)));
  return v >= -highest - 1 && v <= highest;
}

template <class Integer>
KOKKOS_INLINE_FUNCTION constexpr int width_of_type() {
  return sizeof(Integer) == 1   ? bf16::kInt8
         : sizeof(Integer) == 2 ? bf16::kInt16
         : sizeof(Integer) == 4 ? bf16::kInt32
                                : bf16::kInt64;
}

// x of the driving arithmetic as an Integer (0 if it is none) and its
// exception kind; the value an exception records; the ULP bits. The exact
// rules of formats/lattice_rules.hpp for every format; the seed arithmetic
// for bf16 only.
template <class F, class Integer>
struct CoordinateEncoder {
  using Bits = typename F::bits_type;
  using L = formats::Lattice<F>;
  KernelSettings m_settings;
  formats::ZeroUlp m_zero_rule;
  float m_seed_epsilon;

  KOKKOS_INLINE_FUNCTION bool seed() const {
    if constexpr (is_bf16<F>()) return m_settings.arithmetic == Arithmetic::seed;
    return false;
  }

  KOKKOS_INLINE_FUNCTION uint8_t operator()(Bits a, Bits b, Integer& integer) const {
    integer = 0;
    if constexpr (is_bf16<F>())
      if (seed()) return seed_kind(a, b, integer);
    return exact(a, b, integer);
  }

  KOKKOS_INLINE_FUNCTION double value(Bits a, Bits b, uint8_t kind) const {
    if constexpr (is_bf16<F>())
      if (seed()) return static_cast<double>(bf16::seed_displacement(a, b));
    if (kind == kExceptionNonfinite) return quiet_nan();
    return formats::to_double(formats::exact_x<F>(a, b, m_zero_rule));
  }

  KOKKOS_INLINE_FUNCTION Bits ulp(Bits b) const {
    if constexpr (is_bf16<F>())
      if (seed()) return bf16::seed_ulp(b);
    return format_ulp_bits<F>(b, m_zero_rule);
  }

  KOKKOS_INLINE_FUNCTION uint8_t exact(Bits a, Bits b, Integer& integer) const {
    if (!L::is_finite(a) || !L::is_finite(b)) return kExceptionNonfinite;
    const formats::ExactX x = formats::exact_x<F>(a, b, m_zero_rule);
    if (x.s >= 0 && x.s <= 61 - F::mantissa_bits) {  // the common case: an integer, |qa * 2^s| < 2^62
      const int64_t v = x.qa * (int64_t(1) << x.s) - x.qb;
      if (!holds<Integer>(v)) return kExceptionOutOfRange;
      integer = static_cast<Integer>(v);
      return kNoException;
    }
    const int klass = formats::classify<F>(x, m_settings.epsilon);
    if (klass != bf16::kExact) return static_cast<uint8_t>(klass);  // classes 1..3 match the kinds
    const bf16::IntegerFacts facts = formats::integer_facts<F>(x);
    if (facts.width > width_of_type<Integer>()) return kExceptionOutOfRange;
    if (x.s < 0) {  // an integer from a finer binade: |x| < 2^(mantissa_bits + 2), exact in a double
      integer = static_cast<Integer>(facts.rounded);
    } else {  // x fits int64, so s <= 63 unless qa == 0: modulo-2^64 arithmetic gives its bits
      const uint64_t scaled = x.qa == 0 ? 0 : static_cast<uint64_t>(x.qa) << x.s;
      integer = static_cast<Integer>(static_cast<int64_t>(scaled - static_cast<uint64_t>(x.qb)));
    }
    return kNoException;
  }

  KOKKOS_INLINE_FUNCTION uint8_t seed_kind(uint16_t a, uint16_t b, Integer& integer) const {
    const float x = bf16::seed_displacement(a, b);
    const int klass = bf16::seed_classify(x, m_seed_epsilon);
    if (klass != bf16::kExact) return static_cast<uint8_t>(klass);  // classes 1..4 match the kinds
    const double two63 = 9223372036854775808.0;
    const double v = static_cast<double>(x);
    if (!(v >= -two63 && v < two63) || !holds<Integer>(static_cast<int64_t>(v))) return kExceptionOutOfRange;
    integer = static_cast<Integer>(static_cast<int64_t>(v));
    return kNoException;
  }
};

// A coordinate on the fast path: x, the crossing and U(b) from the common
// case of the lattice rules (formats/common_case.hpp), which for bf16 is also
// where the seed arithmetic agrees with the exact one (its ULP too, once a
// zero b gets the smallest normal's ULP). What is the encoder's own: x must
// be an integer (2x even) that the output Integer holds; elsewhere `fast` is
// 0 and the general rules of CoordinateEncoder decide (the crossing stays).
template <class F, class Integer>
struct FastLane {
  using C = formats::CommonCase<F>;
  using U = typename C::U;
  using S = typename C::S;
  // The output type's range within S (|x| <= 2^23 always fits int32).
  static constexpr int64_t kLowest = int64_t(std::numeric_limits<Integer>::min()) > std::numeric_limits<S>::min()
                                         ? int64_t(std::numeric_limits<Integer>::min())
                                         : int64_t(std::numeric_limits<S>::min());
  static constexpr int64_t kHighest = int64_t(std::numeric_limits<Integer>::max()) < std::numeric_limits<S>::max()
                                          ? int64_t(std::numeric_limits<Integer>::max())
                                          : int64_t(std::numeric_limits<S>::max());

  S x;
  U fast;  // 1: x, the crossing and the ULP bits below are final
  U crossed;
  U ulp;

  KOKKOS_FORCEINLINE_FUNCTION FastLane(U a, U b, const typename C::Rules& rules) {
    const typename C::Lane l = C::lane(a, b, rules);
    x = static_cast<S>(l.x2 / 2);
    fast = static_cast<U>(l.common & U((l.x2 & 1) == 0) & U(x >= static_cast<S>(kLowest)) &
                          U(x <= static_cast<S>(kHighest)));
    crossed = l.crossed;
    // U(b) = 2^(field - bias - mantissa_bits) as F's bits: a normal pattern
    // from field mantissa_bits + 1 on, a subnormal one below.
    constexpr U kMantissa = static_cast<U>(F::mantissa_bits);
    ulp = l.ulp_field > kMantissa ? static_cast<U>(static_cast<U>(l.ulp_field - kMantissa) << kMantissa)
                                  : static_cast<U>(U(1) << ((l.ulp_field - 1) & (8 * sizeof(U) - 1)));
  }
};

// Rows are taken in chunks of dims: a flag per dim marks where the fast
// path does not apply.
constexpr int64_t kChunkDims = 256;

// A scan over the block's rows (step, token) in memory order: each row's
// exceptions go to the table from the offset of the rows before it. The
// final pass writes; a backend's earlier passes only count.
template <class F, class Integer>
struct EncodeFunctor {
  using value_type = int64_t;
  using Bits = typename F::bits_type;

  FormatValues<F> m_values;
  PackedIntegers<Integer> m_integers;
  BlockArray<uint8_t> m_crossed;
  PackedUlps<F> m_ulps;
  ExceptionTable m_table;  // rows past its capacity are counted, not written
  CoordinateEncoder<F, Integer> m_encode;
  typename formats::CommonCase<F>::Rules m_rules;  // of the fast path (fast_path_rules)
  int64_t m_tokens;
  int64_t m_dims;
  int64_t m_transitions;
  int64_t m_first_step;
  int64_t m_first_token;

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t row, int64_t& offset, const bool final) const {
    const int64_t t = row / m_tokens;
    const int64_t n = row % m_tokens;
    const Bits* from = &m_values(t, n, 0);
    if (t == m_transitions) {  // the last step only has a ULP
      if (final)
        for (int64_t d = 0; d < m_dims; ++d) m_ulps(t, n, d) = m_encode.ulp(from[d]);
      return;
    }
    const Bits* to = &m_values(t + 1, n, 0);
    for (int64_t begin = 0; begin < m_dims; begin += kChunkDims) {
      const int64_t end = begin + kChunkDims < m_dims ? begin + kChunkDims : m_dims;
      if (final)
        encode_chunk(t, n, from, to, begin, end, offset);
      else
        offset += count_chunk(from, to, begin, end);
    }
  }

  // Dims [begin, end) of row (t, n): the fast path everywhere, then the
  // general one where it did not apply; exceptions from table row `at` on.
  KOKKOS_INLINE_FUNCTION void encode_chunk(int64_t t, int64_t n, const Bits* from, const Bits* to, int64_t begin,
                                           int64_t end, int64_t& at) const {
    Integer* integers = &m_integers(t, n, 0);
    uint8_t* crossed = &m_crossed(t, n, 0);
    Bits* ulps = &m_ulps(t, n, 0);
    uint8_t slow[kChunkDims];
    int32_t slow_count = 0;
    for (int64_t d = begin; d < end; ++d) {
      const FastLane<F, Integer> lane(to[d], from[d], m_rules);
      integers[d] = static_cast<Integer>(lane.x);
      crossed[d] = static_cast<uint8_t>(lane.crossed);
      ulps[d] = static_cast<Bits>(lane.ulp);
      const int32_t slow_lane = 1 - static_cast<int32_t>(lane.fast);
      slow[d - begin] = static_cast<uint8_t>(slow_lane);
      slow_count += slow_lane;
    }
    for (int64_t d = begin; d < end && slow_count > 0; ++d) {
      if (!slow[d - begin]) continue;
      --slow_count;
      ulps[d] = m_encode.ulp(from[d]);
      const uint8_t kind = m_encode(to[d], from[d], integers[d]);
      if (kind == kNoException) continue;
      if (at < m_table.capacity())
        record(at, m_first_step + t, m_first_token + n, d, m_encode.value(to[d], from[d], kind), kind);
      ++at;
    }
  }

  // The exceptions of dims [begin, end), found as encode_chunk finds them.
  KOKKOS_INLINE_FUNCTION int64_t count_chunk(const Bits* from, const Bits* to, int64_t begin, int64_t end) const {
    uint8_t slow[kChunkDims];
    int32_t slow_count = 0;
    for (int64_t d = begin; d < end; ++d) {
      const int32_t fast = static_cast<int32_t>(FastLane<F, Integer>(to[d], from[d], m_rules).fast);
      slow[d - begin] = static_cast<uint8_t>(1 - fast);
      slow_count += 1 - fast;
    }
    int64_t exceptions = 0;
    for (int64_t d = begin; d < end && slow_count > 0; ++d) {
      if (!slow[d - begin]) continue;
      --slow_count;
      Integer integer;
      exceptions += m_encode(to[d], from[d], integer) != kNoException ? 1 : 0;
    }
    return exceptions;
  }

  KOKKOS_INLINE_FUNCTION void record(int64_t at, int64_t step, int64_t token, int64_t dim, double value,
                                     uint8_t kind) const {
    m_table.index(at, 0) = step;
    m_table.index(at, 1) = token;
    m_table.index(at, 2) = dim;
    m_table.value(at) = value;
    m_table.kind(at) = static_cast<int8_t>(kind);
  }
};

// The common case's settings for the encode pass: the seed arithmetic gives
// a zero b the smallest normal's ULP (2^-126 for bf16).
template <class F>
typename formats::CommonCase<F>::Rules fast_path_rules(const KernelSettings& settings) {
  const bool seed = is_bf16<F>() && settings.arithmetic == Arithmetic::seed;
  const formats::ZeroUlp zero_rule =
      seed ? formats::ZeroUlp::min_normal : static_cast<formats::ZeroUlp>(static_cast<int>(settings.zero_ulp));
  return formats::CommonCase<F>::rules(zero_rule, settings.epsilon);
}

// Calls f(Integer{}) with the integer type of `width`.
template <class Function>
void with_integer_type(bf16::IntegerWidth width, const Function& f) {
  switch (width) {
    case bf16::kInt8:
      return f(int8_t{});
    case bf16::kInt16:
      return f(int16_t{});
    case bf16::kInt32:
      return f(int32_t{});
    default:
      return f(int64_t{});
  }
}

// The raw block as a View of format F's bits, (steps, tokens, dims), steps
// `step_stride` values apart.
template <class F>
FormatValues<F> format_values(const RawBlockValues& block) {
  const Kokkos::LayoutStride layout(static_cast<size_t>(block.steps), static_cast<size_t>(block.step_stride),
                                    static_cast<size_t>(block.tokens), static_cast<size_t>(block.dims),
                                    static_cast<size_t>(block.dims), 1);
  return FormatValues<F>(static_cast<const typename F::bits_type*>(block.data), layout);
}

// The scan of one format and integer type; reruns once the table has grown
// when a block has more exceptions than it holds.
template <class F, class Integer>
void encode_typed(const RawBlockValues& values, const KernelSettings& settings, int64_t first_step, int64_t first_token,
                  const EncodedBlock& out, ExceptionTable& table) {
  const int64_t steps = values.steps, tokens = values.tokens, dims = values.dims;
  const PackedIntegers<Integer> integers(reinterpret_cast<Integer*>(out.integers.data()), steps - 1, tokens, dims);
  const PackedUlps<F> ulps(reinterpret_cast<typename F::bits_type*>(out.ulps.data()), steps, tokens, dims);
  const CoordinateEncoder<F, Integer> encoder{settings,
                                              static_cast<formats::ZeroUlp>(static_cast<int>(settings.zero_ulp)),
                                              static_cast<float>(settings.epsilon)};
  for (;;) {
    const EncodeFunctor<F, Integer> functor{format_values<F>(values),
                                            integers,
                                            out.crossed,
                                            ulps,
                                            table,
                                            encoder,
                                            fast_path_rules<F>(settings),
                                            tokens,
                                            dims,
                                            steps - 1,
                                            first_step,
                                            first_token};
    int64_t total = 0;
    Kokkos::parallel_scan("latdisp::save::encode_block", Policy(0, steps * tokens), functor, total);
    if (total <= table.capacity()) {
      table.count = total;
      return;
    }
    table = ExceptionTable(total + total / 2);
  }
}

}  // namespace

ExceptionTable::ExceptionTable(int64_t capacity)
    : index(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("latdisp::save::exception_index")), capacity),
      value(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("latdisp::save::exception_value")), capacity),
      kind(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("latdisp::save::exception_kind")), capacity) {}

void encode_block(const RawBlockValues& values, const KernelSettings& settings, bf16::IntegerWidth integer_width,
                  int64_t first_step, int64_t first_token, const EncodedBlock& out, ExceptionTable& table) {
  formats::dispatch_element_type(values.type, [&](auto traits) {
    using F = decltype(traits);
    with_integer_type(integer_width, [&](auto type) {
      encode_typed<F, decltype(type)>(values, settings, first_step, first_token, out, table);
    });
  });
  Kokkos::fence();
}

void encode_block(const BlockValues& values, const KernelSettings& settings, bf16::IntegerWidth integer_width,
                  int64_t first_step, int64_t first_token, const EncodedBlock& out, ExceptionTable& table) {
  RawBlockValues raw;
  raw.data = values.data();
  raw.steps = static_cast<int64_t>(values.extent(0));
  raw.tokens = static_cast<int64_t>(values.extent(1));
  raw.dims = static_cast<int64_t>(values.extent(2));
  raw.step_stride = raw.steps > 1 ? static_cast<int64_t>(values.stride(0)) : raw.tokens * raw.dims;
  raw.type = formats::ElementType::bf16;
  encode_block(raw, settings, integer_width, first_step, first_token, out, table);
}

}  // namespace latdisp
