#include "kokkos_kernels/encode_block.hpp"

#include <algorithm>
#include <cstring>
#include <string>

namespace latdisp {

namespace {

using Policy = Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<int64_t>>;
template <class Integer>
using PackedIntegers =
    Kokkos::View<Integer***, Kokkos::LayoutRight, DeviceMemory, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

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
// exception kind; and the value an exception records.
template <class Integer>
struct CoordinateEncoder {
  KernelSettings m_settings;
  float m_seed_epsilon;

  KOKKOS_INLINE_FUNCTION uint8_t operator()(uint16_t a, uint16_t b, Integer& integer) const {
    integer = 0;
    return m_settings.arithmetic == Arithmetic::seed ? seed(a, b, integer) : exact(a, b, integer);
  }

  KOKKOS_INLINE_FUNCTION double value(uint16_t a, uint16_t b, uint8_t kind) const {
    if (m_settings.arithmetic == Arithmetic::seed) return static_cast<double>(bf16::seed_displacement(a, b));
    if (kind == kExceptionNonfinite) return quiet_nan();
    return bf16::to_double(bf16::exact_displacement(a, b, m_settings.zero_ulp));
  }

  KOKKOS_INLINE_FUNCTION uint8_t exact(uint16_t a, uint16_t b, Integer& integer) const {
    if (!bf16::is_finite(a) || !bf16::is_finite(b)) return kExceptionNonfinite;
    const bf16::ExactDisplacement x = bf16::exact_displacement(a, b, m_settings.zero_ulp);
    if (x.s >= 0 && x.s <= 54) {  // the common case: an integer, exact in int64
      const int64_t v = static_cast<int64_t>(x.qa) * (int64_t(1) << x.s) - x.qb;
      if (!holds<Integer>(v)) return kExceptionOutOfRange;
      integer = static_cast<Integer>(v);
      return kNoException;
    }
    const int klass = bf16::classify(x, m_settings.epsilon);
    if (klass != bf16::kExact) return static_cast<uint8_t>(klass);  // classes 1..3 match the kinds
    const bf16::IntegerFacts facts = bf16::integer_facts(x);
    if (facts.width > width_of_type<Integer>()) return kExceptionOutOfRange;
    if (x.s < 0) {  // an integer from a finer binade: |x| < 2^9, exact in a double
      integer = static_cast<Integer>(facts.rounded);
    } else {  // s >= 55, x fits int64 (so s <= 63 unless qa == 0): modulo-2^64 arithmetic gives its bits
      const uint64_t scaled = x.qa == 0 ? 0 : static_cast<uint64_t>(static_cast<int64_t>(x.qa)) << x.s;
      integer = static_cast<Integer>(static_cast<int64_t>(scaled - static_cast<uint64_t>(static_cast<int64_t>(x.qb))));
    }
    return kNoException;
  }

  KOKKOS_INLINE_FUNCTION uint8_t seed(uint16_t a, uint16_t b, Integer& integer) const {
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

// The common case, decided without branches so that compilers vectorize
// it: b normal, E(b) <= E(a) <= E(b) + 8, a finite. There x = qa * 2^s - qb
// is an integer, |x| < 2^16; the seed arithmetic agrees with it (and its ULP
// with U(b)) when also |b| < 256 and |x| < 256.
template <class Integer>
struct FastLane {
  int32_t x;
  int32_t fast;  // 1: x, the crossing and the ULP bits below are final
  int32_t crossed;
  int32_t ulp;

  KOKKOS_INLINE_FUNCTION FastLane(int32_t a, int32_t b, bool seed) {
    const int32_t ea = (a >> 7) & 0xFF, eb = (b >> 7) & 0xFF;
    const int32_t shift = ea - eb;
    const int32_t clamped = shift < 0 ? 0 : (shift > 8 ? 8 : shift);
    const int32_t qa = bf16::normal_signed_significand(a);
    const int32_t qb = bf16::normal_signed_significand(b);
    x = qa * (1 << clamped) - qb;
    constexpr int32_t kLow = sizeof(Integer) == 1 ? -128 : sizeof(Integer) == 2 ? -32768 : -(1 << 30);
    const int32_t low = seed && kLow < -255 ? -255 : kLow;
    const int32_t high = seed && kLow < -255 ? 255 : -kLow - 1;
    const uint32_t highest_eb = seed ? 133u : 253u;  // eb - 1
    fast = static_cast<int32_t>(static_cast<uint32_t>(eb - 1) <= highest_eb) & static_cast<int32_t>(ea <= 254) &
           static_cast<int32_t>(static_cast<uint32_t>(shift) <= 8u) & static_cast<int32_t>(x >= low) &
           static_cast<int32_t>(x <= high);
    crossed = static_cast<int32_t>(ea != eb);
    ulp = eb >= 8 ? (eb - 7) << 7 : 1 << ((eb - 1) & 15);  // U(b) of a normal b
  }
};

// Rows are taken in chunks of dims: a flag per dim marks where the fast
// path does not apply.
constexpr int64_t kChunkDims = 256;

// A scan over the block's rows (step, token) in memory order: each row's
// exceptions go to the table from the offset of the rows before it. The
// final pass writes; a backend's earlier passes only count.
template <class Integer>
struct EncodeFunctor {
  using value_type = int64_t;

  BlockValues m_values;
  PackedIntegers<Integer> m_integers;
  BlockArray<uint8_t> m_crossed;
  BlockArray<uint16_t> m_ulps;
  ExceptionTable m_table;  // rows past its capacity are counted, not written
  CoordinateEncoder<Integer> m_encode;
  int64_t m_tokens;
  int64_t m_dims;
  int64_t m_transitions;
  int64_t m_first_step;
  int64_t m_first_token;

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t row, int64_t& offset, const bool final) const {
    const int64_t t = row / m_tokens;
    const int64_t n = row % m_tokens;
    const uint16_t* from = &m_values(t, n, 0);
    if (t == m_transitions) {  // the last step only has a ULP
      if (final)
        for (int64_t d = 0; d < m_dims; ++d) m_ulps(t, n, d) = ulp_bits(from[d], m_encode.m_settings);
      return;
    }
    const uint16_t* to = &m_values(t + 1, n, 0);
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
  KOKKOS_INLINE_FUNCTION void encode_chunk(int64_t t, int64_t n, const uint16_t* from, const uint16_t* to,
                                           int64_t begin, int64_t end, int64_t& at) const {
    const bool seed = m_encode.m_settings.arithmetic == Arithmetic::seed;
    Integer* integers = &m_integers(t, n, 0);
    uint8_t* crossed = &m_crossed(t, n, 0);
    uint16_t* ulps = &m_ulps(t, n, 0);
    uint8_t slow[kChunkDims];
    int32_t slow_count = 0;
    for (int64_t d = begin; d < end; ++d) {
      const FastLane<Integer> lane(to[d], from[d], seed);
      integers[d] = static_cast<Integer>(lane.x);
      crossed[d] = static_cast<uint8_t>(lane.crossed);
      ulps[d] = static_cast<uint16_t>(lane.ulp);
      slow[d - begin] = static_cast<uint8_t>(1 - lane.fast);
      slow_count += 1 - lane.fast;
    }
    for (int64_t d = begin; d < end && slow_count > 0; ++d) {
      if (!slow[d - begin]) continue;
      --slow_count;
      ulps[d] = ulp_bits(from[d], m_encode.m_settings);
      const uint8_t kind = m_encode(to[d], from[d], integers[d]);
      if (kind == kNoException) continue;
      if (at < m_table.capacity())
        record(at, m_first_step + t, m_first_token + n, d, m_encode.value(to[d], from[d], kind), kind);
      ++at;
    }
  }

  // The exceptions of dims [begin, end), found as encode_chunk finds them.
  KOKKOS_INLINE_FUNCTION int64_t count_chunk(const uint16_t* from, const uint16_t* to, int64_t begin,
                                             int64_t end) const {
    const bool seed = m_encode.m_settings.arithmetic == Arithmetic::seed;
    uint8_t slow[kChunkDims];
    int32_t slow_count = 0;
    for (int64_t d = begin; d < end; ++d) {
      const int32_t fast = FastLane<Integer>(to[d], from[d], seed).fast;
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

// Calls f(Integer{}) with the integer type of `width`.
template <class F>
void with_integer_type(bf16::IntegerWidth width, const F& f) {
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

}  // namespace

ExceptionTable::ExceptionTable(int64_t capacity)
    : index(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("latdisp::save::exception_index")), capacity),
      value(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("latdisp::save::exception_value")), capacity),
      kind(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("latdisp::save::exception_kind")), capacity) {}

void encode_block(const BlockValues& values, const KernelSettings& settings, bf16::IntegerWidth integer_width,
                  int64_t first_step, int64_t first_token, const EncodedBlock& out, ExceptionTable& table) {
  const int64_t steps = static_cast<int64_t>(values.extent(0)), tokens = static_cast<int64_t>(values.extent(1)),
                dims = static_cast<int64_t>(values.extent(2));
  with_integer_type(integer_width, [&](auto type) {
    using Integer = decltype(type);
    const PackedIntegers<Integer> integers(reinterpret_cast<Integer*>(out.integers.data()), steps - 1, tokens, dims);
    const CoordinateEncoder<Integer> encoder{settings, static_cast<float>(settings.epsilon)};
    // A block with more exceptions than the table holds runs again once the
    // table has grown to hold them.
    for (;;) {
      const EncodeFunctor<Integer> functor{values, integers, out.crossed, out.ulps,   table,      encoder,
                                           tokens, dims,     steps - 1,   first_step, first_token};
      int64_t total = 0;
      Kokkos::parallel_scan("latdisp::save::encode_block", Policy(0, steps * tokens), functor, total);
      if (total <= table.capacity()) {
        table.count = total;
        break;
      }
      table = ExceptionTable(total + total / 2);
    }
  });
  Kokkos::fence();
}

}  // namespace latdisp
