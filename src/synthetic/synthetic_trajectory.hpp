// The synthetic training trajectory of `latdisp generate`: a pure function of
// (seed, step, token, dim) through a counter-based hash, so every rank can
// produce its own tokens and the file is the same for any rank count.
#pragma once

#include <cstdint>
#include <vector>

#include "kokkos_kernels/formats/element_type.hpp"

namespace latdisp {

struct TrajectoryModel {
  uint64_t seed = 1;
  double dead_fraction = 0.1;
  bool special = false;
  // The decaying move size (0: none, every step alike): a step-decay
  // learning rate that halves every decay_steps steps, never below `floor`
  // for live tokens; see move_scale().
  int64_t decay_steps = 0;
  double floor = 0.0;
};

// 2^-floor(step / decay_steps), exact (1 without decay): the learning rate
// of `step` relative to the first. Live tokens' moves of c cells become
// round_half_even(c * max(floor, scale)) cells; dead tokens' rare moves and
// sign changes thin out with the scale and stop once it is below the floor.
double move_scale(const TrajectoryModel& model, int64_t step);

// Uniform 64-bit hash of a key tuple (splitmix64 finalizer chain).
uint64_t hash_key(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b = 0, uint64_t c = 0);

bool token_is_dead(const TrajectoryModel& model, int64_t token);

// W[0, token, dim].
uint16_t initial_value(const TrajectoryModel& model, int64_t token, int64_t dim);

// W[step + 1, token, dim] from W[step, token, dim].
uint16_t next_value(const TrajectoryModel& model, uint16_t value, int64_t step, int64_t token, int64_t dim, bool dead);

// The same model on the lattice of any element format (bits in the low bits;
// bf16: the values above): values rounded to the format, moves of cells on
// its ordered lattice, its own special values (E4M3FN has no Inf: its
// largest value stands in).
uint32_t initial_bits(formats::ElementType type, const TrajectoryModel& model, int64_t token, int64_t dim);
uint32_t next_bits(formats::ElementType type, const TrajectoryModel& model, uint32_t value, int64_t step, int64_t token,
                   int64_t dim, bool dead);

// The whole model trajectory W[steps, tokens, dims] of `type` in memory
// (steps outermost, each value `element_bytes(type)` little-endian bytes), and
// each token's dead flag in `dead`: the in-memory block of the benchmark tools.
std::vector<unsigned char> synthetic_block(formats::ElementType type, const TrajectoryModel& model, int64_t steps,
                                           int64_t tokens, int64_t dims, std::vector<uint8_t>& dead);

}  // namespace latdisp
