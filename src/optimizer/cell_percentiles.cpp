#include "optimizer/cell_percentiles.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "analysis/magnitude_keys.hpp"
#include "analysis/magnitude_statistics.hpp"
#include "optimizer/uninitialized_buffer.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

constexpr int kDigitBits = 16;
constexpr int64_t kDigitValues = int64_t(1) << kDigitBits;

// One wanted order statistic: population (0 all, 1 live, 2 dead), its
// 0-based rank, and the prefix of its value's bits found so far.
struct Wanted {
  int population;
  int64_t rank;
  uint64_t prefix = 0;
};

bool in_population(int population, uint64_t key) {
  return population == 0 || (population == 2) == key_is_dead(key);
}

static_assert(TopDigitCounts::kBits == kDigitBits, "the counts made at push time are the select's first digit");


// The keys of a pass with the wanted statistics' top digits, visited chunk
// by chunk (one pass per call).
struct PassedKeys {
  const KeyPass& pass;
  std::vector<uint8_t> top_digits;
  template <class Visit>
  void for_each_chunk(const Visit& visit) const {
    pass(top_digits, visit);
  }
};

// Keys held in memory, visited as one chunk (huge pages where they are many).
struct KeyVector {
  UninitializedBuffer<uint64_t> keys;
  template <class Visit>
  void for_each_chunk(const Visit& visit) const {
    visit(keys.data(), int64_t(keys.size()));
  }
};

// The keys whose top digit some wanted statistic has (every other key is
// below or above all of them), if on every rank they number at most
// `limit`: one pass over the rank's keys instead of one per further digit.
std::optional<KeyVector> candidate_keys(const PassedKeys& keys, const TopDigitCounts& top,
                                        const std::vector<Wanted>& wanted, int64_t limit, MPI_Comm comm) {
  std::vector<uint8_t> is_wanted(size_t(kDigitValues), 0);
  for (const Wanted& w : wanted) is_wanted[size_t(w.prefix)] = 1;
  int64_t count = 0;
  for (int64_t d = 0; d < kDigitValues; ++d)
    if (is_wanted[size_t(d)]) count += top.count_of(size_t(d)) + top.count_of(size_t(kDigitValues + d));
  int64_t most = count;
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &most, 1, MPI_INT64_T, MPI_MAX, comm), "MPI_Allreduce");
  if (most > limit) return std::nullopt;
  KeyVector candidates;
  candidates.keys.reserve(size_t(count));
  keys.for_each_chunk([&](const uint64_t* chunk, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
      if (is_wanted[size_t(key_value_bits(chunk[i]) >> (64 - kDigitBits))]) candidates.keys.push_back(chunk[i]);
  });
  return candidates;
}

// Keeps the candidates whose value's bits above `shift` are some wanted
// statistic's prefix (select_digit has just found the digit at `shift`): the
// next digit's histograms count no other key, so its pass and the next
// ones visit only these.
void keep_refinable(KeyVector& candidates, const std::vector<Wanted>& wanted, int shift) {
  std::vector<uint64_t> prefixes;
  for (const Wanted& w : wanted) prefixes.push_back(w.prefix);
  std::sort(prefixes.begin(), prefixes.end());
  prefixes.erase(std::unique(prefixes.begin(), prefixes.end()), prefixes.end());
  size_t kept = 0;
  for (const uint64_t key : candidates.keys)
    if (std::binary_search(prefixes.begin(), prefixes.end(), key_value_bits(key) >> shift))
      candidates.keys[kept++] = key;
  candidates.keys.resize(kept);
}

// The top digit of every wanted statistic from the top-digit histograms.
void select_top_digit(const std::vector<int64_t>& histograms, std::vector<Wanted>& wanted) {
  for (Wanted& w : wanted) {
    int64_t digit = 0;
    const auto count = [&](int64_t d) {
      const int64_t live = histograms[size_t(d)], dead = histograms[size_t(kDigitValues + d)];
      return w.population == 0 ? live + dead : w.population == 1 ? live : dead;
    };
    while (w.rank >= count(digit)) w.rank -= count(digit++);
    w.prefix = uint64_t(digit);
  }
}

// Every rank's `slots` histograms of kDigitValues counts summed, over only
// the digits some rank counted: a slot's keys usually share all but a few of
// its digit values, and a whole histogram per slot and digit would make the
// reduction megabytes even for a tiny input. Each slot's counted digits are
// summed where they lie (no packed copy, whose fresh pages would cost page
// faults); one rank has nothing to add.
template <class Histograms>
void sum_histograms(Histograms& histograms, size_t slots, MPI_Comm comm) {
  int ranks = 1;
  MPI_Comm_size(comm, &ranks);
  if (ranks == 1) return;
  std::vector<int64_t> bounds(2 * slots);  // -(first counted digit), last counted digit; max over ranks
  for (size_t s = 0; s < slots; ++s) {
    const int64_t* h = histograms.data() + s * kDigitValues;
    int64_t first = kDigitValues, last = -1;
    for (int64_t d = 0; d < kDigitValues; ++d)
      if (h[d] != 0) first = std::min(first, d), last = d;
    bounds[2 * s] = -first, bounds[2 * s + 1] = last;
  }
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, bounds.data(), int(bounds.size()), MPI_INT64_T, MPI_MAX, comm),
            "MPI_Allreduce");
  // Slot s's counted digits [first, end): nothing to sum where no rank counted any.
  for (size_t s = 0; s < slots; ++s) {
    const int64_t first = -bounds[2 * s], end = bounds[2 * s + 1] + 1;
    if (end <= first) continue;
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, histograms.data() + s * kDigitValues + first, int(end - first),
                            MPI_INT64_T, MPI_SUM, comm),
              "MPI_Allreduce");
  }
}

// Every rank's top-digit counts summed (live, dead: two histograms).
std::vector<int64_t> top_digit_histograms(const TopDigitCounts& top, MPI_Comm comm) {
  std::vector<int64_t> histograms = top.counts();
  sum_histograms(histograms, 2, comm);
  return histograms;
}

// Refines every wanted statistic by the digit at `shift`: one histogram per
// distinct (population, prefix) slot, so statistics that share a prefix
// share a pass over the keys. A key whose top digit no slot shares is
// passed over after one table lookup. `histograms` is scratch space kept
// from one digit to the next (its pages touched once, not once a digit).
template <class Keys>
void select_digit(const Keys& keys, std::vector<Wanted>& wanted, int shift, HugePageVector<int64_t>& histograms,
                  MPI_Comm comm) {
  std::vector<std::pair<int, uint64_t>> slots;
  std::vector<size_t> slot_of(wanted.size());
  for (size_t w = 0; w < wanted.size(); ++w) {
    const std::pair<int, uint64_t> slot{wanted[w].population, wanted[w].prefix};
    const auto found = std::find(slots.begin(), slots.end(), slot);
    slot_of[w] = size_t(found - slots.begin());
    if (found == slots.end()) slots.push_back(slot);
  }
  const int high = shift + kDigitBits;
  // The slots by the top digit of their prefix (slots_by_top[first[d] .. first[d + 1])):
  // a key looks at the one or few slots that share its top digit, not at every slot.
  std::vector<uint32_t> first(size_t(kDigitValues) + 1, 0), slots_by_top(slots.size());
  const auto top_of = [&](size_t s) { return size_t(slots[s].second >> (64 - high - kDigitBits)); };
  for (size_t s = 0; s < slots.size(); ++s) ++first[top_of(s) + 1];
  for (size_t d = 0; d < size_t(kDigitValues); ++d) first[d + 1] += first[d];
  std::vector<uint32_t> next(first.begin(), first.end() - 1);
  for (size_t s = 0; s < slots.size(); ++s) slots_by_top[next[top_of(s)]++] = uint32_t(s);
  histograms.assign(slots.size() * kDigitValues, 0);
  keys.for_each_chunk([&](const uint64_t* chunk, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      const uint64_t value = key_value_bits(chunk[i]);
      const size_t top = size_t(value >> (64 - kDigitBits));
      const uint64_t above = value >> high;
      const uint64_t digit = (value >> shift) & uint64_t(kDigitValues - 1);
      for (uint32_t j = first[top]; j < first[top + 1]; ++j) {
        const size_t s = slots_by_top[j];
        if (above == slots[s].second && in_population(slots[s].first, chunk[i])) ++histograms[s * kDigitValues + digit];
      }
    }
  });
  sum_histograms(histograms, slots.size(), comm);
  for (size_t w = 0; w < wanted.size(); ++w) {
    int64_t digit = 0;
    const int64_t* h = histograms.data() + slot_of[w] * kDigitValues;
    while (digit < kDigitValues && wanted[w].rank >= h[digit]) wanted[w].rank -= h[digit++];
    // The counts of every pass add up to the ranks by construction; a
    // mismatch is a defect, stopped here rather than read past the histogram.
    if (digit == kDigitValues) throw std::logic_error("exact percentiles: a rank beyond the keys counted");
    wanted[w].prefix = (wanted[w].prefix << kDigitBits) | uint64_t(digit);
  }
}

}  // namespace

void TopDigitCounts::count_bins(const uint32_t* bins, int64_t n) {
  static_assert(kLanes == 4, "four lanes, one count each in turn");
  int64_t *lane0 = m_lanes.data(), *lane1 = lane0 + kStride, *lane2 = lane1 + kStride, *lane3 = lane2 + kStride;
  int64_t k = 0;
  for (; k + 4 <= n; k += 4) {
    ++lane0[bins[k]];
    ++lane1[bins[k + 1]];
    ++lane2[bins[k + 2]];
    ++lane3[bins[k + 3]];
  }
  for (; k < n; ++k) ++lane0[bins[k]];
}

std::vector<int64_t> TopDigitCounts::counts() const {
  std::vector<int64_t> counts(m_lanes.begin(), m_lanes.begin() + kBins);
  for (size_t lane = 1; lane < size_t(kLanes); ++lane)
    for (size_t bin = 0; bin < kBins; ++bin) counts[bin] += m_lanes[lane * kStride + bin];
  return counts;
}

int64_t TopDigitCounts::count_of(size_t bin) const {
  int64_t count = 0;
  for (size_t lane = 0; lane < size_t(kLanes); ++lane) count += m_lanes[lane * kStride + bin];
  return count;
}

std::vector<int64_t> TopDigitCounts::counted_bins() const {
  const std::vector<int64_t> counted = counts();
  std::vector<int64_t> pairs;
  for (size_t bin = 0; bin < counted.size(); ++bin)
    if (counted[bin] != 0) pairs.insert(pairs.end(), {int64_t(bin), counted[bin]});
  return pairs;
}

bool TopDigitCounts::restore(const std::vector<int64_t>& pairs) {
  if (pairs.size() % 2 != 0) return false;
  HugePageVector<int64_t> lanes(m_lanes.size(), 0);
  for (size_t i = 0; i < pairs.size(); i += 2) {
    if (pairs[i] < 0 || pairs[i] >= int64_t(kBins) || pairs[i + 1] <= 0 || lanes[size_t(pairs[i])] != 0)
      return false;
    lanes[size_t(pairs[i])] = pairs[i + 1];
  }
  m_lanes = std::move(lanes);
  return true;
}

std::array<std::array<std::optional<double>, 4>, 3> cell_percentiles(const KeyPass& pass,
                                                                     const TopDigitCounts& top, int64_t memory_keys,
                                                                     MPI_Comm comm) {
  PassedKeys keys{pass, std::vector<uint8_t>(size_t(kDigitValues), 0)};
  const std::vector<int64_t> histograms = top_digit_histograms(top, comm);
  std::array<int64_t, 3> counts{0, 0, 0};
  for (int64_t d = 0; d < kDigitValues; ++d)
    counts[1] += histograms[size_t(d)], counts[2] += histograms[size_t(kDigitValues + d)];
  counts[0] = counts[1] + counts[2];
  std::vector<Wanted> wanted;
  std::vector<PercentileRecipe> recipes;
  for (int p = 0; p < 3; ++p)
    for (double q : kCellPercentiles) {
      if (counts[p] == 0) continue;
      recipes.push_back(numpy_percentile_recipe(counts[p], q));
      wanted.push_back({p, recipes.back().lower});
      wanted.push_back({p, recipes.back().upper});
    }
  std::array<std::array<std::optional<double>, 4>, 3> result{};
  if (wanted.empty()) return result;  // no key on any rank: no pass
  select_top_digit(histograms, wanted);
  for (const Wanted& w : wanted) keys.top_digits[size_t(w.prefix)] = 1;
  std::optional<KeyVector> candidates = candidate_keys(keys, top, wanted, memory_keys, comm);
  HugePageVector<int64_t> scratch;
  for (int shift = 64 - 2 * kDigitBits; shift >= 0; shift -= kDigitBits) {
    if (!candidates) {
      select_digit(keys, wanted, shift, scratch, comm);
      continue;
    }
    select_digit(*candidates, wanted, shift, scratch, comm);
    if (shift > 0) keep_refinable(*candidates, wanted, shift);
  }
  size_t next = 0;
  for (int p = 0; p < 3; ++p)
    for (int q = 0; q < 4; ++q) {
      if (counts[p] == 0) continue;
      const double lower = key_value(wanted[2 * next].prefix), upper = key_value(wanted[2 * next + 1].prefix);
      result[p][q] = numpy_lerp(lower, upper, recipes[next].gamma);
      ++next;
    }
  return result;
}

}  // namespace latdisp
