// An exact sum of signed doubles over the whole double range (subnormals
// included): a fixed-point integer of 32-bit digits, so the sum is the same
// for any order of additions and any rank count, and to_double() is the
// exact sum correctly rounded (docs/optimizer.md §4).
#pragma once

#include <mpi.h>

#include <array>
#include <cstdint>
#include <vector>

namespace latdisp {

class WideSum {
 public:
  static constexpr int kDigits = 70;     // 32-bit digits; the top one carries the sign
  static constexpr int kLowBit = -1120;  // weight of bit 0 of digit 0 (2^-1074 is the smallest double)

  void add(double value);  // NaN and Inf are ignored (counted elsewhere)
  // Adds value * 2^(exponent - 1075), |value| < 2^62, exponent in 1 .. 2046
  // (a double's biased exponent and a sum of its significands).
  void add_scaled(int64_t value, int exponent);
  void add(const WideSum& other);
  double to_double() const;  // correctly rounded, to nearest even

  // The sum as kDigits integers and back (checkpoints): the same sum.
  void digits(int64_t* out) const;
  static WideSum from_digits(const int64_t* digits);

  // Sum-reduces element-wise onto rank 0.
  friend void reduce_to_root(std::vector<WideSum>& sums, MPI_Comm comm);

 private:
  void normalize();
  std::array<int64_t, kDigits> m_digits{};
  int64_t m_pending = 0;
};

void reduce_to_root(std::vector<WideSum>& sums, MPI_Comm comm);

// The same exact sum, cheaper per term: each double's signed significand is
// added to an integer bin of its exponent (no carries, no shifts), and the
// bins go into a WideSum at flush(). Up to 512 terms between flushes keep
// every bin below 2^62; add() flushes the bins into `m_target` itself then.
class BinnedSum {
 public:
  void start(WideSum* target) {
    flush();
    m_target = target;
  }
  void add(double value) {
    uint64_t bits = 0;
    __builtin_memcpy(&bits, &value, sizeof bits);
    int biased = int((bits >> 52) & 0x7FF);
    int64_t significand = int64_t(bits & ((uint64_t(1) << 52) - 1));
    if (biased == 0x7FF) return;  // NaN and Inf are ignored
    if (biased != 0) significand |= int64_t(1) << 52;
    else biased = 1;  // subnormal: the exponent of the smallest normal, no implicit bit
    m_bins[biased] += (bits >> 63) ? -significand : significand;
    m_low = biased < m_low ? biased : m_low;
    m_high = biased > m_high ? biased : m_high;
    if (++m_terms == kTermsPerFlush) flush();
  }
  // Adds every bin to the target WideSum and clears them.
  void flush();

 private:
  static constexpr int kTermsPerFlush = 512;
  WideSum* m_target = nullptr;
  std::array<int64_t, 2048> m_bins{};
  int m_low = 2048, m_high = -1, m_terms = 0;
};

}  // namespace latdisp
