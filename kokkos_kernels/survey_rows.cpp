#include "kokkos_kernels/survey_rows.hpp"

#include <Kokkos_Core.hpp>

#include <cstring>
#include <type_traits>

#include "kokkos_kernels/hash64.hpp"

namespace latdisp {

namespace {

using HostPolicy = Kokkos::RangePolicy<Kokkos::DefaultHostExecutionSpace, Kokkos::IndexType<int64_t>>;

template <class F>
KOKKOS_INLINE_FUNCTION typename F::bits_type element_at(const unsigned char* row, int64_t d) {
  typename F::bits_type bits;
  memcpy(&bits, row + d * int64_t(sizeof bits), sizeof bits);
  return bits;
}

// The exact sum of the squares of one row's finite values: each square is
// significand^2 * 2^(2 * scale), added as an integer at its bit position
// above the smallest square of the format, in 32-bit digits held in 64-bit
// words (room for 2^32 additions before a carry), rounded once to double.
template <class F>
struct ExactSquares {
  static constexpr int kDigits = 20;  // 640 bits: every format's squares of 2^32 values
  static constexpr int kLowest = 2 * formats::Lattice<F>::min_scale;
  uint64_t digit[kDigits];

  KOKKOS_INLINE_FUNCTION ExactSquares() {
    for (int i = 0; i < kDigits; ++i) digit[i] = 0;
  }
  KOKKOS_INLINE_FUNCTION void add(typename F::bits_type b) {
    using L = formats::Lattice<F>;
    const int64_t s = L::significand(b);
    if (s == 0) return;
    const uint64_t square = uint64_t(s * s);  // < 2^48
    const int position = 2 * L::scale_exponent(b) - kLowest;
    const int k = position / 32, r = position % 32;
    const uint64_t low = (square & ((uint64_t(1) << (32 - r)) - 1)) << r;
    const uint64_t rest = square >> (32 - r);
    digit[k] += low;
    digit[k + 1] += rest & 0xFFFFFFFFu;
    digit[k + 2] += rest >> 32;
  }
  KOKKOS_INLINE_FUNCTION bool bit(int position) const {
    if (position < 0) return false;
    return (digit[position / 32] >> (position % 32)) & 1u;
  }
  // Round to nearest even, once.
  KOKKOS_INLINE_FUNCTION double to_double() {
    for (int i = 0; i + 1 < kDigits; ++i) {
      digit[i + 1] += digit[i] >> 32;
      digit[i] &= 0xFFFFFFFFu;
    }
    int top = kDigits - 1;
    while (top >= 0 && digit[top] == 0) --top;
    if (top < 0) return 0.0;
    int high = 32 * top + 31;
    while (!bit(high)) --high;
    uint64_t mantissa = 0;  // bits high .. high - 52
    for (int i = 0; i < 53; ++i) mantissa = (mantissa << 1) | uint64_t(bit(high - i));
    const int round_position = high - 53;
    bool sticky = false;
    for (int j = 0; j < kDigits && 32 * j < round_position; ++j) {
      const int below = round_position - 32 * j;  // bits of digit j below the round bit
      const uint64_t mask = below >= 32 ? 0xFFFFFFFFu : ((uint64_t(1) << below) - 1);
      sticky = sticky || (digit[j] & mask) != 0;
    }
    if (bit(round_position) && (sticky || (mantissa & 1u))) ++mantissa;
    int exponent = high - 52 + kLowest;
    if (mantissa == (uint64_t(1) << 53)) {
      mantissa >>= 1;
      ++exponent;
    }
    const uint64_t scale_bits = static_cast<uint64_t>(exponent + 1023) << 52;
    double scale;
    memcpy(&scale, &scale_bits, sizeof scale);
    return static_cast<double>(mantissa) * scale;
  }
};

// The exact sum of squares of a finite row whose squares span at most 127
// bits: each square as an integer multiple of the smallest scale in the row,
// summed in 128 bits, converted once (correctly rounded) and scaled by a
// power of two (exact). `fits` false when the row spans more.
template <class F>
KOKKOS_INLINE_FUNCTION double narrow_sum_of_squares(const unsigned char* row, int64_t dims, int lowest, int highest,
                                                    bool& fits) {
  using L = formats::Lattice<F>;
  int64_t bits_of_dims = 0;
  while ((int64_t(1) << bits_of_dims) < dims) ++bits_of_dims;
  fits = 2 * (highest - lowest) + 2 * (F::mantissa_bits + 1) + bits_of_dims <= 127;
  if (!fits) return 0.0;
  unsigned __int128 sum = 0;
  for (int64_t d = 0; d < dims; ++d) {
    const auto b = element_at<F>(row, d);
    const int64_t s = L::significand(b);
    sum += static_cast<unsigned __int128>(uint64_t(s * s)) << (2 * (L::scale_exponent(b) - lowest));
  }
  const uint64_t scale_bits = static_cast<uint64_t>(2 * lowest + 1023) << 52;
  double scale;
  memcpy(&scale, &scale_bits, sizeof scale);
  return static_cast<double>(sum) * scale;
}

template <class F>
struct SummarizeRows {
  const unsigned char* m_rows;
  int64_t m_dims;
  SurveyRowSummaries m_out;
  void operator()(int64_t r) const {  // host execution space only
    using L = formats::Lattice<F>;
    const unsigned char* row = m_rows + r * m_dims * int64_t(sizeof(typename F::bits_type));
    bool zero = true, finite = true;
    int lowest = 1 << 20, highest = -(1 << 20);  // scales of the non-zero values
    for (int64_t d = 0; d < m_dims; ++d) {
      const auto b = element_at<F>(row, d);
      const bool is_zero = L::is_zero(b);
      zero = zero && is_zero;
      finite = finite && L::is_finite(b);
      const int scale = L::scale_exponent(b);
      lowest = is_zero || scale >= lowest ? lowest : scale;
      highest = is_zero || scale <= highest ? highest : scale;
    }
    m_out.zero[r] = zero;
    m_out.nonfinite[r] = !finite;
    m_out.hash[r] = survey_row_hash(row, m_dims * int64_t(sizeof(typename F::bits_type)));
    if (!finite || zero) {
      m_out.sum_squares[r] = 0.0;
      return;
    }
    bool fits = false;
    const double narrow = narrow_sum_of_squares<F>(row, m_dims, lowest, highest, fits);
    if (fits) {
      m_out.sum_squares[r] = narrow;
      return;
    }
    ExactSquares<F> squares;
    for (int64_t d = 0; d < m_dims; ++d) squares.add(element_at<F>(row, d));
    m_out.sum_squares[r] = squares.to_double();
  }
};

// Lattice positions and distances in the narrowest integers that hold them:
// formats of at most 16 bits have positions in int16 and distances (at most
// 2 * 32767) in uint16, so the distance loop runs 32 lanes wide on AVX-512;
// f32 positions need int32 and its distances (up to about 2^32) int64.
template <class F, bool narrow = (F::total_bits <= 16)>
struct LatticeInts {
  using position = int16_t;
  using distance = uint16_t;
  static KOKKOS_INLINE_FUNCTION distance apart(position a, position b) {
    const position high = a > b ? a : b, low = a > b ? b : a;
    return distance(distance(high) - distance(low));
  }
};
template <class F>
struct LatticeInts<F, false> {
  using position = int32_t;
  using distance = int64_t;
  static KOKKOS_INLINE_FUNCTION distance apart(position a, position b) {
    const distance x = distance(a) - distance(b);
    return x < 0 ? -x : x;
  }
};

template <class F>
struct RowPositions {
  using P = typename LatticeInts<F>::position;
  const unsigned char* m_rows;
  int64_t m_dims;
  P* m_positions;
  void operator()(int64_t r) const {  // host execution space only
    const unsigned char* row = m_rows + r * m_dims * int64_t(sizeof(typename F::bits_type));
    for (int64_t d = 0; d < m_dims; ++d)
      m_positions[r * m_dims + d] = P(formats::Lattice<F>::lattice_position(element_at<F>(row, d)));
  }
};

template <class F>
struct NearestGroups {
  using I = LatticeInts<F>;
  using P = typename I::position;
  using D = typename I::distance;
  static constexpr int64_t kGroupsAtOnce = 4;  // one load of the row serves four groups
  const P* m_positions;        // the block's rows, rows x dims
  const P* m_representatives;  // groups x dims
  int64_t m_dims;
  int64_t m_groups;
  const uint8_t* m_skip;
  int32_t* m_nearest;
  int64_t* m_distance;

  void operator()(int64_t r) const {  // host execution space only
    if (m_skip[r] || m_groups == 0) {
      m_nearest[r] = -1;
      m_distance[r] = -1;
      return;
    }
    const P* __restrict row = m_positions + r * m_dims;
    int32_t nearest = -1;
    D nearest_distance = 0;
    for (int64_t g = 0; g < m_groups; g += kGroupsAtOnce) {
      D m[kGroupsAtOnce] = {0, 0, 0, 0};
      if (g + kGroupsAtOnce <= m_groups) {
        const P* __restrict r0 = m_representatives + g * m_dims;
        const P* __restrict r1 = r0 + m_dims;
        const P* __restrict r2 = r1 + m_dims;
        const P* __restrict r3 = r2 + m_dims;
        D m0 = 0, m1 = 0, m2 = 0, m3 = 0;
        for (int64_t d = 0; d < m_dims; ++d) {
          const P p = row[d];
          const D x0 = I::apart(p, r0[d]), x1 = I::apart(p, r1[d]), x2 = I::apart(p, r2[d]),
                  x3 = I::apart(p, r3[d]);
          m0 = m0 > x0 ? m0 : x0;
          m1 = m1 > x1 ? m1 : x1;
          m2 = m2 > x2 ? m2 : x2;
          m3 = m3 > x3 ? m3 : x3;
        }
        m[0] = m0, m[1] = m1, m[2] = m2, m[3] = m3;
      } else {
        for (int64_t k = 0; g + k < m_groups; ++k) {
          const P* __restrict rep = m_representatives + (g + k) * m_dims;
          D mk = 0;
          for (int64_t d = 0; d < m_dims; ++d) {
            const D x = I::apart(row[d], rep[d]);
            mk = mk > x ? mk : x;
          }
          m[k] = mk;
        }
      }
      for (int64_t k = 0; k < kGroupsAtOnce && g + k < m_groups; ++k)
        if (nearest < 0 || m[k] < nearest_distance) {  // ties: the lower index
          nearest = int32_t(g + k);
          nearest_distance = m[k];
        }
    }
    m_nearest[r] = nearest;
    m_distance[r] = int64_t(nearest_distance);
  }
};

}  // namespace

uint64_t survey_row_hash(const unsigned char* row, int64_t bytes) {
  uint64_t h = splitmix64(uint64_t(bytes));
  int64_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    uint64_t word;
    memcpy(&word, row + i, sizeof word);
    h = splitmix64(h ^ word);
  }
  uint64_t tail = 0;
  for (int64_t k = 0; i + k < bytes; ++k) tail |= uint64_t(row[i + k]) << (8 * k);
  return splitmix64(h ^ tail ^ 0xA5u);
}

void summarize_survey_rows(formats::ElementType type, const unsigned char* rows, int64_t count, int64_t dims,
                           const SurveyRowSummaries& out) {
  if (count == 0) return;
  formats::dispatch_element_type(type, [&](auto traits) {
    using F = decltype(traits);
    Kokkos::parallel_for("latdisp::survey::row_summaries", HostPolicy(0, count), SummarizeRows<F>{rows, dims, out});
  });
  Kokkos::fence();
}

void nearest_survey_groups(formats::ElementType type, const unsigned char* rows, int64_t count, int64_t dims,
                           const unsigned char* representatives, int64_t groups, const uint8_t* skip,
                           int32_t* nearest, int64_t* distance) {
  if (count == 0) return;
  formats::dispatch_element_type(type, [&](auto traits) {
    using F = decltype(traits);
    using P = typename LatticeInts<F>::position;
    Kokkos::View<P**, Kokkos::LayoutRight, Kokkos::HostSpace> positions("latdisp::survey::representative_positions",
                                                                       groups, dims);
    Kokkos::parallel_for("latdisp::survey::representative_positions", HostPolicy(0, groups),
                         RowPositions<F>{representatives, dims, positions.data()});
    Kokkos::View<P**, Kokkos::LayoutRight, Kokkos::HostSpace> row_positions(
        Kokkos::ViewAllocateWithoutInitializing("latdisp::survey::row_positions"), count, dims);
    Kokkos::parallel_for("latdisp::survey::row_positions", HostPolicy(0, count),
                         RowPositions<F>{rows, dims, row_positions.data()});
    Kokkos::parallel_for("latdisp::survey::nearest_groups", HostPolicy(0, count),
                         NearestGroups<F>{row_positions.data(), positions.data(), dims, groups, skip, nearest, distance});
    Kokkos::fence();
  });
}

LatticePairDistance survey_pair_distance(formats::ElementType type, const unsigned char* a, const unsigned char* b,
                                         int64_t dims) {
  return formats::dispatch_element_type(type, [&](auto traits) {
    using F = decltype(traits);
    using L = formats::Lattice<F>;
    LatticePairDistance result;
    for (int64_t d = 0; d < dims; ++d) {
      int64_t x = L::lattice_position(element_at<F>(a, d)) - L::lattice_position(element_at<F>(b, d));
      x = x < 0 ? -x : x;
      result.linf = x > result.linf ? x : result.linf;
      result.l1 += x;
      result.active_dims += x != 0;
    }
    return result;
  });
}

}  // namespace latdisp
