#include "kokkos_kernels/encode_block.hpp"

namespace latdisp {

namespace {

struct EncodeFunctor {
  BlockValues m_values;
  EncodedBlock m_out;
  KernelSettings m_settings;
  int m_width;
  int64_t m_tokens;
  int64_t m_dims;
  float m_seed_epsilon;

  KOKKOS_INLINE_FUNCTION static bool fits(int64_t v, int width) { return bf16::width_of(v) <= width; }

  // x of the driving arithmetic: its integer (if it is one) and its kind.
  KOKKOS_INLINE_FUNCTION void encode(uint16_t a, uint16_t b, int64_t& integer, uint8_t& kind) const {
    integer = 0;
    if (m_settings.arithmetic == Arithmetic::seed) {
      const float x = bf16::seed_displacement(a, b);
      const int klass = bf16::seed_classify(x, m_seed_epsilon);
      if (klass != bf16::kExact) {
        kind = static_cast<uint8_t>(klass);  // classes 1..4 match the exception kinds
        return;
      }
      const double two63 = 9223372036854775808.0;
      const double v = static_cast<double>(x);
      if (!(v >= -two63 && v < two63) || !fits(static_cast<int64_t>(v), m_width)) {
        kind = kExceptionOutOfRange;
        return;
      }
      integer = static_cast<int64_t>(v);
      kind = kNoException;
      return;
    }
    if (!bf16::is_finite(a) || !bf16::is_finite(b)) {
      kind = kExceptionNonfinite;
      return;
    }
    const bf16::ExactDisplacement x = bf16::exact_displacement(a, b, m_settings.zero_ulp);
    const int klass = bf16::classify(x, m_settings.epsilon);
    if (klass != bf16::kExact) {
      kind = static_cast<uint8_t>(klass);
      return;
    }
    const bf16::IntegerFacts facts = bf16::integer_facts(x);
    if (facts.width > m_width) {
      kind = kExceptionOutOfRange;
      return;
    }
    if (x.s < 0) {  // an integer from a finer binade: |x| < 2^9, exact in a double
      integer = static_cast<int64_t>(facts.rounded);
    } else {  // x fits int64 (so s <= 63 unless qa == 0): modulo-2^64 arithmetic gives its bits
      const uint64_t scaled = x.qa == 0 ? 0 : static_cast<uint64_t>(static_cast<int64_t>(x.qa)) << x.s;
      integer = static_cast<int64_t>(scaled - static_cast<uint64_t>(static_cast<int64_t>(x.qb)));
    }
    kind = kNoException;
  }

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t row) const {
    const int64_t t = row / m_tokens;
    const int64_t n = row % m_tokens;
    const int64_t transitions = static_cast<int64_t>(m_values.extent(0)) - 1;
    for (int64_t d = 0; d < m_dims; ++d) {
      const uint16_t b = m_values(t, n, d);
      m_out.ulps(t, n, d) = ulp_bits(b, m_settings);
      if (t == transitions) continue;  // the last step only has a ULP
      const uint16_t a = m_values(t + 1, n, d);
      int64_t integer;
      uint8_t kind;
      encode(a, b, integer, kind);
      m_out.integers(t, n, d) = integer;
      m_out.kinds(t, n, d) = kind;
      m_out.crossed(t, n, d) = bf16::exponent_field(a) != bf16::exponent_field(b) ? 1 : 0;
    }
  }
};

}  // namespace

void encode_block(const BlockValues& values, const KernelSettings& settings, int integer_width,
                  const EncodedBlock& out) {
  EncodeFunctor functor{values,
                        out,
                        settings,
                        integer_width,
                        static_cast<int64_t>(values.extent(1)),
                        static_cast<int64_t>(values.extent(2)),
                        static_cast<float>(settings.epsilon)};
  const int64_t rows = static_cast<int64_t>(values.extent(0)) * functor.m_tokens;
  Kokkos::parallel_for("latdisp::save::encode_block",
                       Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<int64_t>>(0, rows), functor);
  Kokkos::fence();
}

}  // namespace latdisp
