// The tallies of the near-zero breakdown (docs/definitions.md §19): how x
// depends on where a coordinate started (the binade of b = W[t]) and on
// whether it crossed zero. Plain aggregates filled by kokkos_kernels/near_zero.*
// and merged on the host in any order with the same result.
#pragma once

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <cstring>

namespace latdisp {

// How a coordinate with a finite x met zero (docs/definitions.md §19).
enum ZeroKind : int {
  kKeepsSign = 0,   // b, a nonzero of one sign, or both zero
  kSignChange = 1,  // b, a nonzero of opposite signs
  kFromZero = 2,    // b == +-0, a != 0
  kToZero = 3,      // b != 0, a == +-0
  kZeroKinds
};

// The starting bins: b zero, b not finite, then one per binade k = floor(log2 |b|)
// from the smallest subnormal of any format (f32's 2^-149) to the largest binade (2^127).
constexpr int kBinadeLow = -149;
constexpr int kBinadeHigh = 127;
constexpr int kZeroBin = 0;
constexpr int kNonfiniteBin = 1;
constexpr int kStartBins = 2 + (kBinadeHigh - kBinadeLow + 1);
KOKKOS_INLINE_FUNCTION constexpr int bin_of_binade(int k) { return 2 + (k - kBinadeLow); }
KOKKOS_INLINE_FUNCTION constexpr int binade_of_bin(int bin) { return bin - 2 + kBinadeLow; }

// The counts of each starting bin (per population).
enum BinField : int {
  kBinExact = 0,  // the classes of docs/definitions.md §5, in bf16::kExact .. kNonfinite order
  kBinAlmost,
  kBinHalf,
  kBinNonInteger,
  kBinNonfinite,
  kBinMoved,       // finite x != 0
  kBinSignChange,  // kinds, in ZeroKind order from kSignChange
  kBinFromZero,
  kBinToZero,
  kBinAbove1024,  // |x| > 1024, decided on the exact x
  kBinFields
};

// The exact sum of non-negative doubles that are multiples of 2^-256 and
// below 2^300 (every |x| of every format: multiples of 2^-253, below 2^278),
// as a 640-bit fixed-point integer: the order of additions does not matter.
struct AbsSum {
  static constexpr int kWords = 10;
  static constexpr int kLowBit = -256;  // weight of bit 0 of word 0
  uint64_t words[kWords];

  KOKKOS_INLINE_FUNCTION void reset() {
    for (int w = 0; w < kWords; ++w) words[w] = 0;
  }
  // Adds `value` at word w and above, carrying.
  KOKKOS_INLINE_FUNCTION void add_word(int w, uint64_t value) {
    for (; w < kWords && value != 0; ++w) {
      const uint64_t before = words[w];
      words[w] = before + value;
      value = words[w] < before ? 1u : 0u;
    }
  }
  KOKKOS_INLINE_FUNCTION void add(double value) {
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    const int field = static_cast<int>((bits >> 52) & 0x7FF);
    if (field == 0) return;  // zero (no |x| is subnormal)
    uint64_t mantissa = (bits & ((uint64_t(1) << 52) - 1)) | (uint64_t(1) << 52);
    int position = field - 1075 - kLowBit;  // of the mantissa's bit 0
    if (position < 0) {                     // only zero bits fall off: value is a multiple of 2^-256
      mantissa >>= -position;
      position = 0;
    }
    const int word = position >> 6, shift = position & 63;
    add_word(word, mantissa << shift);
    if (shift > 0) add_word(word + 1, mantissa >> (64 - shift));
  }
  // Adds a whole number (weight 2^0: bit 0 of word -kLowBit / 64).
  KOKKOS_INLINE_FUNCTION void add_integer(uint64_t value) { add_word(-kLowBit / 64, value); }
  // Adds twice / 2 (a sum of |2x|): weight 2^-1 is the top bit of the word below 2^0's.
  KOKKOS_INLINE_FUNCTION void add_halves(uint64_t twice) {
    add_word(-kLowBit / 64 - 1, twice << 63);
    add_word(-kLowBit / 64, twice >> 1);
  }
  KOKKOS_INLINE_FUNCTION void merge(const AbsSum& other) {
    for (int w = 0; w < kWords; ++w) add_word(w, other.words[w]);
  }
};

// What one work item (one transition, a run of tokens) adds to the exact
// sums of |x|, by population (Population order) and by whether the coordinate
// crossed zero (0: kept its sign, 1: sign change, from or to zero).
struct NearZeroItem {
  AbsSum sums[2][2];

  KOKKOS_INLINE_FUNCTION void reset() {
    for (int p = 0; p < 2; ++p)
      for (int g = 0; g < 2; ++g) sums[p][g].reset();
  }
};

}  // namespace latdisp
