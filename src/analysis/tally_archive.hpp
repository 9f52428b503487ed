// Checkpoint fields of the kernel's tally aggregates (docs/formats.md §13):
// each piece of state that holds them saves them here.
#pragma once

#include <string>

#include "io/checkpoint_archive.hpp"
#include "kokkos_kernels/displacement_tally.hpp"

namespace latdisp {

void save_tally(ArchiveWriter& archive, const std::string& name, const PopulationTally& tally);
void load_tally(ArchiveReader& archive, const std::string& name, PopulationTally& tally);
void save_tally(ArchiveWriter& archive, const std::string& name, const UlpTally& tally);
void load_tally(ArchiveReader& archive, const std::string& name, UlpTally& tally);

}  // namespace latdisp
