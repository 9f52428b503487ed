#include "analysis/near_zero_result.hpp"

#include <cmath>
#include <cstring>

#include "kokkos_kernels/bf16_lattice.hpp"

namespace latdisp {

NearZeroPopulation::NearZeroPopulation(int64_t transitions) {
  for (AbsSum& sum : sums) sum.reset();
  for (auto& s : series) s.assign(static_cast<size_t>(transitions), 0);
}

void NearZeroPopulation::merge(const NearZeroPopulation& other) {
  for (int b = 0; b < kStartBins; ++b)
    for (int f = 0; f < kBinFields; ++f) bins[b][f] += other.bins[b][f];
  for (size_t i = 0; i < maxima.size(); ++i) maxima[i] = std::max(maxima[i], other.maxima[i]);
  for (int k = 0; k < kZeroKinds; ++k) {
    kind_count[k] += other.kind_count[k];
    kind_above_1024[k] += other.kind_above_1024[k];
    for (size_t t = 0; t < series[k].size(); ++t) series[k][t] += other.series[k][t];
  }
  for (int g = 0; g < 2; ++g) sums[g].merge(other.sums[g]);
}

int64_t finite_in_bin(const NearZeroPopulation& p, int bin) {
  return p.bins[bin][kBinExact] + p.bins[bin][kBinAlmost] + p.bins[bin][kBinHalf] + p.bins[bin][kBinNonInteger];
}

std::optional<int> typical_binade(const NearZeroPopulation& p) {
  int64_t values = 0;  // finite starting values: every bin but the non-finite one
  for (int b = 0; b < kStartBins; ++b)
    if (b != kNonfiniteBin) values += finite_in_bin(p, b) + p.bins[b][kBinNonfinite];
  if (values == 0) return std::nullopt;
  const int64_t median_rank = (values - 1) / 2;  // 0-based, in ascending |b|
  int64_t below = p.bins[kZeroBin][kBinNonfinite] + finite_in_bin(p, kZeroBin);
  if (median_rank < below) return std::nullopt;
  for (int b = bin_of_binade(kBinadeLow); b < kStartBins; ++b) {
    below += finite_in_bin(p, b) + p.bins[b][kBinNonfinite];
    if (median_rank < below) return binade_of_bin(b);
  }
  return std::nullopt;
}

std::optional<double> slot_max(const NearZeroPopulation& p, int slot, int64_t count) {
  if (count == 0) return std::nullopt;
  double value;
  std::memcpy(&value, &p.maxima[static_cast<size_t>(slot)], sizeof value);
  return value;
}

AbsXStats abs_x_stats(const NearZeroPopulation& p, AbsXSet set) {
  AbsXStats s;
  AbsSum sum;
  sum.reset();
  uint64_t max_bits = 0;
  for (int k = 0; k < kZeroKinds; ++k) {
    const bool crossing = k != kKeepsSign;
    if ((set == kKeepingSign && crossing) || (set == kCrossingZero && !crossing)) continue;
    s.count += p.kind_count[k];
    s.above_1024 += p.kind_above_1024[k];
    if (p.kind_count[k] > 0) max_bits = std::max(max_bits, p.maxima[static_cast<size_t>(kStartBins + k)]);
  }
  if (set != kCrossingZero) sum.merge(p.sums[0]);
  if (set != kKeepingSign) sum.merge(p.sums[1]);
  if (s.count == 0) return s;
  double max;
  std::memcpy(&max, &max_bits, sizeof max);
  s.max = max;
  s.mean = to_double(sum) / static_cast<double>(s.count);
  return s;
}

namespace {

// Bits [low, low + 64) of the sum (bits outside it read as 0).
uint64_t bits_from(const AbsSum& sum, int low) {
  uint64_t out = 0;
  for (int i = 0; i < 64; ++i) {
    const int bit = low + i;
    if (bit < 0 || bit >= 64 * AbsSum::kWords) continue;
    out |= ((sum.words[bit >> 6] >> (bit & 63)) & 1u) << i;
  }
  return out;
}

}  // namespace

double to_double(const AbsSum& sum) {
  int top = -1;
  for (int bit = 64 * AbsSum::kWords - 1; bit >= 0 && top < 0; --bit)
    if ((sum.words[bit >> 6] >> (bit & 63)) & 1u) top = bit;
  if (top < 0) return 0.0;
  const int low = top - 63;  // the 64 bits below and at the top bit; the rest is sticky
  const uint64_t window = bits_from(sum, low);
  bool sticky = false;
  for (int bit = 0; bit < low && !sticky; ++bit) sticky = (sum.words[bit >> 6] >> (bit & 63)) & 1u;
  uint64_t mantissa = window >> 11;  // 53 bits
  const uint64_t rest = window & 0x7FF;
  const bool above_half = rest > 0x400 || (rest == 0x400 && sticky);
  if (above_half || (rest == 0x400 && !sticky && (mantissa & 1u))) ++mantissa;
  return std::ldexp(static_cast<double>(mantissa), low + 11 + AbsSum::kLowBit);
}

}  // namespace latdisp
