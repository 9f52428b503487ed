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

  // The common case from the bits alone: a and b finite, nonzero, of one
  // sign, a in b's binade or b normal and a up to 8 binades above it; then x
  // is an integer (|x| < 2^33), returned as |x|; -1 otherwise.
  KOKKOS_INLINE_FUNCTION static int64_t fast_magnitude(Bits a, Bits b) {
    if (L::sign_bit(a) != L::sign_bit(b) || L::is_zero(a) || L::is_zero(b) || !L::is_finite(a) || !L::is_finite(b))
      return -1;
    const int ea = L::exponent_field(a), eb = L::exponent_field(b);
    if (ea == eb) {
      const int64_t d = static_cast<int64_t>(L::magnitude_bits(a)) - static_cast<int64_t>(L::magnitude_bits(b));
      return d < 0 ? -d : d;
    }
    if (eb < 1 || ea < eb || ea - eb > 8) return -1;
    const int64_t hidden = int64_t(1) << F::mantissa_bits;
    return ((static_cast<int64_t>(L::mantissa_field(a)) + hidden) << (ea - eb)) -
           (static_cast<int64_t>(L::mantissa_field(b)) + hidden);
  }

  // What a row adds up over its fast coordinates (all of kind keeps_sign),
  // folded into the tallies once per row.
  struct RowFast {
    uint64_t sum = 0, max = 0;
    int64_t count = 0, large = 0;
  };
  // An item's fast coordinates per population and start bin, in local memory
  // (cheaper than a scatter per coordinate), folded in once per item.
  struct ItemFastBins {
    int64_t exact[2][kStartBins];
    int64_t moved[2][kStartBins];
    uint64_t max[2][kStartBins];
  };

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

  template <class BinAccess, class KindAccess, class MaxAccess>
  KOKKOS_INLINE_FUNCTION void coordinate(Bits a, Bits b, int p, int64_t t, NearZeroItem& item, RowFast& fast,
                                         ItemFastBins& local, BinAccess& bins, KindAccess& kinds,
                                         MaxAccess& maxima) const {
    const int bin = start_bin(b);
    const int64_t magnitude = fast_magnitude(a, b);
    if (magnitude >= 0) {
      local.exact[p][bin] += 1;
      local.moved[p][bin] += magnitude != 0;
      const bool large = magnitude > 1024;
      if (large) bins(p, bin, kBinAbove1024) += 1;
      local.max[p][bin] = local.max[p][bin] > static_cast<uint64_t>(magnitude) ? local.max[p][bin]
                                                                                : static_cast<uint64_t>(magnitude);
      fast.sum += static_cast<uint64_t>(magnitude);
      fast.max = fast.max > static_cast<uint64_t>(magnitude) ? fast.max : static_cast<uint64_t>(magnitude);
      fast.count += 1;
      fast.large += large;
    } else if (bin == kNonfiniteBin || !L::is_finite(a)) {
      bins(p, bin, kBinNonfinite) += 1;
    } else {
      general(a, b, bin, p, t, item, bins, kinds, maxima);
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
      for (int bin = 0; bin < kStartBins; ++bin) local.exact[p][bin] = local.moved[p][bin] = local.max[p][bin] = 0;
    for (int64_t n = begin; n < end; ++n) {
      const Bits* from = &m_values(t, n, 0);
      const Bits* to = &m_values(t + 1, n, 0);
      const int p = m_dead(n) ? kDead : kLive;
      RowFast fast;
      for (int64_t d = 0; d < m_dims; ++d) coordinate(to[d], from[d], p, t, item, fast, local, bins, kinds, maxima);
      if (fast.count > 0) {
        kinds(p, t, kKeepsSign) += fast.count;
        kinds(p, t, kZeroKinds + kKeepsSign) += fast.large;
        maxima(p, kStartBins + kKeepsSign).update(bits_of(static_cast<double>(fast.max)));
        item.sums[p][0].add_integer(fast.sum);
      }
    }
    for (int p = 0; p < 2; ++p)
      for (int bin = 0; bin < kStartBins; ++bin)
        if (local.exact[p][bin] > 0) {
          bins(p, bin, kBinExact) += local.exact[p][bin];
          bins(p, bin, kBinMoved) += local.moved[p][bin];
          maxima(p, bin).update(bits_of(static_cast<double>(local.max[p][bin])));
        }
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
