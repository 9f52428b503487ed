// An exact sum of signed doubles over the whole double range (subnormals
// included): a fixed-point integer of 32-bit digits, so the sum is the same
// for any order of additions and any rank count, and to_double() is the
// exact sum correctly rounded (docs/optimizer.md §4).
#pragma once

#include <mpi.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

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
  friend void reduce_to_root(WideSum* sums, size_t count, MPI_Comm comm);

 private:
  void normalize();
  std::array<int64_t, kDigits> m_digits{};
  int64_t m_pending = 0;
};

void reduce_to_root(WideSum* sums, size_t count, MPI_Comm comm);

// Adds the exact sum of terms[0 .. count) to `target`, count <= kExactChunkTerms,
// with flat loops the compiler vectorises (docs/optimizer.md §5): each level
// splits every term at one power of two 2^q chosen from the largest term, adds
// the parts above it as integers (exact: 2^12 terms of at most 2^49 units of
// 2^q) and keeps the parts below for the next level; what is left after four
// levels is added term by term. NaN and Inf terms are ignored (as by add).
// `terms` is overwritten (the parts left).
constexpr int64_t kExactChunkTerms = 4096;
void add_exactly(double* terms, int64_t count, WideSum& target);

// add_exactly's levels from the third on, for the parts `left` that two
// levels at q (the second level's 2^q) leave: every |left[k]| <= 2^(q-1).
void add_left_exactly(double* left, int64_t count, int q, WideSum& target);

// Adds the exact sum of term(0) .. term(count - 1) to `target`, where every
// |term(k)| < 2^top, top <= kMostTermTop, count <= kExactChunkTerms: the
// first two of add_exactly's levels in one flat pass that makes each term
// (no array of terms written and read back, no pass for the largest), then
// the further levels on the parts left. The parts left are rarely any (only
// terms some 46 binades below the largest leave one), so the pass keeps none:
// where some are left, a second pass makes them again (the same operations
// on the same terms) into `scratch` (count doubles). A looser bound costs at
// most more levels: the sum is the same exact sum.
constexpr int kMostTermTop = 960;  // add_exactly's terms "near the top of the double range" are above it
template <class Term>
void add_terms_exactly(const Term& term, int64_t count, int top, double* scratch, WideSum& target) {
  const int q1 = std::max(top - 49, -1074), q2 = std::max(q1 - 49, -1074);
  const auto power = [](int q) {  // 1.5 * 2^(q+52): add_exactly's sigma of a level at 2^q
    const uint64_t bits = uint64_t(q + 52 + 1023) << 52;
    double value;
    std::memcpy(&value, &bits, sizeof value);
    return 1.5 * value;
  };
  const auto bits_of = [](double value) {
    uint64_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    return bits;
  };
  const double sigma1 = power(q1), sigma2 = power(q2);
  const int64_t sigma1_units = int64_t(bits_of(sigma1)), sigma2_units = int64_t(bits_of(sigma2));
  // Term k's part left below the second level (the units of both levels through `units`).
  const auto split = [&](int64_t k, int64_t& units1, int64_t& units2) {
    const double t = term(k);
    const double shifted1 = t + sigma1;
    const double low1 = t - (shifted1 - sigma1);
    const double shifted2 = low1 + sigma2;
    units1 += int64_t(bits_of(shifted1)) - sigma1_units;
    units2 += int64_t(bits_of(shifted2)) - sigma2_units;
    return low1 - (shifted2 - sigma2);
  };
  int64_t units1 = 0, units2 = 0;
  uint64_t left = 0;
  for (int64_t k = 0; k < count; ++k) left |= bits_of(split(k, units1, units2)) << 1;  // -0 is no part left
  target.add_scaled(units1, q1 + 1075);
  target.add_scaled(units2, q2 + 1075);
  if (left == 0) return;
  int64_t again1 = 0, again2 = 0;  // already added
  for (int64_t k = 0; k < count; ++k) scratch[k] = split(k, again1, again2);
  add_left_exactly(scratch, count, q2, target);
}

}  // namespace latdisp
