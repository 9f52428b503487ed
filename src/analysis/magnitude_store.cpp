#include "analysis/magnitude_store.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "io/checkpoint_archive.hpp"

namespace latdisp {

void StepMagnitudes::merge(const StepMagnitudes& other) {
  sum.add(other.sum);
  count += other.count;
  max = std::max(max, other.max);
}

uint64_t magnitude_table_bytes(int64_t transitions) {
  // The store's per-step sums and, while summarizing, two copies of them; the
  // first digit histograms of the selection (16 bits, three populations).
  const uint64_t per_step = 3 * 2 * sizeof(StepMagnitudes);
  const uint64_t selection = 3 * (uint64_t(1) << 16) * sizeof(int64_t);
  const uint64_t step_tally = 8 * MagnitudeStore::kStepQuarterSquares * sizeof(uint32_t);
  return DistinctMagnitudes::kMaxBytes + SpillableKeys::kBufferBytes + step_tally + selection +
         static_cast<uint64_t>(std::max<int64_t>(transitions, 0)) * per_step;
}

MagnitudeStore::MagnitudeStore(std::vector<uint8_t> dead, int64_t transitions, const GeneralValueSpace& space)
    : m_space(space),
      m_dead(std::move(dead)),
      m_transitions(transitions),
      m_general(space.memory_keys, space.may_spill, space.scratch_dir) {
  for (auto& steps : m_steps) steps.resize(static_cast<size_t>(transitions));
  m_step_tally.assign(4 * kStepQuarterSquares, 0);
  m_step_tallied.reserve(4 * kStepQuarterSquares);
}

MagnitudeStore::MagnitudeStore(int64_t capacity, bool in_memory, const std::string& scratch_dir)
    : m_deferred(true),
      m_space{in_memory ? capacity : 0, !in_memory, scratch_dir},
      m_transitions(0),
      m_general(m_space.memory_keys, m_space.may_spill, scratch_dir) {}

void MagnitudeStore::append(const double* values, int64_t count) {
  if (m_deferred) {
    for (int64_t i = 0; i < count; ++i) {
      uint64_t bits = 0;
      std::memcpy(&bits, values + i, sizeof bits);
      m_general.push(bits);
    }
    m_rows += count;
    return;
  }
  const int64_t tokens = static_cast<int64_t>(m_dead.size());
  if (count > m_transitions * tokens - m_rows) throw std::logic_error("MagnitudeStore: more magnitudes than rows");
  while (count > 0) {
    const int64_t first_token = m_rows % tokens;
    const int64_t run = std::min(count, tokens - first_token);
    count_step_rows(m_rows / tokens, first_token, values, run);
    values += run;
    count -= run;
    m_rows += run;
  }
}

namespace {

constexpr uint32_t kUntallied = ~uint32_t(0);
constexpr int64_t kRowsPerPass = 512;

uint64_t bits_of(double v) {
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
}

double double_of(uint64_t bits) {
  double v = 0;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

// The seed arithmetic's magnitude of an integer sum of squares S: the float of its root.
float seed_square_root(uint32_t squares) { return static_cast<float>(std::sqrt(static_cast<double>(squares))); }

// Each row's index 2 q + dead in the step tally (m = sqrt(q / 4), q <
// limit), or kUntallied; returns how many are untallied. Written to vectorize
// (the square roots above all): no branches, and the comparisons and the
// clamp on the bits of 4 m^2, which is non-negative or NaN and then ordered
// like its value; the conversions only ever see values in range.
int64_t tally_indices(const double* values, const uint8_t* dead, int64_t count, uint32_t limit, uint32_t* indices) {
  const uint64_t limit_bits = bits_of(static_cast<double>(limit));
  int64_t untallied = 0;
  for (int64_t i = 0; i < count; ++i) {
    const double m = values[i];
    const uint64_t four_squares = bits_of(4.0 * m * m);
    const bool small = four_squares < limit_bits;
    const double clamped = double_of(std::min(four_squares, limit_bits));
    const uint32_t q = static_cast<uint32_t>(static_cast<int32_t>(clamped + 0.5));
    const bool exact = small & (bits_of(quarter_square_root(q)) == bits_of(m));
    indices[i] = exact ? 2 * q + (dead[i] != 0 ? 1u : 0u) : kUntallied;
    untallied += exact ? 0 : 1;
  }
  return untallied;
}

// The untallied rows' index 2 (limit + S) + dead for a float32 (seed)
// magnitude m = float(sqrt(S)), S < limit: one S per such value, since their
// roots (below 128) lie further apart than a float's spacing. Vectorizes like
// tally_indices.
void tally_seed_indices(const double* values, const uint8_t* dead, int64_t count, uint32_t limit, uint32_t* indices) {
  const uint64_t limit_bits = bits_of(static_cast<double>(limit));
  for (int64_t i = 0; i < count; ++i) {
    const double m = values[i];
    const uint64_t squares = bits_of(m * m);
    const bool small = squares < limit_bits;
    const double clamped = double_of(std::min(squares, limit_bits));
    const uint32_t s = static_cast<uint32_t>(static_cast<int32_t>(clamped + 0.5));
    const bool seed = small & (bits_of(static_cast<double>(seed_square_root(s))) == bits_of(m));
    const uint32_t seed_index = seed ? 2 * (limit + s) + (dead[i] != 0 ? 1u : 0u) : kUntallied;
    indices[i] = indices[i] == kUntallied ? seed_index : indices[i];
  }
}

}  // namespace

void MagnitudeStore::count_step_rows(int64_t step, int64_t first_token, const double* values, int64_t count) {
  StepMagnitudes* step_of[2] = {&m_steps[0][static_cast<size_t>(step)], &m_steps[1][static_cast<size_t>(step)]};
  const uint8_t* dead = m_dead.data() + first_token;
  uint32_t* tally = m_step_tally.data();
  uint32_t indices[kRowsPerPass];
  for (int64_t first = 0; first < count; first += kRowsPerPass) {
    const int64_t rows = std::min(kRowsPerPass, count - first);
    // Seed magnitudes (float32 roots) are looked for only where some row is
    // not a quarter square: exact runs do not pay for them.
    if (tally_indices(values + first, dead + first, rows, kStepQuarterSquares, indices) > 0)
      tally_seed_indices(values + first, dead + first, rows, kStepQuarterSquares, indices);
    for (int64_t i = 0; i < rows; ++i) {
      const uint32_t index = indices[i];
      if (index != kUntallied) {
        if (tally[index]++ == 0) m_step_tallied.push_back(index);
        continue;
      }
      const double m = values[first + i];
      const uint32_t token_class = dead[first + i] != 0 ? 1 : 0;
      if (!(std::fabs(m) <= std::numeric_limits<double>::max())) {  // NaN or Inf
        ++m_nonfinite[token_class];
        continue;
      }
      step_of[token_class]->add(m);
      if (!m_distinct.add(m, token_class == 1)) m_general.push(magnitude_key(m, token_class == 1));
    }
  }
  fold_step_tally(step);
}

void MagnitudeStore::fold_step_tally(int64_t step) {
  for (const uint32_t index : m_step_tallied) {
    const uint32_t count = m_step_tally[index];
    m_step_tally[index] = 0;
    const bool dead = index % 2 == 1;
    StepMagnitudes& step_sums = m_steps[dead ? 1 : 0][static_cast<size_t>(step)];
    if (index < 2 * kStepQuarterSquares) {
      const uint32_t q = index / 2;
      step_sums.add(quarter_square_root(q), count);
      m_distinct.add_quarter_square(q, dead, count);
      continue;
    }
    const double m = seed_square_root(index / 2 - kStepQuarterSquares);
    step_sums.add(m, count);
    if (!m_distinct.add(m, dead, count))
      for (uint32_t row = 0; row < count; ++row) m_general.push(magnitude_key(m, dead));
  }
  m_step_tallied.clear();
}

MagnitudeStore MagnitudeStore::with_token_layout(const std::vector<uint8_t>& dead) const {
  if (!m_deferred) throw std::logic_error("MagnitudeStore: the store has a token layout already");
  const int64_t tokens = static_cast<int64_t>(dead.size());
  const int64_t transitions = tokens == 0 ? 0 : (m_rows + tokens - 1) / tokens;
  MagnitudeStore bound(dead, transitions, m_space);
  m_general.for_each_chunk([&](const uint64_t* keys, int64_t count) {
    std::vector<double> values(static_cast<size_t>(count));
    std::memcpy(values.data(), keys, static_cast<size_t>(count) * sizeof(double));
    bound.append(values.data(), count);
  });
  return bound;
}

void MagnitudeStore::save(ArchiveWriter& archive) const {
  archive.put_int("magnitudes.token_layout", m_deferred ? 0 : 1);
  archive.put_int("magnitudes.rows", m_rows);
  if (!m_deferred) {
    for (int token_class = 0; token_class < 2; ++token_class) {
      const std::string name = token_class == 0 ? "magnitudes.live" : "magnitudes.dead";
      const std::vector<StepMagnitudes>& steps = m_steps[static_cast<size_t>(token_class)];
      std::vector<int64_t> sums(steps.size() * ExactSum::kStateWords), counts(steps.size());
      std::vector<double> maxima(steps.size());
      for (size_t t = 0; t < steps.size(); ++t) {
        steps[t].sum.get_state(&sums[t * ExactSum::kStateWords]);
        counts[t] = steps[t].count;
        maxima[t] = steps[t].max;
      }
      archive.put_ints(name + ".sums", sums);
      archive.put_ints(name + ".counts", counts);
      archive.put_doubles(name + ".max", maxima);
    }
    archive.put_ints("magnitudes.nonfinite", {m_nonfinite[0], m_nonfinite[1]});
    m_distinct.save(archive, "magnitudes.distinct");
  }
  m_general.save(archive, "magnitudes.general");
}

void MagnitudeStore::load(ArchiveReader& archive) {
  if (archive.get_int("magnitudes.token_layout") != (m_deferred ? 0 : 1))
    archive.damaged("its magnitudes were kept in another way");
  if (m_rows != 0) throw std::logic_error("MagnitudeStore: a checkpoint loads into an empty store");
  m_rows = archive.get_int("magnitudes.rows");
  if (!m_deferred) {
    const int64_t steps_count = m_transitions;
    for (int token_class = 0; token_class < 2; ++token_class) {
      const std::string name = token_class == 0 ? "magnitudes.live" : "magnitudes.dead";
      std::vector<StepMagnitudes>& steps = m_steps[static_cast<size_t>(token_class)];
      const std::vector<int64_t> sums = archive.get_ints(name + ".sums", steps_count * ExactSum::kStateWords);
      const std::vector<int64_t> counts = archive.get_ints(name + ".counts", steps_count);
      const std::vector<double> maxima = archive.get_doubles(name + ".max", steps_count);
      for (size_t t = 0; t < steps.size(); ++t) {
        steps[t].sum.set_state(&sums[t * ExactSum::kStateWords]);
        steps[t].count = counts[t];
        steps[t].max = maxima[t];
      }
    }
    const std::vector<int64_t> nonfinite = archive.get_ints("magnitudes.nonfinite", 2);
    m_nonfinite = {nonfinite[0], nonfinite[1]};
    m_distinct.load(archive, "magnitudes.distinct");
  }
  m_general.load(archive, "magnitudes.general");
}

}  // namespace latdisp
