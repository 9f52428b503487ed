#include "optimizer/key_selection.hpp"

#include <array>
#include <cstring>
#include <utility>

#include "analysis/magnitude_keys.hpp"
#include "optimizer/cell_percentiles.hpp"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace latdisp {

namespace {
constexpr int kDigitBits = TopDigitCounts::kBits;  // the digits the streaming pass counted
}

// Digits from 2^15 on have the sign bit: a -1 (no key), never wanted.
WantedDigits::WantedDigits(const std::vector<uint8_t>& flags) : m_table(size_t(1) << kDigitBits, 0) {
  for (size_t d = 0; d < m_table.size() / 2 && d < flags.size(); ++d) {
    if (!flags[d]) continue;
    m_table[d] = 1;
    m_digits.push_back(d);
  }
}

// Eight at a time: their top digits looked up into the bits of one word,
// whose few set bits are then picked out.
int64_t WantedDigits::select_by_table(const double* cells, int64_t count, bool dead, uint64_t* keys) const {
  int64_t kept = 0;
  for (int64_t k = 0; k < count; k += 8) {
    const int64_t n = count - k < 8 ? count - k : 8;
    uint32_t eight = 0;
    for (int64_t j = 0; j < n; ++j) {
      uint64_t bits;
      std::memcpy(&bits, &cells[k + j], sizeof bits);
      eight |= m_table[bits >> (64 - kDigitBits)] << j;
    }
    for (; eight != 0; eight &= eight - 1) keys[kept++] = magnitude_key(cells[k + __builtin_ctz(eight)], dead);
  }
  return kept;
}

#if defined(__AVX512F__)
namespace {

// A handful of digits (Few, a constant: the comparisons unrolled): each
// lane's top digit compared with every wanted one, the hits compressed into
// one vector that is stored whole (no gather, no branch on the cells).
template <int Few>
int64_t select_among(const uint64_t* digits, const double* cells, int64_t count, bool dead, uint64_t* keys) {
  __m512i wanted[Few];
  for (int j = 0; j < Few; ++j) wanted[j] = _mm512_set1_epi64(int64_t(digits[j]));
  const __m512i dead_bit = _mm512_set1_epi64(dead ? int64_t(kDeadKeyBit) : 0);
  int64_t kept = 0;
  for (int64_t k = 0; k < count; k += 8) {
    const __mmask8 lanes = count - k >= 8 ? __mmask8(0xFF) : __mmask8((1u << (count - k)) - 1);
    // A |c| of +0 has the key 0, as its bits are: every key is the bits, with the dead bit.
    const __m512i bits = _mm512_maskz_loadu_epi64(lanes, cells + k);
    const __m512i digit = _mm512_maskz_srli_epi64(lanes, bits, 64 - kDigitBits);
    __mmask8 hit = 0;
    for (int j = 0; j < Few; ++j) hit |= _mm512_cmpeq_epi64_mask(digit, wanted[j]);
    hit &= lanes;
    _mm512_storeu_si512(keys + kept, _mm512_maskz_compress_epi64(hit, _mm512_or_si512(bits, dead_bit)));
    kept += __builtin_popcount(hit);
  }
  return kept;
}

using SelectAmong = int64_t (*)(const uint64_t*, const double*, int64_t, bool, uint64_t*);

template <size_t... Few>
constexpr std::array<SelectAmong, sizeof...(Few)> selections(std::index_sequence<Few...>) {
  return {&select_among<int(Few) + 1>...};
}

}  // namespace

int64_t WantedDigits::select(const double* cells, int64_t count, bool dead, uint64_t* keys) const {
  static constexpr std::array<SelectAmong, kFew> kSelections = selections(std::make_index_sequence<kFew>());
  if (m_digits.empty()) return 0;
  if (m_digits.size() > kFew) return select_by_table(cells, count, dead, keys);
  return kSelections[m_digits.size() - 1](m_digits.data(), cells, count, dead, keys);
}
#else
int64_t WantedDigits::select(const double* cells, int64_t count, bool dead, uint64_t* keys) const {
  return select_by_table(cells, count, dead, keys);
}
#endif

}  // namespace latdisp
