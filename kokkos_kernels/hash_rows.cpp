#include "kokkos_kernels/hash_rows.hpp"

#include "kokkos_kernels/hash64.hpp"

namespace latdisp {

namespace {
struct HashRowsFunctor {
  HostRows m_rows;
  uint64_t m_mask;
  HostRowHashes m_hashes;
  KOKKOS_INLINE_FUNCTION void operator()(int64_t i) const {
    m_hashes(i) = row_hash(&m_rows(i, 0), static_cast<int64_t>(m_rows.extent(1))) & m_mask;
  }
};
}  // namespace

void hash_rows(const HostRows& rows, uint64_t mask, const HostRowHashes& hashes) {
  if (rows.extent(0) == 0) return;
  Kokkos::parallel_for(
      "latdisp::blackholes::hash_rows",
      Kokkos::RangePolicy<Kokkos::DefaultHostExecutionSpace, Kokkos::IndexType<int64_t>>(0, rows.extent(0)),
      HashRowsFunctor{rows, mask, hashes});
  Kokkos::fence();
}

}  // namespace latdisp
