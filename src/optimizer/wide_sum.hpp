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
  // (a sum of units of 2^(exponent - 1075): see add_exactly).
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

// Adds the exact sum of terms[0 .. count) to `target`, count <= kExactChunkTerms,
// with flat loops the compiler vectorises (docs/optimizer.md §5): each level
// splits every term at one power of two 2^q chosen from the largest term, adds
// the parts above it as integers (exact: 2^12 terms of at most 2^49 units of
// 2^q) and keeps the parts below for the next level; what is left after four
// levels is added term by term. NaN and Inf terms are ignored (as by add).
// `terms` is overwritten (the parts left).
constexpr int64_t kExactChunkTerms = 4096;
void add_exactly(double* terms, int64_t count, WideSum& target);

}  // namespace latdisp
