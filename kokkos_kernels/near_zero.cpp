#include "kokkos_kernels/near_zero.hpp"

#include <cstring>
#include <type_traits>

#include "kokkos_kernels/formats/lattice_rules.hpp"

namespace latdisp {
namespace {

constexpr int64_t kTokensPerItem = 256;

using ScatterBins = Kokkos::Experimental::ScatterView<int64_t***, Kokkos::LayoutRight, ExecutionSpace,
                                                      Kokkos::Experimental::ScatterSum>;
using ScatterMaxima = Kokkos::Experimental::ScatterView<uint64_t**, Kokkos::LayoutRight, ExecutionSpace,
                                                        Kokkos::Experimental::ScatterMax>;

KOKKOS_INLINE_FUNCTION uint64_t bits_of(double value) {
  uint64_t bits;
  memcpy(&bits, &value, sizeof bits);
  return bits;
}

// |x| > 1024 for x = qa * 2^s - qb with d its correctly rounded double:
// rounding is monotone, so d decides unless d = +-1024; then the sign of
// the rounding error (TwoSum of the exact terms) does.
KOKKOS_INLINE_FUNCTION bool above_1024(const formats::ExactX& x, double d) {
  const double magnitude = d < 0 ? -d : d;
  if (magnitude != 1024.0) return magnitude > 1024.0;
  const double hi = static_cast<double>(x.qa) * bf16::pow2(x.s), lo = -static_cast<double>(x.qb);
  const double back = d - hi;
  const double error = (hi - (d - back)) + (lo - back);  // x = d + error exactly
  return d > 0 ? error > 0 : error < 0;
}

template <class F>
struct NearZeroFunctor {
  using Bits = typename F::bits_type;
  using L = formats::Lattice<F>;
  using Values = Kokkos::View<const Bits***, Kokkos::LayoutStride, DeviceMemory, Kokkos::MemoryUnmanaged>;

  Values m_values;
  TokenFlags m_dead;
  ScatterBins m_bins;
  ScatterBins m_kinds;
  ScatterMaxima m_maxima;
  NearZeroViews::Items m_items;
  double m_epsilon;
  formats::ZeroUlp m_zero_rule;
  int64_t m_tokens, m_dims, m_items_per_transition;

  int64_t items() const { return (static_cast<int64_t>(m_values.extent(0)) - 1) * m_items_per_transition; }

  // The start bin of b: zero, not finite, or its binade floor(log2 |b|).
  KOKKOS_INLINE_FUNCTION static int start_bin(Bits b) {
    if (!L::is_finite(b)) return kNonfiniteBin;
    if (L::is_zero(b)) return kZeroBin;
    const int field = L::exponent_field(b);
    if (field > 0) return bin_of_binade(field - F::bias);
    int top = 0;  // floor(log2 M) of a subnormal
    for (uint32_t m = L::mantissa_field(b); m > 1; m >>= 1) ++top;
    return bin_of_binade(L::min_scale + top);
  }

  KOKKOS_INLINE_FUNCTION static int zero_kind(Bits a, Bits b) {
    const bool zb = L::is_zero(b), za = L::is_zero(a);
    if (zb) return za ? kKeepsSign : kFromZero;
    if (za) return kToZero;
    return L::sign_bit(a) != L::sign_bit(b) ? kSignChange : kKeepsSign;
  }

  // |x| of a fast coordinate fits Wide: < 2^(mantissa_bits + 10).
  using Wide = typename std::conditional<(F::mantissa_bits + 10 < 31), int32_t, int64_t>::type;
  static constexpr int kFields = 1 << F::exponent_bits;

  // The common case from the bits alone, without branches (so that a chunk
  // of them vectorizes): a and b finite, of one sign, b normal and a in b's
  // binade or up to 8 binades above it. Then x is an integer: `magnitude` is
  // |x| and `field` b's exponent field; otherwise field = -1.
  struct Fast {
    Wide field, magnitude;
  };
  KOKKOS_INLINE_FUNCTION static Fast fast_coordinate(Bits a, Bits b) {
    const Wide ra = static_cast<Wide>(L::raw(a)), rb = static_cast<Wide>(L::raw(b));
    const Wide magnitude_mask = static_cast<Wide>(L::magnitude_mask), mantissa_mask = static_cast<Wide>(L::mantissa_mask);
    const Wide ma = ra & magnitude_mask, mb = rb & magnitude_mask;
    const Wide ea = ma >> F::mantissa_bits, eb = mb >> F::mantissa_bits;
    const bool fn = F::specials == formats::Specials::nan_only_fn;
    const bool finite = fn ? (ma != magnitude_mask) & (mb != magnitude_mask)
                           : (ea != L::max_exponent_field) & (eb != L::max_exponent_field);
    const Wide gap = ea - eb;
    const bool fast = (((ra ^ rb) & (Wide(1) << L::sign_shift)) == 0) & finite & (eb >= 1) & (gap >= 0) & (gap <= 8);
    const Wide hidden = Wide(1) << F::mantissa_bits;
    const Wide difference = (((ra & mantissa_mask) + hidden) << (gap & 15)) - ((rb & mantissa_mask) + hidden);
    Fast f;
    f.field = fast ? eb : Wide(-1);
    f.magnitude = fast ? (difference < 0 ? -difference : difference) : Wide(0);
    return f;
  }

  // What a row adds up over its fast coordinates (all of kind keeps_sign),
  // folded into the tallies once per row.
  struct RowFast {
    uint64_t sum = 0, max = 0;
    int64_t count = 0, large = 0;
  };
  // An item's fast coordinates per population and exponent field of b, in
  // local memory (cheaper than a scatter per coordinate), folded in by flush():
  // the count in the low 32 bits of `counts`, the moved ones in the high 32
  // (flushed before either could pass 2^32), and the largest |x|. Four lanes
  // (coordinate i into lane i % 4): consecutive coordinates mostly share a
  // binade, and one array would chain every update on the previous one.
  static constexpr int kLanes = 4;
  struct ItemFastBins {
    uint64_t counts[2][kLanes][kFields];
    uint64_t max[2][kLanes][kFields];
    int64_t since_flush;
  };
  static constexpr int64_t kFlushAt = int64_t(1) << 31;

  template <class BinAccess, class MaxAccess>
  KOKKOS_INLINE_FUNCTION static void flush(ItemFastBins& local, BinAccess& bins, MaxAccess& maxima) {
    for (int p = 0; p < 2; ++p)
      for (int lane = 0; lane < kLanes; ++lane)
        for (int field = 1; field < kFields; ++field) {
          uint64_t& counts = local.counts[p][lane][field];
          if (counts != 0) {
            const int bin = bin_of_binade(field - F::bias);
            bins(p, bin, kBinExact) += static_cast<int64_t>(counts & 0xFFFFFFFFu);
            bins(p, bin, kBinMoved) += static_cast<int64_t>(counts >> 32);
            maxima(p, bin).update(bits_of(static_cast<double>(local.max[p][lane][field])));
          }
          counts = local.max[p][lane][field] = 0;
        }
    local.since_flush = 0;
  }

  // Any other coordinate with finite a and b: the exact rules.
  template <class BinAccess, class KindAccess, class MaxAccess>
  KOKKOS_INLINE_FUNCTION void general(Bits a, Bits b, int bin, int p, int64_t t, NearZeroItem& item, BinAccess& bins,
                                      KindAccess& kinds, MaxAccess& maxima) const {
    const int kind = zero_kind(a, b);
    const formats::ExactX x = formats::exact_x<F>(a, b, m_zero_rule);
    const double d = formats::to_double(x);
    const double magnitude = d < 0 ? -d : d;
    bins(p, bin, formats::classify<F>(x, m_epsilon)) += 1;
    if (magnitude != 0.0) bins(p, bin, kBinMoved) += 1;
    if (kind != kKeepsSign) bins(p, bin, kBinSignChange + kind - kSignChange) += 1;
    kinds(p, t, kind) += 1;
    if (above_1024(x, d)) {
      bins(p, bin, kBinAbove1024) += 1;
      kinds(p, t, kZeroKinds + kind) += 1;
    }
    const uint64_t bits = bits_of(magnitude);
    maxima(p, bin).update(bits);
    maxima(p, kStartBins + kind).update(bits);
    item.sums[p][kind == kKeepsSign ? 0 : 1].add(magnitude);
  }

  static constexpr int kChunk = 64;
  struct Chunk {
    Wide fields[kChunk], magnitudes[kChunk];
    Wide count, large;
  };

  // The fast coordinates of up to kChunk dims: fields and |x| first (a loop
  // without branches), then the item's local bins.
  KOKKOS_INLINE_FUNCTION static void fast_chunk(const Bits* from, const Bits* to, int n, int p, RowFast& fast,
                                                ItemFastBins& local, Chunk& c) {
    Wide sum = 0, max_m = 0, large = 0, count = 0;  // < 64 * 2^(mantissa_bits + 10): fits
    for (int i = 0; i < n; ++i) {
      const Fast f = fast_coordinate(to[i], from[i]);
      c.fields[i] = f.field;
      c.magnitudes[i] = f.magnitude;
      sum += f.magnitude;
      max_m = max_m > f.magnitude ? max_m : f.magnitude;
      large += f.magnitude > 1024;
      count += f.field >= 0;
    }
    c.count = count;
    c.large = large;
    fast.sum += static_cast<uint64_t>(sum);
    fast.max = fast.max > static_cast<uint64_t>(max_m) ? fast.max : static_cast<uint64_t>(max_m);
    fast.large += large;
    fast.count += count;
    for (int i = 0; i < n; ++i) {
      if (c.fields[i] < 0) continue;
      const uint64_t m = static_cast<uint64_t>(c.magnitudes[i]);
      local.counts[p][i % kLanes][c.fields[i]] += 1u + (static_cast<uint64_t>(m != 0) << 32);
      uint64_t& max = local.max[p][i % kLanes][c.fields[i]];
      max = max > m ? max : m;
    }
  }

  // One row, chunk by chunk: the fast coordinates, then the chunk's others by
  // the exact rules and its rare |x| > 1024 (b far below the move).
  template <class BinAccess, class KindAccess, class MaxAccess>
  KOKKOS_INLINE_FUNCTION void row(const Bits* from, const Bits* to, int p, int64_t t, NearZeroItem& item,
                                  ItemFastBins& local, BinAccess& bins, KindAccess& kinds, MaxAccess& maxima) const {
    if (local.since_flush + m_dims > kFlushAt) flush(local, bins, maxima);
    local.since_flush += m_dims;
    RowFast fast;
    Chunk c;
    for (int64_t d = 0; d < m_dims; d += kChunk) {
      const int n = static_cast<int>(m_dims - d < kChunk ? m_dims - d : kChunk);
      fast_chunk(from + d, to + d, n, p, fast, local, c);
      for (int i = 0; i < n && c.count < n; ++i) {
        if (c.fields[i] >= 0) continue;
        const Bits a = to[d + i], b = from[d + i];
        const int bin = start_bin(b);
        if (bin == kNonfiniteBin || !L::is_finite(a)) bins(p, bin, kBinNonfinite) += 1;
        else general(a, b, bin, p, t, item, bins, kinds, maxima);
      }
      for (int i = 0; i < n && c.large > 0; ++i)
        if (c.fields[i] >= 0 && c.magnitudes[i] > 1024)
          bins(p, bin_of_binade(static_cast<int>(c.fields[i]) - F::bias), kBinAbove1024) += 1;
    }
    if (fast.count > 0) {
      kinds(p, t, kKeepsSign) += fast.count;
      kinds(p, t, kZeroKinds + kKeepsSign) += fast.large;
      maxima(p, kStartBins + kKeepsSign).update(bits_of(static_cast<double>(fast.max)));
      item.sums[p][0].add_integer(fast.sum);
    }
  }

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t index) const {
    const int64_t t = index / m_items_per_transition;
    const int64_t chunk = index % m_items_per_transition;
    const int64_t begin = chunk * kTokensPerItem;
    const int64_t end = begin + kTokensPerItem < m_tokens ? begin + kTokensPerItem : m_tokens;
    auto bins = m_bins.access();
    auto kinds = m_kinds.access();
    auto maxima = m_maxima.access();
    NearZeroItem item;
    item.reset();
    ItemFastBins local;
    for (int p = 0; p < 2; ++p)
      for (int lane = 0; lane < kLanes; ++lane)
        for (int field = 0; field < kFields; ++field) local.counts[p][lane][field] = local.max[p][lane][field] = 0;
    local.since_flush = 0;
    for (int64_t n = begin; n < end; ++n)
      row(&m_values(t, n, 0), &m_values(t + 1, n, 0), m_dead(n) ? kDead : kLive, t, item, local, bins, kinds, maxima);
    flush(local, bins, maxima);
    m_items(t, chunk) = item;
  }
};

template <class F>
typename NearZeroFunctor<F>::Values typed_values(const RawBlockValues& block) {
  const Kokkos::LayoutStride layout(static_cast<size_t>(block.steps), static_cast<size_t>(block.step_stride),
                                    static_cast<size_t>(block.tokens), static_cast<size_t>(block.dims),
                                    static_cast<size_t>(block.dims), 1);
  return typename NearZeroFunctor<F>::Values(static_cast<const typename F::bits_type*>(block.data), layout);
}

// Zeroes `view` and runs `body` with a scatter view onto it, whose
// contributions are then folded into `view`.
template <class Scatter, class View, class Body>
void scattered(View view, const Body& body) {
  Kokkos::deep_copy(view, 0);
  Scatter scatter(view);
  body(scatter);
  Kokkos::Experimental::contribute(view, scatter);
}

}  // namespace

NearZeroBlockOutputs::NearZeroBlockOutputs(int64_t max_transitions, int64_t items_per_transition)
    : bins("latdisp::near_zero::bins", 2, kStartBins, kBinFields),
      kinds("latdisp::near_zero::kinds", 2, max_transitions, kKindFields),
      maxima("latdisp::near_zero::maxima", 2, kMaximaSlots),
      items("latdisp::near_zero::items", max_transitions, items_per_transition) {}

int64_t near_zero_items_per_transition(int64_t tokens) { return (tokens + kTokensPerItem - 1) / kTokensPerItem; }

void near_zero_block(const RawBlockValues& block, const TokenFlags& dead, const KernelSettings& settings,
                     NearZeroBlockOutputs& outputs) {
  formats::dispatch_element_type(block.type, [&](auto traits) {
    using F = decltype(traits);
    NearZeroFunctor<F> functor;
    functor.m_values = typed_values<F>(block);
    functor.m_dead = dead;
    functor.m_items = outputs.items;
    functor.m_epsilon = settings.epsilon;
    functor.m_zero_rule = static_cast<formats::ZeroUlp>(static_cast<int>(settings.zero_ulp));
    functor.m_tokens = block.tokens;
    functor.m_dims = block.dims;
    functor.m_items_per_transition = near_zero_items_per_transition(block.tokens);
    scattered<ScatterBins>(outputs.bins, [&](const ScatterBins& bins) {
      scattered<ScatterBins>(outputs.kinds, [&](const ScatterBins& kinds) {
        scattered<ScatterMaxima>(outputs.maxima, [&](const ScatterMaxima& maxima) {
          functor.m_bins = bins;
          functor.m_kinds = kinds;
          functor.m_maxima = maxima;
          Kokkos::parallel_for("latdisp::near_zero::block",
                               Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<int64_t>>(0, functor.items()),
                               functor);
          Kokkos::fence();
        });
      });
    });
  });
}

}  // namespace latdisp
