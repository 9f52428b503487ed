// The hashing kernel of `blackholes`: one 64-bit hash per row of a block of
// rows (raw bfloat16 bits). It runs on the host execution space: the rows
// arrive there from the reader, and the hashes are routed over MPI from there.
#pragma once

#include <Kokkos_Core.hpp>

#include <cstdint>

namespace latdisp {

using HostRows =
    Kokkos::View<const uint16_t**, Kokkos::LayoutRight, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
using HostRowHashes = Kokkos::View<uint64_t*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

// hashes(i) = row_hash(rows(i, :)) & mask; a narrow mask forces collisions
// (a testing hook: the exact verification must separate them).
void hash_rows(const HostRows& rows, uint64_t mask, const HostRowHashes& hashes);

}  // namespace latdisp
