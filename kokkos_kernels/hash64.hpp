// 64-bit hashes shared by the host and the kernels: splitmix64 (the
// synthetic data's counter-based generator) and the row hash of
// `blackholes` (xxHash64-style rounds over a row of bfloat16 bits).
#pragma once

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <cstring>

namespace latdisp {

// Steele, Lea and Flood's splitmix64 finalizer: a bijection of 64-bit words
// whose outputs look independent for consecutive inputs.
KOKKOS_INLINE_FUNCTION uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

namespace row_hash_detail {
constexpr uint64_t kPrime1 = 0x9E3779B185EBCA87ULL;
constexpr uint64_t kPrime2 = 0xC2B2AE3D27D4EB4FULL;
constexpr uint64_t kPrime3 = 0x165667B19E3779F9ULL;
constexpr uint64_t kPrime4 = 0x85EBCA77C2B2AE63ULL;
constexpr uint64_t kPrime5 = 0x27D4EB2F165667C5ULL;

KOKKOS_INLINE_FUNCTION uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
KOKKOS_INLINE_FUNCTION uint64_t round64(uint64_t acc, uint64_t input) {
  return rotl(acc + input * kPrime2, 31) * kPrime1;
}
KOKKOS_INLINE_FUNCTION uint64_t merge64(uint64_t acc, uint64_t lane) {
  return (acc ^ round64(0, lane)) * kPrime1 + kPrime4;
}
// Four values as one word (memcpy: rows are only 2-byte aligned).
KOKKOS_INLINE_FUNCTION uint64_t word_at(const uint16_t* p) {
  uint64_t word;
  memcpy(&word, p, sizeof word);
  return word;
}
}  // namespace row_hash_detail

// A 64-bit hash of one row of `cols` bfloat16 values. Equal rows hash
// equally; different rows collide with probability about 2^-64.
KOKKOS_INLINE_FUNCTION uint64_t row_hash(const uint16_t* row, int64_t cols) {
  using namespace row_hash_detail;
  int64_t i = 0;
  uint64_t h;
  if (cols >= 16) {
    uint64_t v1 = kPrime1 + kPrime2, v2 = kPrime2, v3 = 0, v4 = 0 - kPrime1;
    for (; i + 16 <= cols; i += 16) {
      v1 = round64(v1, word_at(row + i));
      v2 = round64(v2, word_at(row + i + 4));
      v3 = round64(v3, word_at(row + i + 8));
      v4 = round64(v4, word_at(row + i + 12));
    }
    h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
    h = merge64(h, v1);
    h = merge64(h, v2);
    h = merge64(h, v3);
    h = merge64(h, v4);
  } else {
    h = kPrime5;
  }
  h += static_cast<uint64_t>(cols) * 2;
  for (; i + 4 <= cols; i += 4) h = rotl(h ^ round64(0, word_at(row + i)), 27) * kPrime1 + kPrime4;
  for (; i < cols; ++i) h = rotl(h ^ (static_cast<uint64_t>(row[i]) * kPrime5), 11) * kPrime1;
  h ^= h >> 33;
  h *= kPrime2;
  h ^= h >> 29;
  h *= kPrime3;
  h ^= h >> 32;
  return h;
}

}  // namespace latdisp
