#include "parallel/exact_sum.hpp"

#include <cmath>
#include <cstring>
#include <stdexcept>

namespace latdisp {

namespace {

// value = mantissa * 2^(position + ExactSum::kLowBit) with a 53-bit mantissa;
// false for a value outside the accumulator's range (negative, subnormal, too
// large, not finite). From the bits, not frexp/ldexp: this runs once per row.
bool split_value(double value, uint64_t& mantissa, int& position) {
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  const int biased = static_cast<int>(bits >> 52);  // the sign bit makes negatives >= 2048
  mantissa = (bits & ((uint64_t(1) << 52) - 1)) | (uint64_t(1) << 52);
  position = biased - 1075 - ExactSum::kLowBit;  // weight of the mantissa's lowest bit
  return biased != 0 && biased < 2047 && position >= 0 && position + 53 <= 32 * ExactSum::kDigits - 64;
}

}  // namespace

void ExactSum::add(double value) { add(value, 1); }

void ExactSum::add(double value, uint32_t times) {
  if (value == 0.0 || times == 0) return;
  uint64_t mantissa = 0;
  int position = 0;
  if (!split_value(value, mantissa, position))
    throw std::range_error("ExactSum: value outside the accumulator's range");
  add_scaled(mantissa, times, position);
}

void ExactSum::add_scaled(uint64_t mantissa, uint64_t times, int position) {
  // Up to 53 + 32 + 31 bits: four 32-bit digits, each added value < 2^32;
  // the range check keeps digit + 3 below kDigits.
  const int digit = position / 32;
  const unsigned shift = static_cast<unsigned>(position % 32);
  const unsigned __int128 spread = (static_cast<unsigned __int128>(mantissa) * times) << shift;
  m_digits[digit] += static_cast<int64_t>(static_cast<uint64_t>(spread) & 0xFFFFFFFFu);
  m_digits[digit + 1] += static_cast<int64_t>(static_cast<uint64_t>(spread >> 32) & 0xFFFFFFFFu);
  m_digits[digit + 2] += static_cast<int64_t>(static_cast<uint64_t>(spread >> 64) & 0xFFFFFFFFu);
  m_digits[digit + 3] += static_cast<int64_t>(static_cast<uint64_t>(spread >> 96));
  if (++m_pending >= (int64_t(1) << 30)) normalize();
}

void ExactSum::add(const ExactSum& other) {
  for (int i = 0; i < kDigits; ++i) m_digits[i] += other.m_digits[i];
  m_pending += other.m_pending + 1;
  normalize();
}

void ExactSum::get_state(int64_t* words) const {
  std::memcpy(words, m_digits.data(), sizeof m_digits);
  words[kDigits] = m_pending;
}

void ExactSum::set_state(const int64_t* words) {
  std::memcpy(m_digits.data(), words, sizeof m_digits);
  m_pending = words[kDigits];
}

void ExactSum::normalize() {
  int64_t carry = 0;
  for (int i = 0; i < kDigits; ++i) {
    const int64_t v = m_digits[i] + carry;
    m_digits[i] = v & 0xFFFFFFFF;
    carry = v >> 32;
  }
  if (carry != 0) throw std::range_error("ExactSum: overflow");
  m_pending = 0;
}

bool ExactSum::is_zero() const {
  for (int64_t d : m_digits)
    if (d != 0) return false;
  return true;
}

double ExactSum::to_double() const {
  ExactSum n = *this;
  n.normalize();
  int top = kDigits - 1;
  while (top >= 0 && n.m_digits[top] == 0) --top;
  if (top < 0) return 0.0;
  // The top three digits (up to 96 bits) and a sticky bit for the rest.
  unsigned __int128 head = 0;
  int lowest = top - 2;
  for (int i = top; i >= lowest; --i) head = (head << 32) | static_cast<uint64_t>(i >= 0 ? n.m_digits[i] : 0);
  bool sticky = false;
  for (int i = lowest - 1; i >= 0; --i) sticky = sticky || n.m_digits[i] != 0;
  int bits = 0;
  for (unsigned __int128 h = head; h != 0; h >>= 1) ++bits;
  const int drop = bits - 53;  // >= 11 since the top digit is non-zero
  uint64_t kept = static_cast<uint64_t>(head >> drop);
  const unsigned __int128 rest = head & ((static_cast<unsigned __int128>(1) << drop) - 1);
  const unsigned __int128 half = static_cast<unsigned __int128>(1) << (drop - 1);
  if (rest > half || (rest == half && (sticky || (kept & 1)))) ++kept;
  return std::ldexp(static_cast<double>(kept), drop + 32 * lowest + kLowBit);
}

void ExactSum::reduce_to_root(std::vector<ExactSum>& sums, MPI_Comm comm) {
  std::vector<int64_t> digits(sums.size() * kDigits), total(sums.size() * kDigits);
  for (size_t i = 0; i < sums.size(); ++i) {
    sums[i].normalize();
    for (int d = 0; d < kDigits; ++d) digits[i * kDigits + d] = sums[i].m_digits[d];
  }
  MPI_Reduce(digits.data(), total.data(), static_cast<int>(digits.size()), MPI_INT64_T, MPI_SUM, 0, comm);
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  if (rank != 0) return;
  for (size_t i = 0; i < sums.size(); ++i) {
    for (int d = 0; d < kDigits; ++d) sums[i].m_digits[d] = total[i * kDigits + d];
    sums[i].normalize();
  }
}

}  // namespace latdisp
