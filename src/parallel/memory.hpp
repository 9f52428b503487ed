// Memory sizes: parsing "24GiB", this process's resident memory, and the
// default per-rank budget.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace latdisp {

// "2GiB", "512MiB", "1.5G", "1000000" (bytes). Throws Error(kExitUsage)
// naming `what` (e.g. "--memory-budget").
uint64_t parse_byte_size(const std::string& text, const std::string& what = "size");
std::string format_bytes(uint64_t bytes);

uint64_t current_rss_bytes();
uint64_t peak_rss_bytes();
// Collective: every rank's peak resident memory, on rank 0.
std::vector<uint64_t> gather_peak_rss(MPI_Comm comm);

// Half of MemAvailable shared by the ranks of this node.
uint64_t default_memory_budget(MPI_Comm comm);

}  // namespace latdisp
