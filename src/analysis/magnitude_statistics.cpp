#include "analysis/magnitude_statistics.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "parallel/exact_sum.hpp"

namespace latdisp {

namespace {

constexpr int kHistogramLow = -1100;  // floor(log2) of any positive double is >= -1075
constexpr int kHistogramBins = 2200;

uint64_t bits_of(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
}

double double_of(uint64_t bits) {
  double v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

}  // namespace

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

std::vector<double> select_order_statistics(const MagnitudeStore& store, const std::vector<uint8_t>& dead,
                                            const std::vector<OrderStatistic>& wanted, MPI_Comm comm) {
  // Digits of the radix select, most significant first: a wide first digit
  // (one slot per population), then narrow ones so the all-reduced histograms
  // of up to 36 slots stay small.
  constexpr int kDigits[] = {16, 8, 8, 8, 8, 8, 8};
  const int64_t slab_tokens = static_cast<int64_t>(dead.size());
  std::vector<uint64_t> prefix(wanted.size(), 0);  // bits decided so far
  std::vector<int64_t> remaining(wanted.size());   // rank inside the prefix's bucket
  for (size_t w = 0; w < wanted.size(); ++w) remaining[w] = wanted[w].rank;
  struct Slot {
    MagnitudePopulation population;
    uint64_t prefix;
    bool operator==(const Slot& o) const { return population == o.population && prefix == o.prefix; }
  };
  int shift = 64;
  for (int pass = 0; pass < 7; ++pass) {
    const int digit_bits = kDigits[pass];
    const size_t buckets = size_t(1) << digit_bits;
    shift -= digit_bits;
    std::vector<Slot> slots;  // distinct (population, prefix) being refined
    for (size_t w = 0; w < wanted.size(); ++w) {
      const Slot slot{wanted[w].population, prefix[w]};
      if (std::find(slots.begin(), slots.end(), slot) == slots.end()) slots.push_back(slot);
    }
    std::vector<int64_t> histogram(slots.size() * buckets, 0);
    // One scan per pass serves every population and every wanted rank.
    // Slots by prefix in a small open-addressing table: one probe per value.
    struct PrefixSlots {
      uint64_t prefix = ~uint64_t(0);  // empty
      int slot[3] = {-1, -1, -1};      // per MagnitudePopulation
    };
    std::vector<PrefixSlots> table(128);
    const auto probe = [&](uint64_t key) -> size_t {
      size_t h = static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 57);
      while (table[h].prefix != key && table[h].prefix != ~uint64_t(0)) h = (h + 1) & 127;
      return h;
    };
    uint64_t lowest = ~uint64_t(0), highest = 0;
    for (size_t s = 0; s < slots.size(); ++s) {
      PrefixSlots& entry = table[probe(slots[s].prefix)];
      entry.prefix = slots[s].prefix;
      entry.slot[slots[s].population] = static_cast<int>(s);
      lowest = std::min(lowest, slots[s].prefix);
      highest = std::max(highest, slots[s].prefix);
    }
    store.for_each_chunk([&](const double* values, int64_t count, int64_t first) {
      int64_t token = first % slab_tokens;
      for (int64_t i = 0; i < count; ++i, token = token + 1 == slab_tokens ? 0 : token + 1) {
        const uint64_t key = bits_of(values[i]);
        const uint64_t high = pass == 0 ? 0 : key >> (shift + digit_bits);
        if (high < lowest || high > highest || std::isnan(values[i])) continue;  // most values, after pass 1
        const PrefixSlots& entry = table[probe(high)];
        if (entry.prefix != high) continue;
        const size_t bucket = static_cast<size_t>((key >> shift) & (buckets - 1));
        const int own = entry.slot[dead[static_cast<size_t>(token)] != 0 ? kDeadTokens : kLiveTokens];
        if (entry.slot[kAllTokens] >= 0) ++histogram[static_cast<size_t>(entry.slot[kAllTokens]) * buckets + bucket];
        if (own >= 0) ++histogram[static_cast<size_t>(own) * buckets + bucket];
      }
    });
    MPI_Allreduce(MPI_IN_PLACE, histogram.data(), static_cast<int>(histogram.size()), MPI_INT64_T, MPI_SUM, comm);
    for (size_t w = 0; w < wanted.size(); ++w) {
      const Slot slot{wanted[w].population, prefix[w]};
      const size_t s = static_cast<size_t>(std::find(slots.begin(), slots.end(), slot) - slots.begin());
      const int64_t* counts = &histogram[s * buckets];
      int digit = 0;
      while (remaining[w] >= counts[digit]) remaining[w] -= counts[digit++];
      prefix[w] = (prefix[w] << digit_bits) | static_cast<uint64_t>(digit);
    }
  }
  std::vector<double> values(wanted.size());
  for (size_t w = 0; w < wanted.size(); ++w) values[w] = double_of(prefix[w]);
  return values;
}

std::array<MagnitudeSummary, 3> summarize_magnitudes(const MagnitudeStore& store, const std::vector<uint8_t>& dead,
                                                     int64_t transitions, MPI_Comm comm) {
  const int64_t slab_tokens = static_cast<int64_t>(dead.size());
  const size_t steps = static_cast<size_t>(transitions);
  // Local accumulation for live (0) and dead (1); "all" is their union.
  struct Local {
    int64_t count = 0, nonfinite = 0, zero = 0;
    double min = std::numeric_limits<double>::infinity();
    double max = -std::numeric_limits<double>::infinity();
    std::vector<int64_t> histogram = std::vector<int64_t>(kHistogramBins, 0);
    std::vector<ExactSum> step_sum;
    std::vector<int64_t> step_count;
    std::vector<double> step_max;
  } local[2];
  for (Local& l : local) {
    l.step_sum.resize(steps);
    l.step_count.assign(steps, 0);
    l.step_max.assign(steps, -std::numeric_limits<double>::infinity());
  }
  store.for_each_chunk([&](const double* values, int64_t count, int64_t first) {
    size_t step = static_cast<size_t>(first / slab_tokens);
    int64_t token = first % slab_tokens;
    for (int64_t i = 0; i < count; ++i) {
      Local& l = local[dead[static_cast<size_t>(token)] ? 1 : 0];
      const size_t row_step = step;
      if (++token == slab_tokens) token = 0, ++step;
      const double m = values[i];
      if (std::isnan(m)) {
        ++l.nonfinite;
        continue;
      }
      ++l.count;
      l.min = std::min(l.min, m);
      l.max = std::max(l.max, m);
      if (m == 0.0) {
        ++l.zero;
      } else {
        int exponent = 0;
        std::frexp(m, &exponent);  // m in [2^(exponent-1), 2^exponent)
        ++l.histogram[static_cast<size_t>(exponent - 1 - kHistogramLow)];
      }
      l.step_sum[row_step].add(m);
      ++l.step_count[row_step];
      l.step_max[row_step] = std::max(l.step_max[row_step], m);
    }
  });

  // Reduce everything to rank 0: live and dead side by side.
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  std::array<int64_t, 6> counts = {local[0].count, local[0].nonfinite, local[0].zero,
                                   local[1].count, local[1].nonfinite, local[1].zero};
  std::array<int64_t, 6> global_counts{};
  MPI_Allreduce(counts.data(), global_counts.data(), 6, MPI_INT64_T, MPI_SUM, comm);
  double extremes[4] = {local[0].min, -local[0].max, local[1].min, -local[1].max};
  MPI_Reduce(rank == 0 ? MPI_IN_PLACE : extremes, extremes, 4, MPI_DOUBLE, MPI_MIN, 0, comm);
  std::vector<int64_t> histograms(2 * kHistogramBins), step_counts(2 * steps);
  std::vector<double> step_max(2 * steps);
  for (int p = 0; p < 2; ++p) {
    std::copy(local[p].histogram.begin(), local[p].histogram.end(), histograms.begin() + p * kHistogramBins);
    std::copy(local[p].step_count.begin(), local[p].step_count.end(), step_counts.begin() + p * steps);
    std::copy(local[p].step_max.begin(), local[p].step_max.end(), step_max.begin() + p * steps);
  }
  MPI_Reduce(rank == 0 ? MPI_IN_PLACE : histograms.data(), histograms.data(), 2 * kHistogramBins, MPI_INT64_T, MPI_SUM,
             0, comm);
  MPI_Reduce(rank == 0 ? MPI_IN_PLACE : step_counts.data(), step_counts.data(), static_cast<int>(2 * steps),
             MPI_INT64_T, MPI_SUM, 0, comm);
  MPI_Reduce(rank == 0 ? MPI_IN_PLACE : step_max.data(), step_max.data(), static_cast<int>(2 * steps), MPI_DOUBLE,
             MPI_MAX, 0, comm);
  std::vector<ExactSum> step_sums(2 * steps);
  for (int p = 0; p < 2; ++p)
    std::copy(local[p].step_sum.begin(), local[p].step_sum.end(), step_sums.begin() + p * steps);
  ExactSum::reduce_to_root(step_sums, comm);

  std::array<MagnitudeSummary, 3> summary;
  // Order statistics of all three populations in one selection; every rank
  // takes part.
  std::vector<OrderStatistic> wanted;
  std::array<std::vector<PercentileRecipe>, 3> recipes;
  for (int population = 0; population < 3; ++population) {
    MagnitudeSummary& s = summary[population];
    const int64_t live_part = population != kDeadTokens ? 1 : 0;
    const int64_t dead_part = population != kLiveTokens ? 1 : 0;
    s.count = live_part * global_counts[0] + dead_part * global_counts[3];
    s.nonfinite = live_part * global_counts[1] + dead_part * global_counts[4];
    s.zero_count = live_part * global_counts[2] + dead_part * global_counts[5];
    if (s.count == 0) continue;
    const auto p = static_cast<MagnitudePopulation>(population);
    for (double q : kPercentiles) {
      recipes[population].push_back(numpy_percentile_recipe(s.count, q));
      wanted.push_back({p, recipes[population].back().lower});
      wanted.push_back({p, recipes[population].back().upper});
    }
    wanted.push_back({p, (s.count - 1) / 2});  // np.median: the middle, or the mean of the middle two
    wanted.push_back({p, s.count / 2});
  }
  const std::vector<double> order = select_order_statistics(store, dead, wanted, comm);
  size_t next = 0;
  for (int population = 0; population < 3; ++population) {
    MagnitudeSummary& s = summary[population];
    if (s.count == 0) continue;
    for (size_t q = 0; q < kPercentiles.size(); ++q, next += 2)
      s.percentiles[q] = numpy_lerp(order[next], order[next + 1], recipes[population][q].gamma);
    const double a = order[next], b = order[next + 1];
    next += 2;
    s.median = s.count % 2 == 1 ? a : (a + b) / 2.0;
  }
  if (rank != 0) return summary;

  for (int population = 0; population < 3; ++population) {
    MagnitudeSummary& s = summary[population];
    const bool with_live = population != kDeadTokens, with_dead = population != kLiveTokens;
    ExactSum total;
    s.per_step_mean.resize(steps);
    s.per_step_max.resize(steps);
    for (size_t t = 0; t < steps; ++t) {
      ExactSum step_sum;
      int64_t step_count = 0;
      double maximum = -std::numeric_limits<double>::infinity();
      if (with_live) {
        step_sum.add(step_sums[t]);
        step_count += step_counts[t];
        maximum = std::max(maximum, step_max[t]);
      }
      if (with_dead) {
        step_sum.add(step_sums[steps + t]);
        step_count += step_counts[steps + t];
        maximum = std::max(maximum, step_max[steps + t]);
      }
      total.add(step_sum);
      if (step_count > 0) {
        s.per_step_mean[t] = step_sum.to_double() / static_cast<double>(step_count);
        s.per_step_max[t] = maximum;
      }
    }
    if (s.count == 0) continue;
    s.mean = total.to_double() / static_cast<double>(s.count);
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    if (with_live) lo = std::min(lo, extremes[0]), hi = std::max(hi, -extremes[1]);
    if (with_dead) lo = std::min(lo, extremes[2]), hi = std::max(hi, -extremes[3]);
    s.min = lo;
    s.max = hi;
    std::vector<int64_t> bins(kHistogramBins, 0);
    for (int b = 0; b < kHistogramBins; ++b)
      bins[b] = (with_live ? histograms[b] : 0) + (with_dead ? histograms[kHistogramBins + b] : 0);
    int first = 0, last = kHistogramBins - 1;
    while (first < kHistogramBins && bins[first] == 0) ++first;
    while (last >= 0 && bins[last] == 0) --last;
    if (first <= last) {
      s.log2_lo = first + kHistogramLow;
      s.histogram.assign(bins.begin() + first, bins.begin() + last + 1);
    }
  }
  return summary;
}

}  // namespace latdisp
