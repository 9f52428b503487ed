#include "analysis/tally_archive.hpp"

#include <vector>

namespace latdisp {

void save_tally(ArchiveWriter& archive, const std::string& name, const PopulationTally& tally) {
  archive.put_ints(name + ".counts", tally.counts, kNumTallyCounts);
  archive.put_doubles(name + ".extremes", {tally.min, tally.max, tally.max_abs, tally.int_min, tally.int_max});
  archive.put_int(name + ".width", tally.width);
}

void load_tally(ArchiveReader& archive, const std::string& name, PopulationTally& tally) {
  archive.get_ints_into(name + ".counts", tally.counts, kNumTallyCounts);
  const std::vector<double> extremes = archive.get_doubles(name + ".extremes", 5);
  tally.min = extremes[0];
  tally.max = extremes[1];
  tally.max_abs = extremes[2];
  tally.int_min = extremes[3];
  tally.int_max = extremes[4];
  tally.width = static_cast<int32_t>(archive.get_int(name + ".width"));
}

void save_tally(ArchiveWriter& archive, const std::string& name, const UlpTally& tally) {
  archive.put_ints(name, {tally.zeros, tally.subnormals, tally.nonfinite, tally.min_exponent, tally.max_exponent});
}

void load_tally(ArchiveReader& archive, const std::string& name, UlpTally& tally) {
  const std::vector<int64_t> values = archive.get_ints(name, 5);
  tally.zeros = values[0];
  tally.subnormals = values[1];
  tally.nonfinite = values[2];
  tally.min_exponent = static_cast<int32_t>(values[3]);
  tally.max_exponent = static_cast<int32_t>(values[4]);
}

}  // namespace latdisp
