// numpy's percentile recipe and the distributed exact order statistics.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "analysis/magnitude_statistics.hpp"

namespace latdisp {

PercentileRecipe numpy_percentile_recipe(int64_t count, double percentile) {
  // numpy: quantile = q / 100; virtual index = (n - 1) * quantile.
  const double quantile = percentile / 100.0;
  const double index = static_cast<double>(count - 1) * quantile;
  const double below = std::floor(index);
  PercentileRecipe recipe;
  if (index >= static_cast<double>(count - 1)) {
    recipe.lower = recipe.upper = count - 1;
    recipe.gamma = index - below;
    return recipe;
  }
  recipe.lower = static_cast<int64_t>(below);
  recipe.upper = recipe.lower + 1;
  recipe.gamma = index - below;
  return recipe;
}

double numpy_lerp(double a, double b, double gamma) {
  const double difference = b - a;
  if (gamma >= 0.5) return b - difference * (1.0 - gamma);
  return a + difference * gamma;
}

namespace {

// Digits of the radix select, most significant first: a wide first digit
// (one histogram per population), then narrow ones so the all-reduced
// histograms of up to 36 (population, prefix) slots stay small.
constexpr int kDigitBits[] = {16, 8, 8, 8, 8, 8, 8};

// Calls visit(key, count) for every distinct value and every general value.
template <class Visit>
void for_each_weighted_key(const MagnitudeStore& store, Visit&& visit) {
  store.distinct().for_each(visit);
  store.general().for_each_chunk([&](const uint64_t* keys, int64_t count) {
    for (int64_t i = 0; i < count; ++i) visit(keys[i], int64_t(1));
  });
}

// The (population, prefix) pairs one pass refines, each with a histogram of
// its next digit, found from a key's prefix with one probe.
class PassSlots {
 public:
  struct Slot {
    MagnitudePopulation population;
    uint64_t prefix;
    bool operator==(const Slot& o) const { return population == o.population && prefix == o.prefix; }
  };

  explicit PassSlots(const std::vector<Slot>& wanted) {
    for (const Slot& slot : wanted)
      if (std::find(m_slots.begin(), m_slots.end(), slot) == m_slots.end()) m_slots.push_back(slot);
    size_t size = 64;
    while (size < 4 * m_slots.size()) size *= 2;
    m_table.resize(size);
    for (size_t s = 0; s < m_slots.size(); ++s) {
      Entry& entry = m_table[probe(m_slots[s].prefix)];
      entry.prefix = m_slots[s].prefix;
      entry.slot[m_slots[s].population] = static_cast<int>(s);
      m_lowest = std::min(m_lowest, m_slots[s].prefix);
      m_highest = std::max(m_highest, m_slots[s].prefix);
    }
  }

  size_t size() const { return m_slots.size(); }
  size_t index_of(const Slot& slot) const {
    return static_cast<size_t>(std::find(m_slots.begin(), m_slots.end(), slot) - m_slots.begin());
  }

  // The slots (per population, -1 for none) of keys with this prefix; null
  // when no slot has it (most keys after the first pass).
  const int* find(uint64_t prefix) const {
    if (prefix < m_lowest || prefix > m_highest) return nullptr;
    const Entry& entry = m_table[probe(prefix)];
    return entry.prefix == prefix ? entry.slot : nullptr;
  }

 private:
  struct Entry {
    uint64_t prefix = ~uint64_t(0);  // empty: no prefix of a finite value
    int slot[3] = {-1, -1, -1};      // per MagnitudePopulation
  };
  size_t probe(uint64_t prefix) const {
    const size_t mask = m_table.size() - 1;
    size_t h = static_cast<size_t>((prefix * 0x9E3779B97F4A7C15ull) >> 40) & mask;
    while (m_table[h].prefix != prefix && m_table[h].prefix != ~uint64_t(0)) h = (h + 1) & mask;
    return h;
  }
  std::vector<Slot> m_slots;
  std::vector<Entry> m_table;
  uint64_t m_lowest = ~uint64_t(0), m_highest = 0;
};

// This rank's histograms of the digit below `shift + digit_bits` bits, one
// per slot, over the keys whose higher bits are a slot's prefix.
std::vector<int64_t> digit_histograms(const MagnitudeStore& store, const PassSlots& slots, int shift, int digit_bits) {
  const size_t buckets = size_t(1) << digit_bits;
  const int prefix_shift = shift + digit_bits;
  std::vector<int64_t> histogram(slots.size() * buckets, 0);
  for_each_weighted_key(store, [&](uint64_t key, int64_t count) {
    const uint64_t bits = key_value_bits(key);
    const int* slot = slots.find(prefix_shift >= 64 ? 0 : bits >> prefix_shift);
    if (!slot) return;
    const size_t bucket = static_cast<size_t>((bits >> shift) & (buckets - 1));
    const int own = slot[result_population(pass_population(key_is_dead(key)))];
    if (slot[kAllTokens] >= 0) histogram[static_cast<size_t>(slot[kAllTokens]) * buckets + bucket] += count;
    if (own >= 0) histogram[static_cast<size_t>(own) * buckets + bucket] += count;
  });
  return histogram;
}

}  // namespace

std::vector<double> select_order_statistics(const MagnitudeStore& store, const std::vector<uint8_t>& dead,
                                            const std::vector<OrderStatistic>& wanted, MPI_Comm comm) {
  if (!store.has_token_layout()) return select_order_statistics(store.with_token_layout(dead), dead, wanted, comm);
  std::vector<PassSlots::Slot> state(wanted.size());  // the prefix (bits decided so far) of each wanted value
  std::vector<int64_t> remaining(wanted.size());      // its rank among the keys with that prefix
  for (size_t w = 0; w < wanted.size(); ++w) {
    state[w] = {wanted[w].population, 0};
    remaining[w] = wanted[w].rank;
  }
  int shift = 64;
  for (const int digit_bits : kDigitBits) {
    shift -= digit_bits;
    const PassSlots slots(state);
    std::vector<int64_t> histogram = digit_histograms(store, slots, shift, digit_bits);
    MPI_Allreduce(MPI_IN_PLACE, histogram.data(), static_cast<int>(histogram.size()), MPI_INT64_T, MPI_SUM, comm);
    const size_t buckets = size_t(1) << digit_bits;
    for (size_t w = 0; w < wanted.size(); ++w) {
      const int64_t* counts = &histogram[slots.index_of(state[w]) * buckets];
      size_t digit = 0;
      while (digit < buckets && remaining[w] >= counts[digit]) remaining[w] -= counts[digit++];
      if (digit == buckets) throw std::logic_error("select_order_statistics: rank beyond the population");
      state[w].prefix = (state[w].prefix << digit_bits) | digit;
    }
  }
  std::vector<double> values(wanted.size());
  for (size_t w = 0; w < wanted.size(); ++w) std::memcpy(&values[w], &state[w].prefix, sizeof(double));
  return values;
}

}  // namespace latdisp
