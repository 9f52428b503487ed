#include "optimizer/wide_sum.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace latdisp {

void WideSum::add(double value) {
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  const int biased = int((bits >> 52) & 0x7FF);
  uint64_t mantissa = bits & ((uint64_t(1) << 52) - 1);
  if (biased == 0x7FF || (biased == 0 && mantissa == 0)) return;
  if (biased != 0) mantissa |= uint64_t(1) << 52;
  const int position = (biased == 0 ? 1 : biased) - 1075 - kLowBit;  // weight of the mantissa's lowest bit
  const int digit = position / 32;
  const unsigned __int128 spread = static_cast<unsigned __int128>(mantissa) << (position % 32);
  const int64_t sign = (bits >> 63) ? -1 : 1;
  for (int k = 0; k < 3; ++k)
    m_digits[digit + k] += sign * static_cast<int64_t>(static_cast<uint64_t>(spread >> (32 * k)) & 0xFFFFFFFFu);
  if (++m_pending >= (int64_t(1) << 30)) normalize();
}

void WideSum::add_scaled(int64_t value, int exponent) {
  if (value == 0) return;
  const uint64_t magnitude = value < 0 ? uint64_t(0) - uint64_t(value) : uint64_t(value);
  const int position = exponent - 1075 - kLowBit;  // weight of the value's lowest bit
  const int digit = position / 32;
  const unsigned __int128 spread = static_cast<unsigned __int128>(magnitude) << (position % 32);
  const int64_t sign = value < 0 ? -1 : 1;
  for (int k = 0; k < 3; ++k)
    m_digits[digit + k] += sign * static_cast<int64_t>(static_cast<uint64_t>(spread >> (32 * k)) & 0xFFFFFFFFu);
  if (++m_pending >= (int64_t(1) << 30)) normalize();
}

void BinnedSum::flush() {
  if (m_target)
    for (int e = m_low; e <= m_high; ++e)
      if (m_bins[e] != 0) m_target->add_scaled(m_bins[e], e), m_bins[e] = 0;
  m_low = 2048, m_high = -1, m_terms = 0;
}

void WideSum::add(const WideSum& other) {
  for (int i = 0; i < kDigits; ++i) m_digits[i] += other.m_digits[i];
  normalize();
}

// Digits 0 .. kDigits-2 into [0, 2^32); the top digit keeps the sign.
void WideSum::normalize() {
  int64_t carry = 0;
  for (int i = 0; i < kDigits - 1; ++i) {
    const int64_t v = m_digits[i] + carry;
    m_digits[i] = v & 0xFFFFFFFF;
    carry = v >> 32;  // arithmetic: floor division
  }
  m_digits[kDigits - 1] += carry;
  m_pending = 0;
}

void WideSum::digits(int64_t* out) const {
  WideSum n = *this;
  n.normalize();
  std::copy(n.m_digits.begin(), n.m_digits.end(), out);
}

WideSum WideSum::from_digits(const int64_t* digits) {
  WideSum sum;
  std::copy(digits, digits + kDigits, sum.m_digits.begin());
  sum.normalize();
  return sum;
}

double WideSum::to_double() const {
  WideSum n = *this;
  n.normalize();
  const bool negative = n.m_digits[kDigits - 1] < 0;
  if (negative) {  // two's complement: the magnitude
    int64_t carry = 1;
    for (int i = 0; i < kDigits; ++i) {
      const int64_t v = (~n.m_digits[i] & 0xFFFFFFFF) + carry;
      n.m_digits[i] = v & 0xFFFFFFFF;
      carry = v >> 32;
    }
  }
  int top = kDigits - 1;
  while (top >= 0 && n.m_digits[top] == 0) --top;
  if (top < 0) return 0.0;
  unsigned __int128 head = 0;
  const int lowest = top - 2;
  for (int i = top; i >= lowest; --i) head = (head << 32) | static_cast<uint64_t>(i >= 0 ? n.m_digits[i] : 0);
  bool sticky = false;
  for (int i = lowest - 1; i >= 0; --i) sticky = sticky || n.m_digits[i] != 0;
  int bits = 0;
  for (unsigned __int128 h = head; h != 0; h >>= 1) ++bits;
  // Keep 53 bits, or fewer where the result is subnormal.
  const int scale = 32 * lowest + kLowBit;  // weight of head's bit 0
  int drop = bits - 53;
  if (scale + bits - 1 < -1022) drop = std::max(drop, -1074 - scale);
  if (drop <= 0) return (negative ? -1.0 : 1.0) * std::ldexp(static_cast<double>(static_cast<uint64_t>(head)), scale);
  uint64_t kept = static_cast<uint64_t>(head >> drop);
  const unsigned __int128 rest = head & ((static_cast<unsigned __int128>(1) << drop) - 1);
  const unsigned __int128 half = static_cast<unsigned __int128>(1) << (drop - 1);
  if (rest > half || (rest == half && (sticky || (kept & 1)))) ++kept;
  const double magnitude = std::ldexp(static_cast<double>(kept), drop + scale);
  return negative ? -magnitude : magnitude;
}

void reduce_to_root(std::vector<WideSum>& sums, MPI_Comm comm) {
  std::vector<int64_t> digits(sums.size() * WideSum::kDigits), total(digits.size());
  for (size_t i = 0; i < sums.size(); ++i) {
    sums[i].normalize();
    std::memcpy(&digits[i * WideSum::kDigits], sums[i].m_digits.data(), sizeof sums[i].m_digits);
  }
  MPI_Reduce(digits.data(), total.data(), static_cast<int>(digits.size()), MPI_INT64_T, MPI_SUM, 0, comm);
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  if (rank != 0) return;
  for (size_t i = 0; i < sums.size(); ++i) {
    std::memcpy(sums[i].m_digits.data(), &total[i * WideSum::kDigits], sizeof sums[i].m_digits);
    sums[i].m_pending = 0;
    sums[i].normalize();
  }
}

}  // namespace latdisp
