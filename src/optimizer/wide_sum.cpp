#include "optimizer/wide_sum.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

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

namespace {

uint64_t bits_of(double value) {
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

double double_of(uint64_t bits) {
  double value = 0;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// The largest biased exponent of the terms (0x7FF when one is NaN or Inf).
int largest_exponent(const double* terms, int64_t count) {
  uint64_t largest = 0;
  for (int64_t k = 0; k < count; ++k) {
    const uint64_t magnitude = bits_of(terms[k]) & ~(uint64_t(1) << 63);
    largest = magnitude > largest ? magnitude : largest;
  }
  return int(largest >> 52);
}

// One level: with sigma = 1.5 * 2^(q+52) and every |term| < 2^(q+49),
// term + sigma rounds to a multiple of 2^q (its significand's units), so
// high = (term + sigma) - sigma is the term rounded to a multiple of 2^q,
// both exact, and term - high is exact; the units of the high parts add up
// as integers. Returns whether any part is left.
bool add_level(double* terms, int64_t count, int q, WideSum& target) {
  const double sigma = 1.5 * double_of(uint64_t(q + 52 + 1023) << 52);
  const int64_t sigma_units = int64_t(bits_of(sigma));
  int64_t units = 0;
  uint64_t left = 0;
  for (int64_t k = 0; k < count; ++k) {
    const double shifted = terms[k] + sigma;
    const double low = terms[k] - (shifted - sigma);
    units += int64_t(bits_of(shifted)) - sigma_units;
    left |= bits_of(low) << 1;  // -0 is no part left
    terms[k] = low;
  }
  target.add_scaled(units, q + 1075);
  return left != 0;
}

}  // namespace

void add_exactly(double* terms, int64_t count, WideSum& target) {
  const int largest = largest_exponent(terms, count);
  // Terms near the top of the double range (or Inf, NaN): one by one.
  int top = largest == 0 ? -1022 : largest - 1022;  // every |term| < 2^top
  if (largest >= 0x7FF - 64 || count > kExactChunkTerms) {
    for (int64_t k = 0; k < count; ++k) target.add(terms[k]);
    return;
  }
  for (int level = 0; level < 4; ++level) {
    const int q = std::max(top - 49, -1074);
    if (!add_level(terms, count, q, target)) return;
    top = q;  // every part left is below 2^(q-1)
  }
  for (int64_t k = 0; k < count; ++k)
    if (terms[k] != 0) target.add(terms[k]);
}

void add_left_exactly(double* left, int64_t count, int q, WideSum& target) {
  for (int level = 2; level < 4; ++level) {
    q = std::max(q - 49, -1074);
    if (!add_level(left, count, q, target)) return;
  }
  for (int64_t k = 0; k < count; ++k)
    if (left[k] != 0) target.add(left[k]);
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

// Every rank's sums[0 .. count) added onto rank 0's (collective), where they
// lie: a normalized sum is kDigits int64 digits and a pending count of 0, so
// adding the sums' int64 words adds their digits (no copy of the digits, whose
// fresh pages would cost page faults). One rank has nothing to add.
void reduce_to_root(WideSum* sums, size_t count, MPI_Comm comm) {
  static_assert(std::is_standard_layout<WideSum>::value &&
                    sizeof(WideSum) == (WideSum::kDigits + 1) * sizeof(int64_t),
                "a sum is its digits and its pending count, int64 words");
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  for (size_t i = 0; i < count; ++i) sums[i].normalize();
  if (ranks == 1) return;
  const int words = static_cast<int>(count * (WideSum::kDigits + 1));
  MPI_Reduce(rank == 0 ? MPI_IN_PLACE : static_cast<void*>(sums), sums, words, MPI_INT64_T, MPI_SUM, 0, comm);
  if (rank == 0)
    for (size_t i = 0; i < count; ++i) sums[i].normalize();
}

}  // namespace latdisp
