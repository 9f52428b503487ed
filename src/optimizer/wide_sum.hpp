// An exact sum of signed doubles over a wide range, built from ExactSum
// (non-negative values in [2^-267, 2^288)): positive and negative parts
// apart, each on three scales 2^-300, 1, 2^300, so that terms in
// [2^-567, 2^588) add exactly, independent of order and rank count
// (docs/optimizer.md §4). Smaller terms count as zero.
#pragma once

#include <cmath>
#include <vector>

#include "parallel/exact_sum.hpp"

namespace latdisp {

class WideSum {
 public:
  static constexpr int kParts = 6;

  void add(double value) {
    if (value == 0 || !(value - value == 0)) return;
    const double magnitude = std::fabs(value);
    const int sign = value < 0 ? 3 : 0;
    if (magnitude >= 0x1p288) m_parts[sign + 2].add(std::ldexp(magnitude, -300));
    else if (magnitude >= 0x1p-267) m_parts[sign + 1].add(magnitude);
    else if (magnitude >= 0x1p-567) m_parts[sign].add(std::ldexp(magnitude, 300));
  }
  void add(const WideSum& other) {
    for (int i = 0; i < kParts; ++i) m_parts[i].add(other.m_parts[i]);
  }
  // The positive part minus the negative part, each rounded to double.
  double to_double() const { return side(0) - side(3); }

  ExactSum& part(int i) { return m_parts[i]; }

 private:
  double side(int first) const {
    return std::ldexp(m_parts[first + 2].to_double(), 300) + m_parts[first + 1].to_double() +
           std::ldexp(m_parts[first].to_double(), -300);
  }
  ExactSum m_parts[kParts];
};

// Sum-reduces every WideSum element-wise onto rank 0.
inline void reduce_to_root(std::vector<WideSum>& sums, MPI_Comm comm) {
  std::vector<ExactSum> flat;
  flat.reserve(sums.size() * WideSum::kParts);
  for (WideSum& s : sums)
    for (int i = 0; i < WideSum::kParts; ++i) flat.push_back(s.part(i));
  ExactSum::reduce_to_root(flat, comm);
  for (size_t k = 0; k < sums.size(); ++k)
    for (int i = 0; i < WideSum::kParts; ++i) sums[k].part(i) = flat[k * WideSum::kParts + i];
}

}  // namespace latdisp
