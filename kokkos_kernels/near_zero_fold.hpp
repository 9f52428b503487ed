// The near-zero breakdown (docs/definitions.md §19) folded into the
// displacement kernel's pass over a step block, so that a block is read once:
// the common coordinates (formats/common_case.hpp: 2x known from the bits)
// from the arrays the common pass leaves, one group at a time; every other
// coordinate by the exact rules of formats/lattice_rules.hpp, one by one.
// Device code, included by block_analysis.cpp only.
#pragma once

#include <Kokkos_Core.hpp>
#include <Kokkos_ScatterView.hpp>

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>
// The host's AVX-512 paths (the same counts as the portable loops beside
// them): word masks (BW), and word compress (VBMI2) for the FP8 hot slots.
#if defined(__AVX512BW__) && !defined(__CUDA_ARCH__) && !defined(__HIP_DEVICE_COMPILE__)
#define LATDISP_NEAR_ZERO_AVX512BW 1
#include <immintrin.h>
#if defined(__AVX512VBMI2__)
#define LATDISP_NEAR_ZERO_COMPRESS 1
#endif
#endif

#include "kokkos_kernels/displacement_tally.hpp"
#include "kokkos_kernels/formats/common_case.hpp"
#include "kokkos_kernels/formats/lattice_rules.hpp"
#include "kokkos_kernels/kokkos_compat.hpp"
#include "kokkos_kernels/near_zero_tally.hpp"

namespace latdisp {

// Where one kernel run's near-zero counts go: scatter views onto the views
// of NearZeroBlockOutputs (kokkos_kernels/near_zero.hpp), and each work
// item's exact sums of |x|. Not `enabled`: the kernel skips the breakdown.
template <class Space>
struct NearZeroSink {
  using Bins =
      Kokkos::Experimental::ScatterView<int64_t***, Kokkos::LayoutRight, Space, Kokkos::Experimental::ScatterSum>;
  using Maxima =
      Kokkos::Experimental::ScatterView<uint64_t**, Kokkos::LayoutRight, Space, Kokkos::Experimental::ScatterMax>;
  using Items = Kokkos::View<NearZeroItem**, Kokkos::LayoutRight, typename Space::memory_space>;
  struct Access {
    decltype(std::declval<const Bins&>().access()) bins, kinds;
    decltype(std::declval<const Maxima&>().access()) maxima;
  };

  bool enabled = false;
  Bins bins;      // (population, start bin, BinField)
  Bins kinds;     // (population, transition, kind or kZeroKinds + kind for |x| > 1024)
  Maxima maxima;  // (population, start bin or kStartBins + kind): bits of the largest |x|
  Items items;    // (transition, work item)

  KOKKOS_INLINE_FUNCTION Access access() const { return Access{bins.access(), kinds.access(), maxima.access()}; }
};

KOKKOS_INLINE_FUNCTION uint64_t near_zero_bits_of(double value) {
  uint64_t bits;
  memcpy(&bits, &value, sizeof bits);
  return bits;
}

// |x| > 1024 for x = qa * 2^s - qb with d its correctly rounded double:
// rounding is monotone, so d decides unless d = +-1024; then the sign of
// the rounding error (TwoSum of the exact terms) does.
KOKKOS_INLINE_FUNCTION bool near_zero_above_1024(const formats::ExactX& x, double d) {
  const double magnitude = d < 0 ? -d : d;
  if (magnitude != 1024.0) return magnitude > 1024.0;
  const double hi = static_cast<double>(x.qa) * bf16::pow2(x.s), lo = -static_cast<double>(x.qb);
  const double back = d - hi;
  const double error = (hi - (d - back)) + (lo - back);  // x = d + error exactly
  return d > 0 ? error > 0 : error < 0;
}

// The start bin of a key (NearZeroFold's): 0 for a zero b, else the binade key - 1 + min_scale.
template <class F>
KOKKOS_INLINE_FUNCTION int near_zero_bin_of_key(int key) {
  return key == 0 ? kZeroBin : bin_of_binade(key - 1 + formats::Lattice<F>::min_scale);
}

// The start-bin counts of the common coordinates where |2x| has few values
// (the FP8 formats: |2x| < 64): a histogram per population over the slots
//   key << kKeyShift | (1 if it goes to zero) << (kKeyShift - 1) | |2x|,
// one increment per coordinate, from which every statistic of a start bin
// (count, moved, half-integers, to zero, the largest |x|) is read back at
// flush time. Each coordinate's slot comes from the group's flat loop;
// counting then costs the same for any number of keys, where a loop per key
// would pay for each of the 19 to 34 keys these formats spread over.
template <class F>
struct NearZeroMagnitudeHistogram {
  using C = formats::CommonCase<F>;
  using U = typename C::U;
  static constexpr bool kApplies = C::kX2Limit < 64;
  static constexpr int kKeys = (1 << F::exponent_bits) + F::mantissa_bits;
  static constexpr int kCodes = C::kX2Limit + 1;  // |2x| = 0 .. kX2Limit
  static constexpr int kKeyShift = kCodes == 64 ? 7 : kCodes == 32 ? 6 : kCodes == 16 ? 5 : 4;
  static_assert(!kApplies || (2 * kCodes == (1 << kKeyShift)), "a key's slots are a power of two");
  // Key kKeys takes the coordinates that are not common (never read).
  static constexpr int kSlots = (kKeys + 1) << kKeyShift;
  static constexpr U kNoTag = static_cast<U>(U(kKeys) << kKeyShift);
  // A slot's half and |2x| bits: all 0 for a coordinate that did not move (and kNoTag).
  static constexpr U kMovedBits = static_cast<U>((1 << kKeyShift) - 1);
  static_assert(!kApplies || kSlots - 1 <= static_cast<U>(~U(0)), "a slot fits a lane");
  // Coordinate i goes to the sub-histogram i % kLanes: consecutive
  // coordinates often share a slot, and one histogram would chain those
  // increments through memory. 16-bit counts: the fold flushes before 2^16.
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
  static constexpr int kLanes = 1;
#else
  static constexpr int kLanes = 2;
#endif

  uint16_t slots[2][kLanes][kApplies ? kSlots : 1];
  // What the flushes read back for the displacement tallies (common_group
  // leaves them to the histogram): per population the common coordinates
  // that moved, and over both those whose b is zero (key 0) or subnormal
  // (keys 1 to mantissa bits).
  int64_t common_moved[2], common_zero_b, common_subnormal_b;
  // The zeroed, in-use part of each population's slots: the rows (a key's
  // slots, kRow of them) of keys [lo, hi] (lo > hi: none).
  static constexpr int kRow = 1 << kKeyShift;
  int lo[2], hi[2];

  KOKKOS_INLINE_FUNCTION void reset() {
    for (int p = 0; p < 2; ++p) {
      clear(p);
      for (int lane = 0; lane < kLanes; ++lane) slots[p][lane][kNoTag] = 0;
      common_moved[p] = 0;
    }
    common_zero_b = common_subnormal_b = 0;
  }
  KOKKOS_INLINE_FUNCTION void clear(int p) {
    lo[p] = kKeys;
    hi[p] = -1;
  }

  KOKKOS_FORCEINLINE_FUNCTION static U slot_of(U key, U to_zero, U magnitude) {
    return static_cast<U>(static_cast<U>(key << kKeyShift) | static_cast<U>(to_zero << (kKeyShift - 1)) | magnitude);
  }

  // Makes keys [key_lo, key_hi] of population p usable: the rows of those
  // not in use yet zeroed, whole (one loop a lane: zeroing only the |2x| in
  // use cost a short memset call per row and half).
  KOKKOS_INLINE_FUNCTION void cover(int p, int key_lo, int key_hi) {
    if (lo[p] > hi[p]) {
      zero_rows(p, key_lo, key_hi);
      lo[p] = key_lo, hi[p] = key_hi;
      return;
    }
    if (key_lo < lo[p]) zero_rows(p, key_lo, lo[p] - 1), lo[p] = key_lo;
    if (key_hi > hi[p]) zero_rows(p, hi[p] + 1, key_hi), hi[p] = key_hi;
  }
  KOKKOS_INLINE_FUNCTION void zero_rows(int p, int key_first, int key_last) {
    for (int lane = 0; lane < kLanes; ++lane) {  // the rows of a lane lie one after another
      uint16_t* rows = &slots[p][lane][key_first << kKeyShift];
      for (int j = 0; j < (key_last - key_first + 1) * kRow; ++j) rows[j] = 0;
    }
  }

  // Each coordinate of a group into its slot (tags: its slot or kNoTag),
  // within cover's part: one increment per coordinate. That is a store per
  // coordinate, slower than the rest of the group's work, while most
  // coordinates lie in a few slots (not moved, or by one cell, in a few
  // binades). Where AVX-512's compress is at hand (kSplit) and a few hot
  // slots hold most coordinates, those are counted in vector lanes and only
  // the others are added one by one (count_split); which slots are hot is
  // read from a sample (choose_hot) and kept from group to group.
  KOKKOS_INLINE_FUNCTION void count(const U* tags, int32_t n, int p) {
    if constexpr (kSplit) {
      if (split_hot(tags, n, p)) return;
    }
    increments(tags, n, p);
  }
  KOKKOS_INLINE_FUNCTION void increments(const U* tags, int32_t n, int p) {
    int32_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
      for (int lane = 0; lane < kLanes; ++lane) ++slots[p][lane][tags[i + lane]];
    for (; i < n; ++i) ++slots[p][i % kLanes][tags[i]];
  }

#if defined(LATDISP_NEAR_ZERO_COMPRESS)
  static constexpr bool kSplit = sizeof(U) == 2;
#else
  static constexpr bool kSplit = false;
#endif
  // The hot slots: kNoTag, then up to kHot - 1 others (kNoTag where fewer).
  // Whether to split; else for how many more groups not to (kRetry after a
  // choice that held less than half of its sample or of a group).
  static constexpr int kHot = 8;
  static constexpr int32_t kSample = 256, kRestChunk = 1024, kRetry = 64;
  struct HotSlots {
    U slot[kHot];
    bool split;
    int32_t wait;  // groups left before choosing again (not split)
  };

  // count with the population's hot slots; false where it did not count.
  // The choice is the thread's, kept from one work item to the next (the
  // fold is one work item's): choosing costs about as much as a group.
  // Any choice gives the same counts.
  KOKKOS_INLINE_FUNCTION bool split_hot(const U* tags, int32_t n, int p) {
#if defined(LATDISP_NEAR_ZERO_COMPRESS)
    static thread_local HotSlots hot[2] = {};
    HotSlots& h = hot[p];
    if (!h.split && h.wait-- <= 0) {
      h.split = choose_hot(tags, n, h.slot);
      h.wait = kRetry;
    }
    if (!h.split) return false;
    h.split = count_split(tags, n, p, h.slot);
    return true;
#else
    (void)tags, (void)n, (void)p;
    return false;
#endif
  }

  // The kHot - 1 slots most frequent among the first kSample coordinates of
  // the candidates (key, |2x| in {0, 1, 2, 4}: not moved, or by a half, one
  // or two cells), after kNoTag; whether they hold half of the sample.
  KOKKOS_INLINE_FUNCTION static bool choose_hot(const U* tags, int32_t n, U hot[kHot]) {
    constexpr int kColumns = 4, kCandidates = kColumns * (kKeys + 1);
    uint16_t seen[kCandidates + 1];  // the last: every other slot
    for (int c = 0; c <= kCandidates; ++c) seen[c] = 0;
    const int32_t sample = n < kSample ? n : kSample;
    for (int32_t i = 0; i < sample; ++i) {
      const U code = static_cast<U>(tags[i] & kMovedBits);
      const int column = code < 3 ? code : code == 4 ? 3 : kColumns;
      ++seen[column < kColumns ? column * (kKeys + 1) + (tags[i] >> kKeyShift) : kCandidates];
    }
    const U column_codes[kColumns] = {0, 1, 2, 4};
    int held = seen[kKeys];  // kNoTag: key kKeys, |2x| = 0
    seen[kKeys] = seen[kCandidates] = 0;
    hot[0] = kNoTag;
    for (int k = 1; k < kHot; ++k) {
      int best = kCandidates;  // seen 0
      for (int c = 0; c < kCandidates; ++c) best = seen[c] > seen[best] ? c : best;
      const int key = best % (kKeys + 1);
      hot[k] = best == kCandidates ? kNoTag : static_cast<U>((key << kKeyShift) | column_codes[best / (kKeys + 1)]);
      held += seen[best];
      seen[best] = 0;
    }
    return 2 * held >= sample;
  }

#if defined(LATDISP_NEAR_ZERO_COMPRESS)
  // The hot slots' coordinates counted in 16-bit vector lanes (at most
  // kRestChunk / 32 a lane between sums), the others gathered with
  // AVX-512's compress, 32 tags at a time, and added one by one. Whether
  // the hot slots held at least half of them.
  KOKKOS_INLINE_FUNCTION bool count_split(const U* tags, int32_t n, int p, const U* hot) {
    static_assert(sizeof(U) == 2 && kRestChunk / 32 < (1 << 15), "16-bit tags and lanes");
    __m512i slot[kHot];
    for (int k = 0; k < kHot; ++k) slot[k] = _mm512_set1_epi16(static_cast<short>(hot[k]));
    const __m512i minus_one = _mm512_set1_epi16(-1), ones = _mm512_set1_epi16(1);
    U rest[kRestChunk];
    int32_t others = 0;
    for (int32_t begin = 0; begin < n; begin += kRestChunk) {
      const int32_t m = n - begin < kRestChunk ? n - begin : kRestChunk;
      __m512i hits[kHot];
      for (int k = 0; k < kHot; ++k) hits[k] = _mm512_setzero_si512();
      int32_t left = 0, i = 0;
      for (; i + 32 <= m; i += 32) {
        const __m512i t = _mm512_loadu_si512(tags + begin + i);
        __mmask32 any = 0;
        for (int k = 0; k < kHot; ++k) {
          const __mmask32 is = _mm512_cmpeq_epi16_mask(t, slot[k]);
          hits[k] = _mm512_mask_sub_epi16(hits[k], is, hits[k], minus_one);
          any |= is;
        }
        _mm512_storeu_si512(rest + left, _mm512_maskz_compress_epi16(static_cast<__mmask32>(~any), t));
        left += 32 - __builtin_popcount(any);
      }
      for (; i < m; ++i) rest[left++] = tags[begin + i];  // the last < 32: one by one
      // Slot kNoTag (hot[0], repeated where fewer were found) is never read;
      // a slot with no coordinate may lie outside cover's part.
      for (int k = 1; k < kHot; ++k) {
        int32_t sums[16], found = 0;  // (not _mm512_reduce_add_epi32: GCC 12 warns inside it)
        _mm512_storeu_si512(sums, _mm512_madd_epi16(hits[k], ones));
        for (int j = 0; j < 16; ++j) found += sums[j];
        if (hot[k] != kNoTag && found != 0) slots[p][0][hot[k]] = static_cast<uint16_t>(slots[p][0][hot[k]] + found);
      }
      increments(rest, left, p);
      others += left;
    }
    return 2 * others <= n;
  }
#endif

  // Bit c set where counts[c] != 0, c < kCodes (<= 64).
  KOKKOS_INLINE_FUNCTION static uint64_t nonzero(const uint16_t* counts) {
    static_assert(kCodes <= 64, "a half-row's bits fit a word");
#if defined(LATDISP_NEAR_ZERO_AVX512BW)
    if constexpr (kCodes % 32 == 0) {
      uint64_t bits = 0;
      for (int v = 0; v < kCodes / 32; ++v) {
        const __m512i c = _mm512_loadu_si512(counts + 32 * v);
        bits |= static_cast<uint64_t>(_mm512_test_epi16_mask(c, c)) << (32 * v);
      }
      return bits;
    }
#endif
    uint64_t bits = 0;
    for (int c = 0; c < kCodes; ++c) bits |= static_cast<uint64_t>(counts[c] != 0) << c;
    return bits;
  }

  // What a flush reads back per kind of coordinate (0 keeps its sign, 1
  // from zero, 2 to zero): the counts, |2x| summed (kept its sign, crossed
  // zero) and the largest |2x|.
  struct KindTotals {
    uint32_t count[3] = {0, 0, 0}, max2x[3] = {0, 0, 0};
    uint64_t sum2x[2] = {0, 0};
    KOKKOS_INLINE_FUNCTION void add(int kind, uint32_t coordinates, uint64_t sum, uint32_t largest) {
      count[kind] += coordinates;
      sum2x[kind == 0 ? 0 : 1] += sum;
      max2x[kind] = largest > max2x[kind] ? largest : max2x[kind];
    }
  };

  // The slots into the sink's bins, and their kinds into transition t's
  // counts and `item`'s sums (the histogram holds one transition's
  // coordinates: a work item's); none in use after.
  template <class Access>
  KOKKOS_INLINE_FUNCTION void flush(Access& out, int64_t t, NearZeroItem& item) {
    for (int p = 0; p < 2; ++p) {
      KindTotals kinds;
      for (int key = lo[p]; key <= hi[p]; ++key) flush_key(p, key, out, kinds);
      clear(p);
      if (kinds.count[1] > 0) out.bins(p, kZeroBin, kBinFromZero) += kinds.count[1];
      const int kind_of[3] = {kKeepsSign, kFromZero, kToZero};
      for (int k = 0; k < 3; ++k) {
        if (kinds.count[k] == 0) continue;
        out.kinds(p, t, kind_of[k]) += kinds.count[k];
        out.maxima(p, kStartBins + kind_of[k]).update(near_zero_bits_of(0.5 * kinds.max2x[k]));
      }
      item.sums[p][0].add_halves(kinds.sum2x[0]);
      item.sums[p][1].add_halves(kinds.sum2x[1]);
    }
  }
  // One key: the lanes summed per slot, then the statistics over the slots
  // in use. Position j of a row is |2x| = j % kCodes, going to zero where
  // j >= kCodes; each total fits 16 bits (the fold flushes before 2^16
  // coordinates).
  template <class Access>
  KOKKOS_INLINE_FUNCTION void flush_key(int p, int key, Access& out, KindTotals& kinds) {
    uint16_t total[kRow];
    for (int j = 0; j < kRow; ++j) {
      uint16_t sum = 0;
      for (int lane = 0; lane < kLanes; ++lane)
        sum = static_cast<uint16_t>(sum + slots[p][lane][(key << kKeyShift) + j]);
      total[j] = sum;
    }
    // Per half (0: does not go to zero, 1: goes to zero): the count, the
    // half-integers, |2x| summed and the largest |2x| (the last code in use).
    uint32_t count[2] = {0, 0}, halves = 0, top[2] = {0, 0};
    uint64_t sum2x[2] = {0, 0};
    for (int half = 0; half < 2; ++half)
      for (uint64_t in_use = nonzero(total + half * kCodes); in_use != 0; in_use &= in_use - 1) {
        const uint32_t code = static_cast<uint32_t>(kmath::lowest_set_bit(in_use));
        const uint32_t t = total[half * kCodes + code];
        count[half] += t;
        halves += (code & 1) * t;
        sum2x[half] += static_cast<uint64_t>(code) * t;
        top[half] = code;
      }
    // Their kinds: in key 0 (a zero b) those that moved come from zero (a
    // common x with a zero b is 0 only for a zero a), the others keep their
    // sign; in any other key the first half keeps its sign.
    if (key == 0) {
      kinds.add(0, total[0], 0, 0);
      kinds.add(1, count[0] - total[0], sum2x[0], top[0]);
    } else {
      kinds.add(0, count[0], sum2x[0], top[0]);
    }
    kinds.add(2, count[1], sum2x[1], top[1]);
    const uint32_t to_zero = count[1], all = count[0] + count[1];
    if (all == 0) return;
    const uint32_t moved = all - total[0] - total[kCodes];  // |2x| > 0, either half
    common_moved[p] += moved;
    if (key == 0)
      common_zero_b += all;
    else if (key <= F::mantissa_bits)
      common_subnormal_b += all;
    const uint32_t largest = top[0] > top[1] ? top[0] : top[1];
    const int bin = near_zero_bin_of_key<F>(key);
    out.bins(p, bin, kBinExact) += all - halves;
    out.bins(p, bin, kBinHalf) += halves;
    out.bins(p, bin, kBinMoved) += moved;
    if (to_zero > 0) out.bins(p, bin, kBinToZero) += to_zero;
    out.maxima(p, bin).update(near_zero_bits_of(0.5 * largest));
  }
};
struct NoMagnitudeHistogram {};

// One work item's share of the breakdown in format F.
template <class F>
struct NearZeroFold {
  using C = formats::CommonCase<F>;
  using L = formats::Lattice<F>;
  using U = typename C::U;
  using S = typename C::S;
  using Bits = typename F::bits_type;

  // The start bin as a small key: 0 for a zero b, 1 + floor(log2 M) for a
  // subnormal (mantissa field M), E + mantissa bits for a normal (field E):
  // key k > 0 is the binade k - 1 + min_scale.
  static constexpr int kKeys = (1 << F::exponent_bits) + F::mantissa_bits;
  // The FP8 formats count their start bins in a histogram (kExactMagnitude;
  // a coordinate's tag is its slot there), the others per key as follows.
  using MagnitudeHistogram = NearZeroMagnitudeHistogram<F>;
  static constexpr bool kExactMagnitude = MagnitudeHistogram::kApplies;
  using Histogram = typename std::conditional<kExactMagnitude, MagnitudeHistogram, NoMagnitudeHistogram>::type;
  // A common coordinate's tag: 2 * key + (1 if it goes to zero), or its
  // histogram slot (kExactMagnitude); kNoTag where not common.
  static constexpr U kNoTag = kExactMagnitude ? MagnitudeHistogram::kNoTag : static_cast<U>(~U(0));
  static_assert(kExactMagnitude || 2 * kKeys + 1 < kNoTag, "a tag fits a lane");
  static constexpr int kCountKeys = kExactMagnitude ? 1 : kKeys;  // counts and max2x in use
  // Per key, the common coordinates' count, moved, half-integer and |x| > 1024
  // counts packed in 16-bit fields of one 64-bit entry (flushed before one
  // could pass 2^16), and the largest |2x|. Coordinate i goes to lane i % kLanes:
  // consecutive coordinates mostly share a binade, and one entry would chain
  // every update on the previous one.
  static constexpr int kMovedShift = 16, kHalfShift = 32, kLargeShift = 48;
  static constexpr int64_t kFlushAt = (int64_t(1) << 16) - 1;
  static constexpr int kLanes = 4;
  // |2x| of a common coordinate with |x| > 1024 (only where the common case reaches it).
  static constexpr int32_t kLarge2x = 2048;
  static constexpr bool kReaches1024 = C::kX2Limit > kLarge2x;
  static_assert(!(kExactMagnitude && kReaches1024), "the histogram has no |x| > 1024 flag");
  // The keys from a population's highest down (in its buffer, see drain)
  // that get a vectorized loop (most coordinates lie within a few binades of
  // the largest): at least kDenseKeys, and more (up to kMaxDenseKeys) while
  // over 1/32 of the buffer is left, about where the loop costs less than
  // taking those one by one (formats with few mantissa bits spread over more
  // binades). The cap only bounds a buffer spread thin over hundreds of
  // binades (f32). The keys go up to four a loop (dense_keys), so a few more
  // may be taken.
  static constexpr int kDenseKeys = 8, kMaxDenseKeys = 40;
  // The most coordinates the groups between two drains (drain) may hold: a
  // common pass's group or a row chunk fits.
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
  static constexpr int32_t kBufferCoordinates = 128;
#else
  static constexpr int32_t kBufferCoordinates = 8192;
#endif

  NearZeroItem item;
  Histogram histogram;
  uint64_t counts[2][kCountKeys][kLanes];
  uint32_t max2x[2][kCountKeys][kLanes];  // the largest |2x|
  // The keys whose entries are zeroed and in use: key 0 (zeros) where
  // zeros_in_use[p], the keys in [lo[p], hi[p]] (lo > hi: none) from 1 up,
  // so that a zero b does not stretch the range over every binade below the group's.
  int lo[2], hi[2];
  bool zeros_in_use[2];
  int64_t since_flush;
  int64_t transition;  // of the coordinates since the last flush (a work item has one)
  // kExactMagnitude: per population, the tags of its groups from the common
  // pass not counted yet (tag_room), their number, least tag and greatest
  // common tag.
  static constexpr int32_t kTagBuffer = kExactMagnitude ? kBufferCoordinates / 2 : 1;
  U held_tags[2][kTagBuffer];
  int32_t held[2];
  U held_lo[2], held_hi[2];
  // Not kExactMagnitude: per population, the common coordinates' tags and
  // |2x| of its groups since the last drain, so that the keys are counted
  // over many groups at once (a work item's groups are often a few rows
  // each); their count, whether a zero b (key 0) is among them and their highest key.
  static constexpr int32_t kBuffered = kExactMagnitude ? 1 : kBufferCoordinates;
  U buffered_tags[2][kBuffered], buffered_x2[2][kBuffered];
  int32_t buffered[2];
  int64_t buffered_common[2];
  bool buffered_zeros[2];
  int buffered_hi[2];
  double epsilon;
  formats::ZeroUlp zero_rule;

  KOKKOS_INLINE_FUNCTION void reset(double epsilon_, formats::ZeroUlp zero_rule_) {
    item.reset();
    for (int p = 0; p < 2; ++p) {
      lo[p] = kKeys;
      hi[p] = -1;
      zeros_in_use[p] = false;
    }
    if constexpr (kExactMagnitude) histogram.reset();
    for (int p = 0; p < 2; ++p) {
      clear_buffer(p);
      held[p] = 0;
      held_lo[p] = kNoTag;
      held_hi[p] = 0;
    }
    since_flush = 0;
    transition = 0;
    epsilon = epsilon_;
    zero_rule = zero_rule_;
  }

  KOKKOS_INLINE_FUNCTION static int bin_of_key(int key) { return near_zero_bin_of_key<F>(key); }

  // The key of b's start bin (b finite), without branches. With
  // `in_group`, in the group's flat loop: bf16's common b is never
  // subnormal, and f32's subnormals get the placeholder key 1 (kPlaceholder;
  // sparse_coordinate finds their key), which keeps that loop vectorized.
  static constexpr bool kPlaceholder = C::kWide;
  template <bool in_group = false>
  KOKKOS_FORCEINLINE_FUNCTION static U key_of(U b) {
    const U mb = static_cast<U>(b & C::kMagnitudeMask);
    const U eb = static_cast<U>(mb >> F::mantissa_bits), fb = static_cast<U>(mb & C::kMantissaMask);
    U top = 0;  // floor(log2 fb) for fb > 0
    if (in_group && (C::kSeedAgreement || kPlaceholder)) {
      top = 0;
    } else if (C::kWide) {
      const float f = static_cast<float>(static_cast<int32_t>(fb));
      uint32_t bits;
      memcpy(&bits, &f, sizeof bits);
      top = static_cast<U>((bits >> 23) - 127u);
    } else {
      // fb >= 2^j for fb >> j != 0: a compare in the lane's width (a shift widens to int)
      for (int j = 1; j < F::mantissa_bits; ++j) top = static_cast<U>(top + U(fb >= static_cast<U>(U(1) << j)));
    }
    const U subnormal_key = static_cast<U>(fb != 0 ? top + 1 : 0);
    return static_cast<U>(eb != 0 ? static_cast<U>(eb + F::mantissa_bits) : subnormal_key);
  }

  // The start bin of any b: zero, not finite, or its binade floor(log2 |b|).
  KOKKOS_INLINE_FUNCTION static int start_bin(Bits b) {
    if (!L::is_finite(b)) return kNonfiniteBin;
    return bin_of_key(key_of(static_cast<U>(L::raw(b))));
  }

  KOKKOS_INLINE_FUNCTION static int zero_kind(Bits a, Bits b) {
    const bool zb = L::is_zero(b), za = L::is_zero(a);
    if (zb) return za ? kKeepsSign : kFromZero;
    if (za) return kToZero;
    return L::sign_bit(a) != L::sign_bit(b) ? kSignChange : kKeepsSign;
  }

  // Makes key 0 (zeros) of population p usable (zeroed) in the local bins.
  KOKKOS_INLINE_FUNCTION void cover_zeros(int p) {
    if (!zeros_in_use[p]) zero_keys(p, 0, 0), zeros_in_use[p] = true;
  }
  // Makes keys [key_lo, key_hi] (key_lo >= 1) of population p usable (zeroed) in the local bins.
  KOKKOS_INLINE_FUNCTION void cover(int p, int key_lo, int key_hi) {
    if (key_lo > key_hi) return;
    if (lo[p] > hi[p]) lo[p] = hi[p] = key_lo, zero_keys(p, key_lo, key_lo);
    if (key_lo < lo[p]) zero_keys(p, key_lo, lo[p] - 1), lo[p] = key_lo;
    if (key_hi > hi[p]) zero_keys(p, hi[p] + 1, key_hi), hi[p] = key_hi;
  }
  KOKKOS_INLINE_FUNCTION void zero_keys(int p, int first, int last) {
    for (int key = first; key <= last; ++key)
      for (int lane = 0; lane < kLanes; ++lane) counts[p][key][lane] = max2x[p][key][lane] = 0;
  }

  KOKKOS_INLINE_FUNCTION static uint64_t packed(uint64_t count, uint64_t moved, uint64_t halves, uint64_t large) {
    return count | (moved << kMovedShift) | (halves << kHalfShift) | (large << kLargeShift);
  }

  // Once the work item's last flush is done: what the FP8 formats' common
  // pass left to the histogram (common_group's kCountsFromTags) into its
  // tallies; nothing for the other formats.
  KOKKOS_INLINE_FUNCTION void add_common_counts(PopulationTally (&population)[2], UlpTally& ulp) const {
    if constexpr (kExactMagnitude) {
      for (int p = 0; p < 2; ++p) population[p].counts[kCountMoved] += histogram.common_moved[p];
      ulp.zeros += histogram.common_zero_b;
      ulp.subnormals += histogram.common_subnormal_b;
    } else {
      (void)population, (void)ulp;
    }
  }

  // The local bins into the sink's, leaving them zeroed.
  template <class Access>
  KOKKOS_INLINE_FUNCTION void flush(Access& out) {
    if constexpr (kExactMagnitude) {
      count_held(0);
      count_held(1);
      histogram.flush(out, transition, item);
    } else {
      drain(0);
      drain(1);
      flush_keys(out);
    }
    since_flush = 0;
  }
  template <class Access>
  KOKKOS_INLINE_FUNCTION void flush_keys(Access& out) {
    for (int p = 0; p < 2; ++p) {
      if (zeros_in_use[p]) flush_key(p, 0, out);
      for (int key = lo[p]; key <= hi[p]; ++key) flush_key(p, key, out);
    }
  }
  template <class Access>
  KOKKOS_INLINE_FUNCTION void flush_key(int p, int key, Access& out) {
    constexpr uint64_t kField = 0xFFFF;
    int64_t count = 0, moved = 0, halves = 0, large = 0;
    uint32_t max = 0;
    for (int lane = 0; lane < kLanes; ++lane) {
      const uint64_t entry = counts[p][key][lane];
      count += static_cast<int64_t>(entry & kField);
      moved += static_cast<int64_t>((entry >> kMovedShift) & kField);
      halves += static_cast<int64_t>((entry >> kHalfShift) & kField);
      large += static_cast<int64_t>(entry >> kLargeShift);
      max = max2x[p][key][lane] > max ? max2x[p][key][lane] : max;
      counts[p][key][lane] = max2x[p][key][lane] = 0;
    }
    if (count == 0) return;
    const int bin = bin_of_key(key);
    out.bins(p, bin, kBinExact) += count - halves;
    out.bins(p, bin, kBinHalf) += halves;
    out.bins(p, bin, kBinMoved) += moved;
    if (large > 0) out.bins(p, bin, kBinAbove1024) += large;
    out.maxima(p, bin).update(near_zero_bits_of(0.5 * max));
  }

  // What a group's flat loop sums (kind: 0 keeps its sign, 1 from zero, 2 to zero).
  struct GroupSums {
    int64_t common = 0, count[3] = {0, 0, 0}, large[3] = {0, 0, 0};
    uint64_t sum2x[2] = {0, 0};  // |2x| summed: kept its sign, crossed zero
    uint32_t max2x[3] = {0, 0, 0};
    int key_lo = kKeys, key_hi = -1;
  };

  // The flat loop over a group's n coordinates, branch-free so that it
  // vectorizes: kinds, sums and extremes; tags[i] as kNoTag says.
  KOKKOS_FORCEINLINE_FUNCTION static GroupSums group_sums(const Bits* from, const Bits* to, const S* x2, const U* marks,
                                                          int32_t n, U* tags) {
    using Sum = typename std::conditional<C::kWide, uint64_t, uint32_t>::type;  // n * |2x| fits
    // Where |2x| < 64 (the FP8 formats) the sums of |2x| go in lane-wide
    // partial sums, kSumChunk coordinates at a time (kSumChunk * 63 < 2^16).
    constexpr bool kNarrowSums = C::kX2Limit < 64 && sizeof(U) == 2;
    constexpr int32_t kSumChunk = kNarrowSums ? 1024 : INT32_MAX;
    using PartSum = typename std::conditional<kNarrowSums, U, Sum>::type;
    U common_count = 0, from_count = 0, to_count = 0, large_keep = 0, large_from = 0, large_to = 0;
    Sum keep_sum = 0, cross_sum = 0;
    U keep_max = 0, from_max = 0, to_max = 0, key_lo = static_cast<U>(~U(0)), key_hi = 0;
    for (int32_t begin = 0; begin < n; begin += kSumChunk) {
      const int32_t end = n - begin < kSumChunk ? n : begin + kSumChunk;
      PartSum keep_part = 0, cross_part = 0;
      for (int32_t i = begin; i < end; ++i) {
        const U a = static_cast<U>(to[i]), b = static_cast<U>(from[i]);
        const U common = static_cast<U>(((marks[i] >> C::kUncommonShift) & 1) ^ 1);
        const S v = x2[i];  // 0 where not common
        const U magnitude = static_cast<U>(v < 0 ? -v : v);
        const U b_zero = static_cast<U>((b & C::kMagnitudeMask) == 0),
                a_zero = static_cast<U>((a & C::kMagnitudeMask) == 0);
        const U from_zero = static_cast<U>(common & b_zero & (a_zero ^ 1));
        const U to_zero = static_cast<U>(common & a_zero & (b_zero ^ 1));
        const U keep = static_cast<U>(common & ((from_zero | to_zero) ^ 1));
        const U key = key_of<true>(b);
        const U mask = static_cast<U>(-common);
        U tag;
        if constexpr (kExactMagnitude)
          tag = MagnitudeHistogram::slot_of(key, to_zero, magnitude);
        else
          tag = static_cast<U>(2 * key + to_zero);
        tags[i] = static_cast<U>((tag & mask) | (kNoTag & static_cast<U>(~mask)));
        const U key_or_high = static_cast<U>(key | static_cast<U>(~mask)), key_or_low = static_cast<U>(key & mask);
        key_lo = key_or_high < key_lo ? key_or_high : key_lo;
        key_hi = key_or_low > key_hi ? key_or_low : key_hi;
        common_count = static_cast<U>(common_count + common);
        from_count = static_cast<U>(from_count + from_zero);
        to_count = static_cast<U>(to_count + to_zero);
        const U keep_m = static_cast<U>(magnitude & static_cast<U>(-keep));
        const U from_m = static_cast<U>(magnitude & static_cast<U>(-from_zero));
        const U to_m = static_cast<U>(magnitude & static_cast<U>(-to_zero));
        keep_part = static_cast<PartSum>(keep_part + keep_m);
        cross_part = static_cast<PartSum>(cross_part + static_cast<U>(from_m | to_m));
        keep_max = keep_m > keep_max ? keep_m : keep_max;
        from_max = from_m > from_max ? from_m : from_max;
        to_max = to_m > to_max ? to_m : to_max;
        if (kReaches1024) {
          large_keep = static_cast<U>(large_keep + U(keep_m > kLarge2x));
          large_from = static_cast<U>(large_from + U(from_m > kLarge2x));
          large_to = static_cast<U>(large_to + U(to_m > kLarge2x));
        }
      }
      keep_sum += keep_part;
      cross_sum += cross_part;
    }
    GroupSums s;
    s.common = common_count;
    s.count[0] = common_count - from_count - to_count;
    s.count[1] = from_count;
    s.count[2] = to_count;
    s.large[0] = large_keep;
    s.large[1] = large_from;
    s.large[2] = large_to;
    s.sum2x[0] = keep_sum;
    s.sum2x[1] = cross_sum;
    s.max2x[0] = keep_max;
    s.max2x[1] = from_max;
    s.max2x[2] = to_max;
    if (common_count > 0) s.key_lo = key_lo, s.key_hi = key_hi;
    return s;
  }

  // The dense loops' lanes: coordinate i of a chunk goes to lane i % kDenseLanes
  // (a vector register's worth of U on the host), so that each key's
  // statistics stay in registers, one lane each, through the loop.
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
  static constexpr int kDenseLanes = 1;
#else
  static constexpr int kDenseLanes = 64 / static_cast<int>(sizeof(U));
#endif
  // Within a lane, a key's count, moved, half-integer and (kReaches1024)
  // |x| > 1024 counts are packed in fields of kFieldBits, so that one masked
  // add per key and coordinate updates them all; a chunk gives a lane at most
  // kFieldMask coordinates, then the fields are added to per-lane totals.
  static constexpr int kDenseFields = kReaches1024 ? 4 : 3;
  static constexpr int kFieldBits = 8 * static_cast<int>(sizeof(U)) / kDenseFields;
  static constexpr U kFieldMask = static_cast<U>((U(1) << kFieldBits) - 1);
  static constexpr int32_t kDenseChunk = kDenseLanes * static_cast<int32_t>(kFieldMask);
  static_assert(kBuffered / kDenseLanes + 1 <= static_cast<U>(~U(0)), "a lane's totals fit a U");

  // One coordinate of a dense loop (|2x| and its tag) into lane j of keys[0 .. K).
  template <int K>
  KOKKOS_FORCEINLINE_FUNCTION static void dense_lane(U all, U tag, const U (&keys)[K], U (&fields)[K][kDenseLanes],
                                                     U (&max)[K][kDenseLanes], int j) {
    U increment = static_cast<U>(1 | (U(all != 0) << kFieldBits) | ((all & 1) << (2 * kFieldBits)));
    if (kReaches1024) increment = static_cast<U>(increment | (U(all > kLarge2x) << (3 * kFieldBits)));
    const U key = static_cast<U>(tag >> 1);
    for (int k = 0; k < K; ++k) {  // written as selects: masked adds and maxima where the vector unit has them
      const bool match = key == keys[k];
      const U sum = static_cast<U>(fields[k][j] + increment), larger = all > max[k][j] ? all : max[k][j];
      fields[k][j] = match ? sum : fields[k][j];
      max[k][j] = match ? larger : max[k][j];
    }
  }

  // Population p's buffered coordinates of K keys, in one loop (it
  // vectorizes; the tags and |2x| are loaded once for all K): into lane 0
  // of their local bins; found[k]: how many of keys[k].
  template <int K>
  KOKKOS_INLINE_FUNCTION void dense_keys(int p, const U (&keys)[K], int64_t (&found)[K]) {
    constexpr int L = kDenseLanes;
    const int32_t n = buffered[p];
    const U* tags = buffered_tags[p];
    const U* x2 = buffered_x2[p];
    U totals[K][kDenseFields][L], max[K][L];
    for (int k = 0; k < K; ++k)
      for (int j = 0; j < L; ++j) {
        max[k][j] = 0;
        for (int f = 0; f < kDenseFields; ++f) totals[k][f][j] = 0;
      }
    for (int32_t begin = 0; begin < n; begin += kDenseChunk) {
      const int32_t end = n - begin < kDenseChunk ? n : begin + kDenseChunk;
      U fields[K][L];
      for (int k = 0; k < K; ++k)
        for (int j = 0; j < L; ++j) fields[k][j] = 0;
      int32_t i = begin;
      for (; i + L <= end; i += L)
        for (int j = 0; j < L; ++j) dense_lane<K>(x2[i + j], tags[i + j], keys, fields, max, j);
      for (int j = 0; i + j < end; ++j) dense_lane<K>(x2[i + j], tags[i + j], keys, fields, max, j);
      for (int k = 0; k < K; ++k)
        for (int f = 0; f < kDenseFields; ++f)
          for (int j = 0; j < L; ++j)
            totals[k][f][j] = static_cast<U>(totals[k][f][j] + ((fields[k][j] >> (f * kFieldBits)) & kFieldMask));
    }
    for (int k = 0; k < K; ++k) {
      uint64_t sum[4] = {0, 0, 0, 0};
      U top = 0;
      for (int j = 0; j < L; ++j) {
        for (int f = 0; f < kDenseFields; ++f) sum[f] += totals[k][f][j];
        top = max[k][j] > top ? max[k][j] : top;
      }
      found[k] = static_cast<int64_t>(sum[0]);
      if (sum[0] == 0) continue;
      counts[p][keys[k]][0] += packed(sum[0], sum[1], sum[2], sum[3]);
      max2x[p][keys[k]][0] = top > max2x[p][keys[k]][0] ? top : max2x[p][keys[k]][0];
    }
  }

  // Runs visit(i) for each i < n with marked(tags[i]), in order: a loop that
  // vectorizes marks them (a byte each), the marks are then read eight at a time.
  template <class Marked, class Visit>
  KOKKOS_INLINE_FUNCTION static void for_marked(const U* tags, int32_t n, const Marked& marked, const Visit& visit) {
    uint8_t marks_of[kSparseChunk + 8];
    for (int32_t begin = 0; begin < n; begin += kSparseChunk) {
      const int32_t m = n - begin < kSparseChunk ? n - begin : kSparseChunk;
      for (int32_t i = 0; i < m; ++i) marks_of[i] = static_cast<uint8_t>(marked(tags[begin + i]));
      for (int32_t i = m; i % 8 != 0; ++i) marks_of[i] = 0;
      for (int32_t word = 0; word < m; word += 8) {
        uint64_t marks;
        memcpy(&marks, marks_of + word, 8);
        for (; marks != 0; marks &= marks - 1) visit(begin + word + kmath::lowest_set_bit(marks) / 8);
      }
    }
  }
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
  static constexpr int32_t kSparseChunk = 64;
#else
  static constexpr int32_t kSparseChunk = 1024;
#endif

  // Population p's buffered coordinates with a key in [first, below), one by one.
  KOKKOS_INLINE_FUNCTION void sparse_keys(int p, int first, int below) {
    const U* tags = buffered_tags[p];
    const U* x2 = buffered_x2[p];
    const U low = static_cast<U>(first), span = static_cast<U>(below - first);
    const auto sparse = [=](U tag) {
      return (static_cast<U>(static_cast<U>(tag >> 1) - low) < span) & (tag != kNoTag);
    };
    for_marked(tags, buffered[p], sparse, [&](int32_t i) {
      const int key = tags[i] >> 1, lane = i % kLanes;
      const uint32_t magnitude = x2[i];
      counts[p][key][lane] += packed(1, magnitude != 0, magnitude & 1, kReaches1024 && magnitude > kLarge2x);
      uint32_t& max = max2x[p][key][lane];
      max = magnitude > max ? magnitude : max;
    });
  }

  // The common coordinates of a group (n <= 2^15 of one population p and
  // transition t; x2 and marks as the common pass leaves them); `tags` has
  // room for n. The others are left to `general`.
  template <class Access>
  KOKKOS_INLINE_FUNCTION void group(const Bits* from, const Bits* to, const S* x2, const U* marks, int32_t n, int p,
                                    int64_t t, U* tags, Access& out) {
    if (since_flush + n > kFlushAt) flush(out);
    since_flush += n;
    transition = t;
    if constexpr (!kExactMagnitude) {
      if (buffered[p] + n > kBuffered) drain(p);
      tags = buffered_tags[p] + buffered[p];  // kept there for drain
    }
    const GroupSums s = group_sums(from, to, x2, marks, n, tags);
    if (s.common == 0) return;
    if constexpr (kExactMagnitude) {  // the kinds are read back from the histogram at flush time
      histogram.cover(p, s.key_lo, s.key_hi);
      histogram.count(tags, n, p);
      return;
    }
    buffer_group(from, x2, n, p, s, out);
    if (s.count[1] > 0) out.bins(p, kZeroBin, kBinFromZero) += s.count[1];
    const int kinds[3] = {kKeepsSign, kFromZero, kToZero};
    for (int k = 0; k < 3; ++k) {
      if (s.count[k] == 0) continue;
      out.kinds(p, t, kinds[k]) += s.count[k];
      if (s.large[k] > 0) out.kinds(p, t, kZeroKinds + kinds[k]) += s.large[k];
      out.maxima(p, kStartBins + kinds[k]).update(near_zero_bits_of(0.5 * s.max2x[k]));
    }
    item.sums[p][0].add_halves(s.sum2x[0]);
    item.sums[p][1].add_halves(s.sum2x[1]);
  }

  // The FP8 formats' path from the common pass (kExactMagnitude): a
  // coordinate's tag (its histogram slot, kNoTag where not common) from the
  // pair and its x2 (0 where not common), in the common pass's flat loop,
  // the same as group_sums gives it.
  KOKKOS_FORCEINLINE_FUNCTION static U tag_of(U a, U b, S x2, U common) {
    static_assert(kExactMagnitude, "tags in the common pass: the FP8 formats only");
    const U b_zero = static_cast<U>((b & C::kMagnitudeMask) == 0), a_zero = static_cast<U>((a & C::kMagnitudeMask) == 0);
    const U to_zero = static_cast<U>(a_zero & (b_zero ^ 1));
    const U magnitude = static_cast<U>(x2 < 0 ? -x2 : x2);
    const U tag = MagnitudeHistogram::slot_of(key_of<true>(b), to_zero, magnitude);
    return common ? tag : kNoTag;
  }
  // Where the common pass writes the tags of a group of n coordinates of
  // population p: after the population's held tags (counted kTagBuffer at
  // a time: a group is often a few rows, and a count has a cost per call),
  // or in `scratch` (room for n) where they would not fit.
  KOKKOS_INLINE_FUNCTION U* tag_room(int p, int32_t n, U* scratch) {
    if (held[p] + n > kTagBuffer) count_held(p);
    return n <= kTagBuffer ? held_tags[p] + held[p] : scratch;
  }
  // A group's n coordinates (population p, transition t) whose tags the
  // common pass wrote (tag_of) where tag_room said, tag_lo and tag_hi the
  // least tag and the greatest common one (tag_lo == kNoTag: none common):
  // held, or counted now. The others are left to `general`.
  template <class Access>
  KOKKOS_INLINE_FUNCTION void tagged_group(const U* tags, int32_t n, int p, int64_t t, U tag_lo, U tag_hi,
                                           Access& out) {
    static_assert(kExactMagnitude, "tags in the common pass: the FP8 formats only");
    if (since_flush + n > kFlushAt) flush(out);  // counts the held tags; the group's stay where they are
    since_flush += n;
    transition = t;
    if (tag_lo == kNoTag) return;
    if (tags == held_tags[p] + held[p]) {  // in the buffer, after the held ones
      held[p] += n;
      held_lo[p] = tag_lo < held_lo[p] ? tag_lo : held_lo[p];
      held_hi[p] = tag_hi > held_hi[p] ? tag_hi : held_hi[p];
      return;
    }
    histogram.cover(p, tag_lo >> MagnitudeHistogram::kKeyShift, tag_hi >> MagnitudeHistogram::kKeyShift);
    histogram.count(tags, n, p);
  }
  // Population p's held tags into the histogram.
  KOKKOS_INLINE_FUNCTION void count_held(int p) {
    if constexpr (kExactMagnitude) {
      if (held[p] > 0) {
        histogram.cover(p, held_lo[p] >> MagnitudeHistogram::kKeyShift, held_hi[p] >> MagnitudeHistogram::kKeyShift);
        histogram.count(held_tags[p], held[p], p);
      }
      held[p] = 0;
      held_lo[p] = kNoTag;
      held_hi[p] = 0;
    }
  }

  // A group's tags, just written by group_sums at the end of population p's
  // buffer, made whole and kept with the group's |2x| (not kExactMagnitude):
  // f32's placeholder keys (subnormal b) resolved, the keys in use covered;
  // the coordinates that go to zero counted now.
  template <class Access>
  KOKKOS_INLINE_FUNCTION void buffer_group(const Bits* from, const S* x2, int32_t n, int p, const GroupSums& s,
                                           Access& out) {
    U* tags = buffered_tags[p] + buffered[p];
    if (kPlaceholder && s.key_lo <= 1 && s.key_hi >= 1) {  // a key 1 in the group: maybe placeholders
      const auto placeholder = [](U tag) { return (tag >> 1) == 1; };
      for_marked(tags, n, placeholder,
                 [&](int32_t i) { tags[i] = static_cast<U>(2 * key_of(static_cast<U>(from[i])) + (tags[i] & 1)); });
    }
    if (s.count[2] > 0) {
      const auto to_zero = [](U tag) { return (tag & 1) & (tag != kNoTag); };
      for_marked(tags, n, to_zero, [&](int32_t i) { out.bins(p, bin_of_key(tags[i] >> 1), kBinToZero) += 1; });
    }
    // |2x| kept, and the range of the keys other than 0 (key 0: tags 0 and 1); none: key_lo > key_hi.
    U* magnitudes = buffered_x2[p] + buffered[p];
    U lowest = kNoTag, highest = 0;
    for (int32_t i = 0; i < n; ++i) {
      const S v = x2[i];
      magnitudes[i] = static_cast<U>(v < 0 ? -v : v);
      const U tag = tags[i];
      const U nonzero_or_high = static_cast<U>(tag | static_cast<U>(-static_cast<U>(tag < 2)));
      const U common_or_low = static_cast<U>(tag & static_cast<U>(-static_cast<U>(tag != kNoTag)));
      lowest = nonzero_or_high < lowest ? nonzero_or_high : lowest;
      highest = common_or_low > highest ? common_or_low : highest;
    }
    const int key_lo = lowest >> 1, key_hi = highest >> 1;
    if (s.key_lo == 0) cover_zeros(p);
    cover(p, key_lo, key_hi);
    buffered_zeros[p] = buffered_zeros[p] || s.key_lo == 0;
    if (buffered_common[p] == 0 || key_hi > buffered_hi[p]) buffered_hi[p] = key_hi;
    buffered_common[p] += s.common;
    buffered[p] += n;
  }

  KOKKOS_INLINE_FUNCTION void clear_buffer(int p) {
    buffered[p] = 0;
    buffered_common[p] = 0;
    buffered_zeros[p] = false;
    buffered_hi[p] = -1;
  }

  // Population p's buffered coordinates into the local bins (not
  // kExactMagnitude): its zeros (key 0) and highest keys in vectorized loops
  // of up to four keys, at least kDenseKeys and more while over 1/32 of them
  // is left; the rest one by one.
  KOKKOS_INLINE_FUNCTION void drain(int p) {
    if (buffered_common[p] == 0) {
      clear_buffer(p);
      return;
    }
    int64_t left = buffered_common[p];
    U keys[4];
    int size = 0;
    const int hi = buffered_hi[p];
    int first = 0;  // keys [first, key] are left to sparse_keys
    if (buffered_zeros[p]) keys[size++] = 0, first = 1;
    int key = hi;
    for (; left > 0 && key >= 1 && key > hi - kMaxDenseKeys && (key > hi - kDenseKeys || 32 * left > buffered[p]);
         --key) {
      keys[size++] = static_cast<U>(key);
      if (size == 4) left -= dense_of<4>(p, keys), size = 0;
    }
    if (size == 3) left -= dense_of<3>(p, keys);
    if (size == 2) left -= dense_of<2>(p, keys);
    if (size == 1) left -= dense_of<1>(p, keys);
    if (left > 0) sparse_keys(p, first, key + 1);
    clear_buffer(p);
  }
  template <int K>
  KOKKOS_INLINE_FUNCTION int64_t dense_of(int p, const U (&gathered)[4]) {
    U keys[K];
    int64_t found[K], total = 0;
    for (int k = 0; k < K; ++k) keys[k] = gathered[k];
    dense_keys<K>(p, keys, found);
    for (int k = 0; k < K; ++k) total += found[k];
    return total;
  }

  // A coordinate outside the common case (a = W[t+1], b = W[t]), by the exact rules.
  template <class Access>
  KOKKOS_INLINE_FUNCTION void general(Bits a, Bits b, int p, int64_t t, Access& out) {
    const int bin = start_bin(b);
    if (bin == kNonfiniteBin || !L::is_finite(a)) {
      out.bins(p, bin, kBinNonfinite) += 1;
      return;
    }
    const int kind = zero_kind(a, b);
    const formats::ExactX x = formats::exact_x<F>(a, b, zero_rule);
    const double d = formats::to_double(x);
    const double magnitude = d < 0 ? -d : d;
    out.bins(p, bin, formats::classify<F>(x, epsilon)) += 1;
    if (magnitude != 0.0) out.bins(p, bin, kBinMoved) += 1;
    if (kind != kKeepsSign) out.bins(p, bin, kBinSignChange + kind - kSignChange) += 1;
    out.kinds(p, t, kind) += 1;
    if (near_zero_above_1024(x, d)) {
      out.bins(p, bin, kBinAbove1024) += 1;
      out.kinds(p, t, kZeroKinds + kind) += 1;
    }
    const uint64_t bits = near_zero_bits_of(magnitude);
    out.maxima(p, bin).update(bits);
    out.maxima(p, kStartBins + kind).update(bits);
    item.sums[p][kind == kKeepsSign ? 0 : 1].add(magnitude);
  }

  // A row (or any run of coordinates) on its own, for the kernel's paths
  // that do not run the common pass: the common case's lanes in chunks, then
  // group() and general().
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
  static constexpr int32_t kRowChunk = 64;
#else
  static constexpr int32_t kRowChunk = 512;
#endif
  static_assert(kRowChunk <= kBufferCoordinates, "a row chunk fits the buffer");
  template <class Access>
  KOKKOS_INLINE_FUNCTION void row(const Bits* from, const Bits* to, int64_t dims, const typename C::Rules& rules, int p,
                                  int64_t t, Access& out) {
    S x2[kRowChunk];
    U marks[kRowChunk], tags[kRowChunk];
    for (int64_t begin = 0; begin < dims; begin += kRowChunk) {
      const int32_t n = static_cast<int32_t>(dims - begin < kRowChunk ? dims - begin : kRowChunk);
      for (int32_t i = 0; i < n; ++i) {
        const typename C::Lane l = C::lane(static_cast<U>(to[begin + i]), static_cast<U>(from[begin + i]), rules);
        x2[i] = l.x2;
        marks[i] = static_cast<U>((l.common ^ 1) << C::kUncommonShift);
      }
      group(from + begin, to + begin, x2, marks, n, p, t, tags, out);
      for (int32_t i = 0; i < n; ++i)
        if ((marks[i] >> C::kUncommonShift) & 1) general(to[begin + i], from[begin + i], p, t, out);
    }
  }
};

}  // namespace latdisp
