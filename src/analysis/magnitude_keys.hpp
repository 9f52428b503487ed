// A finite row magnitude m >= 0 as a 64-bit key: the bits of m (+0 for either
// zero), whose unsigned order is the order of the values, with the top (sign)
// bit flagging a dead token's row.
#pragma once

#include <cstdint>
#include <cstring>

namespace latdisp {

constexpr uint64_t kDeadKeyBit = uint64_t(1) << 63;

inline uint64_t magnitude_key(double m, bool dead) {
  uint64_t bits = 0;
  if (m != 0.0) std::memcpy(&bits, &m, sizeof bits);
  return bits | (dead ? kDeadKeyBit : 0);
}

inline bool key_is_dead(uint64_t key) { return (key & kDeadKeyBit) != 0; }

// The bits of the value alone: ordered like the values.
inline uint64_t key_value_bits(uint64_t key) { return key & ~kDeadKeyBit; }

inline double key_value(uint64_t key) {
  const uint64_t bits = key_value_bits(key);
  double m = 0;
  std::memcpy(&m, &bits, sizeof m);
  return m;
}

}  // namespace latdisp
