#include "optimizer/captured_keys.hpp"

#include <algorithm>

namespace latdisp {

namespace {
constexpr int64_t kDigits = int64_t(1) << TopDigitCounts::kBits;
}

CapturedKeys::CapturedKeys(int64_t limit, int64_t transitions)
    : m_limit(limit),
      m_never(transitions + 1),
      m_held_from(size_t(kDigits), transitions + 1),
      m_held_bin(TopDigitCounts::kBins + 1, 0) {}

void CapturedKeys::widen(const TopDigitCounts& top, int64_t t) {
  if (m_given_up || t >= m_never) return;
  const std::vector<uint8_t> near = order_statistic_digits(top.counts());
  for (int64_t d = 0; d < kDigits; ++d) {
    if (!near[size_t(d)]) continue;
    for (int64_t e = std::max<int64_t>(0, d - kMargin); e <= std::min(kDigits - 1, d + kMargin); ++e) {
      if (m_held_from[size_t(e)] != m_never) continue;
      m_held_from[size_t(e)] = t;
      m_held_bin[size_t(e)] = m_held_bin[size_t(kDigits + e)] = 1;  // live and dead keys alike
    }
  }
}

// Every key is written at the end, and the end moves past it only where its
// bin is held: no branch on the keys.
void CapturedKeys::add(const uint64_t* keys, const uint32_t* bins, int64_t count) {
  if (m_given_up || count == 0) return;
  size_t held = m_keys.size();
  if (int64_t(held) + count > m_limit) return give_up();
  if (m_keys.capacity() == 0) m_keys.reserve(size_t(m_limit));  // virtual until written: no copy as it grows
  m_keys.resize(held + size_t(count));
  uint64_t* out = m_keys.data();
  const uint8_t* held_bin = m_held_bin.data();
  for (int64_t k = 0; k < count; ++k) {
    out[held] = keys[k];
    held += held_bin[bins[k]];
  }
  m_keys.resize(held);
}

void CapturedKeys::give_up() {
  m_given_up = true;
  std::fill(m_held_from.begin(), m_held_from.end(), m_never);
  std::fill(m_held_bin.begin(), m_held_bin.end(), uint8_t(0));
  UninitializedBuffer<uint64_t>().swap(m_keys);
}

}  // namespace latdisp
