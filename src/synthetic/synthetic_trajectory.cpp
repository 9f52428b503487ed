#include "synthetic/synthetic_trajectory.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "kokkos_kernels/bf16_lattice.hpp"
#include "kokkos_kernels/formats/element_format.hpp"
#include "kokkos_kernels/hash64.hpp"

namespace latdisp {

namespace {

enum Stream : uint64_t { kDeadStream = 1, kInitialStream, kZeroStream, kMoveStream, kSpecialStream };

double unit_interval(uint64_t h) { return static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0); }

// The lattice of format F as the model uses it: bits as uint32_t, a double
// rounded to F through float32 (to nearest, ties to even), and the planted
// special values. For bf16 these are the model's original bfloat16 constants.
template <class F>
struct ModelLattice {
  using L = formats::Lattice<F>;
  static constexpr uint32_t kSign = uint32_t(1) << (F::total_bits - 1);
  static constexpr bool kFn = F::specials == formats::Specials::nan_only_fn;
  // The largest finite magnitude pattern.
  static constexpr uint32_t kMaxFinite =
      kFn ? L::magnitude_mask - 1 : ((L::exponent_mask - 1) << F::mantissa_bits) | L::mantissa_mask;

  static bool finite(uint32_t b) { return L::is_finite(static_cast<typename F::bits_type>(b)); }
  static bool zero(uint32_t b) { return (b & ~kSign) == 0; }

  static uint32_t round(double value) {
    const float single = static_cast<float>(value);
    if (std::is_same<F, formats::BF16>::value) return bf16::round_to_bf16(single);
    const double v = static_cast<double>(single);
    const uint32_t sign = std::signbit(v) ? kSign : 0;
    const double magnitude = std::fabs(v);
    if (magnitude == 0) return sign;
    int exponent = 0;
    std::frexp(magnitude, &exponent);  // magnitude in [2^(exponent-1), 2^exponent)
    const int scale = std::max(exponent - 1, 1 - F::bias) - F::mantissa_bits;  // log2 of the ULP there
    const double q = std::nearbyint(std::ldexp(magnitude, -scale));            // exact scaling, one rounding
    // The pattern of q * 2^scale: consecutive magnitudes are consecutive patterns.
    const int field = std::max(exponent - 1, 1 - F::bias) + F::bias - (q < std::ldexp(1.0, F::mantissa_bits) ? 1 : 0);
    uint64_t pattern = field <= 0 ? static_cast<uint64_t>(q)
                                  : (static_cast<uint64_t>(field) << F::mantissa_bits) +
                                        static_cast<uint64_t>(q) - (uint64_t(1) << F::mantissa_bits);
    if (pattern > kMaxFinite) pattern = kMaxFinite;
    return sign | static_cast<uint32_t>(pattern);
  }

  // Moves a finite value by `cells` positions on the ordered lattice, staying
  // finite and keeping its sign (values pass through the subnormals to zero).
  static uint32_t move(uint32_t value, int32_t cells) {
    const bool negative = (value & kSign) != 0;
    int64_t magnitude = static_cast<int64_t>(value & ~kSign);
    magnitude += negative ? -cells : cells;
    if (magnitude < 0) magnitude = 0;
    if (magnitude > static_cast<int64_t>(kMaxFinite)) magnitude = kMaxFinite;
    return (negative ? kSign : 0) | static_cast<uint32_t>(magnitude);
  }

  // The planted special values: a subnormal, +Inf (E4M3FN: its largest
  // value), NaN, zero, a value of magnitude 300, -(smallest subnormal).
  static uint32_t special(int kind) {
    switch (kind) {
      case 0: return 5;
      case 1: return kFn ? kMaxFinite : L::exponent_mask << F::mantissa_bits;
      case 2: return kFn ? L::magnitude_mask : (L::exponent_mask << F::mantissa_bits) | (1u << (F::mantissa_bits - 1));
      case 3: return 0;
      case 4: return round(300.0);
      default: return kSign | 1u;
    }
  }
};

// Planted special values (--special): one coordinate in 256 takes one kind
// of special value from a step of its own onwards.
template <class F>
bool special_value(const TrajectoryModel& model, int64_t step, int64_t token, int64_t dim, uint32_t& value) {
  if (!model.special) return false;
  const uint64_t h = hash_key(model.seed, kSpecialStream, static_cast<uint64_t>(token), static_cast<uint64_t>(dim));
  if (h % 256 != 0) return false;
  const int64_t onset = static_cast<int64_t>((h >> 16) % 4);  // planted early so short runs see them
  if (step != onset) return false;
  value = ModelLattice<F>::special(static_cast<int>((h >> 32) % 6));
  return true;
}

template <class F>
uint32_t model_initial_value(const TrajectoryModel& model, int64_t token, int64_t dim) {
  uint32_t planted = 0;
  if (special_value<F>(model, 0, token, dim, planted)) return planted;
  const uint64_t zero_hash =
      hash_key(model.seed, kZeroStream, static_cast<uint64_t>(token), static_cast<uint64_t>(dim));
  if (zero_hash % 200 == 0) return 0;  // 0.5% exact zeros, which stay zero
  // Normal(0, 0.02) by Box-Muller, rounded to the format.
  const uint64_t h = hash_key(model.seed, kInitialStream, static_cast<uint64_t>(token), static_cast<uint64_t>(dim));
  const double u1 = (static_cast<double>(h >> 40) + 0.5) / 16777216.0;
  const double u2 = static_cast<double>(h & 0xFFFFFF) / 16777216.0;
  const double normal = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  const uint32_t value = ModelLattice<F>::round(0.02 * normal);
  return ModelLattice<F>::zero(value) ? ModelLattice<F>::round(0.0078125) : value;  // 2^-7
}

template <class F>
uint32_t model_next_value(const TrajectoryModel& model, uint32_t value, int64_t step, int64_t token, int64_t dim,
                          bool dead) {
  using M = ModelLattice<F>;
  uint32_t planted = 0;
  if (special_value<F>(model, step + 1, token, dim, planted)) return planted;
  if (!M::finite(value)) return value;  // Inf and NaN stay
  const uint64_t h = hash_key(model.seed, kMoveStream, static_cast<uint64_t>(step), static_cast<uint64_t>(token),
                              static_cast<uint64_t>(dim));
  const double u = unit_interval(h);
  const bool negative_move = (h >> 5) & 1;
  if (M::zero(value)) {
    // Zeros stay, except the planted ones (--special) that start to move.
    if (!model.special || u >= 0.3) return value;
    return (negative_move ? M::kSign : 0) | M::round(0.0078125);  // 2^-7, far beyond int64 ULPs of zero
  }
  // Without decay: scale 1 and floor 0, so every threshold below is the
  // undecayed one exactly (0.02 * 1.0 == 0.02, 0.3 + 0.0001 == 0.3001).
  const double scale = move_scale(model, step);
  const bool below_floor = scale < model.floor;
  if (dead) {
    if (u >= 0.02 * scale || below_floor) return value;  // dead tokens mostly sit still
    return M::move(value, negative_move ? -1 : 1);
  }
  if (u < 0.3) return value;
  if (!below_floor && u < 0.3 + 0.0001 * scale) return value ^ M::kSign;  // a sign change
  // Optimizer-like steps of a few cells, occasionally a large move.
  const uint64_t size_hash = h >> 8;
  int32_t cells = 1 + static_cast<int32_t>((size_hash & 0xFF) < 64) + static_cast<int32_t>((size_hash & 0xFF) < 16);
  if (((size_hash >> 8) & 0x3FF) == 0) cells = 16 + static_cast<int32_t>((size_hash >> 18) % 200);
  if (model.decay_steps > 0) {
    // A product of IEEE doubles rounded half to even: the same on every machine.
    cells = static_cast<int32_t>(std::nearbyint(static_cast<double>(cells) * std::fmax(model.floor, scale)));
    if (cells == 0) return value;
  }
  return M::move(value, negative_move ? -cells : cells);
}

}  // namespace

uint64_t hash_key(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b, uint64_t c) {
  return splitmix64(splitmix64(splitmix64(splitmix64(seed ^ splitmix64(stream)) ^ a) ^ b) ^ c);
}

bool token_is_dead(const TrajectoryModel& model, int64_t token) {
  return unit_interval(hash_key(model.seed, kDeadStream, static_cast<uint64_t>(token))) < model.dead_fraction;
}

uint16_t initial_value(const TrajectoryModel& model, int64_t token, int64_t dim) {
  return static_cast<uint16_t>(model_initial_value<formats::BF16>(model, token, dim));
}

uint32_t initial_bits(formats::ElementType type, const TrajectoryModel& model, int64_t token, int64_t dim) {
  return formats::dispatch_element_type(
      type, [&](auto traits) { return model_initial_value<decltype(traits)>(model, token, dim); });
}

double move_scale(const TrajectoryModel& model, int64_t step) {
  if (model.decay_steps <= 0) return 1.0;
  const int64_t halvings = step / model.decay_steps;
  return halvings > 1100 ? 0.0 : std::ldexp(1.0, -static_cast<int>(halvings));
}

uint16_t next_value(const TrajectoryModel& model, uint16_t value, int64_t step, int64_t token, int64_t dim, bool dead) {
  return static_cast<uint16_t>(model_next_value<formats::BF16>(model, value, step, token, dim, dead));
}

uint32_t next_bits(formats::ElementType type, const TrajectoryModel& model, uint32_t value, int64_t step, int64_t token,
                   int64_t dim, bool dead) {
  return formats::dispatch_element_type(type, [&](auto traits) {
    return model_next_value<decltype(traits)>(model, value, step, token, dim, dead);
  });
}

std::vector<unsigned char> synthetic_block(formats::ElementType type, const TrajectoryModel& model, int64_t steps,
                                           int64_t tokens, int64_t dims, std::vector<uint8_t>& dead) {
  const size_t bytes = static_cast<size_t>(formats::element_bytes(type));
  std::vector<unsigned char> w(static_cast<size_t>(steps * tokens * dims) * bytes);
  dead.assign(static_cast<size_t>(tokens), 0);
  for (int64_t n = 0; n < tokens; ++n) {
    dead[static_cast<size_t>(n)] = token_is_dead(model, n) ? 1 : 0;
    for (int64_t d = 0; d < dims; ++d) {
      uint32_t value = initial_bits(type, model, n, d);
      for (int64_t t = 0; t < steps; ++t) {
        if (t > 0) value = next_bits(type, model, value, t - 1, n, d, dead[static_cast<size_t>(n)] != 0);
        std::memcpy(&w[static_cast<size_t>((t * tokens + n) * dims + d) * bytes], &value, bytes);
      }
    }
  }
  return w;
}

}  // namespace latdisp
