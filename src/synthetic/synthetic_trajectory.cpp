#include "synthetic/synthetic_trajectory.hpp"

#include <cmath>

#include "kokkos_kernels/bf16_lattice.hpp"
#include "kokkos_kernels/hash64.hpp"

namespace latdisp {

namespace {

enum Stream : uint64_t { kDeadStream = 1, kInitialStream, kZeroStream, kMoveStream, kSpecialStream };

double unit_interval(uint64_t h) { return static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0); }

// Moves a finite value by `cells` positions on the ordered lattice, staying
// finite and keeping its sign (values pass through the subnormals to zero).
uint16_t move_on_lattice(uint16_t value, int32_t cells) {
  int32_t position = bf16::lattice_position(value);
  const bool negative = position < 0 || (position == 0 && bf16::sign_bit(value));
  int32_t magnitude = negative ? -position : position;
  magnitude += negative ? -cells : cells;
  if (magnitude < 0) magnitude = 0;
  if (magnitude > 0x7F7F) magnitude = 0x7F7F;
  return static_cast<uint16_t>((negative ? 0x8000 : 0) | magnitude);
}

// Planted special values (--special): one coordinate in 256 takes one kind
// of special value from a step of its own onwards.
bool special_value(const TrajectoryModel& model, int64_t step, int64_t token, int64_t dim, uint16_t& value) {
  if (!model.special) return false;
  const uint64_t h = hash_key(model.seed, kSpecialStream, static_cast<uint64_t>(token), static_cast<uint64_t>(dim));
  if (h % 256 != 0) return false;
  const int64_t onset = static_cast<int64_t>((h >> 16) % 4);  // planted early so short runs see them
  if (step != onset) return false;
  switch ((h >> 32) % 6) {
    case 0:
      value = 0x0005;
      return true;  // subnormal 5 * 2^-133
    case 1:
      value = 0x7F80;
      return true;  // +Inf
    case 2:
      value = 0x7FC0;
      return true;  // NaN
    case 3:
      value = 0x0000;
      return true;  // zero that later moves
    case 4:
      value = 0x4396;
      return true;  // 300.0, |b| >= 256
    default:
      value = 0x8001;
      return true;  // -(smallest subnormal)
  }
}

}  // namespace

uint64_t hash_key(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b, uint64_t c) {
  return splitmix64(splitmix64(splitmix64(splitmix64(seed ^ splitmix64(stream)) ^ a) ^ b) ^ c);
}

bool token_is_dead(const TrajectoryModel& model, int64_t token) {
  return unit_interval(hash_key(model.seed, kDeadStream, static_cast<uint64_t>(token))) < model.dead_fraction;
}

uint16_t initial_value(const TrajectoryModel& model, int64_t token, int64_t dim) {
  uint16_t planted = 0;
  if (special_value(model, 0, token, dim, planted)) return planted;
  const uint64_t zero_hash =
      hash_key(model.seed, kZeroStream, static_cast<uint64_t>(token), static_cast<uint64_t>(dim));
  if (zero_hash % 200 == 0) return 0;  // 0.5% exact zeros, which stay zero
  // Normal(0, 0.02) by Box-Muller, rounded to bfloat16.
  const uint64_t h = hash_key(model.seed, kInitialStream, static_cast<uint64_t>(token), static_cast<uint64_t>(dim));
  const double u1 = (static_cast<double>(h >> 40) + 0.5) / 16777216.0;
  const double u2 = static_cast<double>(h & 0xFFFFFF) / 16777216.0;
  const double normal = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  const uint16_t value = bf16::round_to_bf16(static_cast<float>(0.02 * normal));
  return bf16::is_zero(value) ? uint16_t(0x3C00) : value;
}

double move_scale(const TrajectoryModel& model, int64_t step) {
  if (model.decay_steps <= 0) return 1.0;
  const int64_t halvings = step / model.decay_steps;
  return halvings > 1100 ? 0.0 : std::ldexp(1.0, -static_cast<int>(halvings));
}

uint16_t next_value(const TrajectoryModel& model, uint16_t value, int64_t step, int64_t token, int64_t dim, bool dead) {
  uint16_t planted = 0;
  if (special_value(model, step + 1, token, dim, planted)) return planted;
  if (!bf16::is_finite(value)) return value;  // Inf and NaN stay
  const uint64_t h = hash_key(model.seed, kMoveStream, static_cast<uint64_t>(step), static_cast<uint64_t>(token),
                              static_cast<uint64_t>(dim));
  const double u = unit_interval(h);
  const bool negative_move = (h >> 5) & 1;
  if (bf16::is_zero(value)) {
    // Zeros stay, except the planted ones (--special) that start to move.
    if (!model.special || u >= 0.3) return value;
    return static_cast<uint16_t>((negative_move ? 0x8000 : 0) | 0x3C00);  // 2^-7, far beyond int64 ULPs of zero
  }
  // Without decay: scale 1 and floor 0, so every threshold below is the
  // undecayed one exactly (0.02 * 1.0 == 0.02, 0.3 + 0.0001 == 0.3001).
  const double scale = move_scale(model, step);
  const bool below_floor = scale < model.floor;
  if (dead) {
    if (u >= 0.02 * scale || below_floor) return value;  // dead tokens mostly sit still
    return move_on_lattice(value, negative_move ? -1 : 1);
  }
  if (u < 0.3) return value;
  if (!below_floor && u < 0.3 + 0.0001 * scale) return static_cast<uint16_t>(value ^ 0x8000);  // a sign change
  // Optimizer-like steps of a few cells, occasionally a large move.
  const uint64_t size_hash = h >> 8;
  int32_t cells = 1 + static_cast<int32_t>((size_hash & 0xFF) < 64) + static_cast<int32_t>((size_hash & 0xFF) < 16);
  if (((size_hash >> 8) & 0x3FF) == 0) cells = 16 + static_cast<int32_t>((size_hash >> 18) % 200);
  if (model.decay_steps > 0) {
    // A product of IEEE doubles rounded half to even: the same on every machine.
    cells = static_cast<int32_t>(std::nearbyint(static_cast<double>(cells) * std::fmax(model.floor, scale)));
    if (cells == 0) return value;
  }
  return move_on_lattice(value, negative_move ? -cells : cells);
}

}  // namespace latdisp
