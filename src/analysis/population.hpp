// The token populations of analyze (docs/definitions.md §12) and the one
// translation between the pass's and the result's. The kernel and each rank's
// state keep live and dead tokens apart (Population: live 0, dead 1,
// kokkos_kernels/displacement_tally.hpp); the result and every report give
// all tokens first, then live and dead (MagnitudePopulation: all 0, live 1,
// dead 2), all tokens being live + dead.
#pragma once

#include <array>

#include "kokkos_kernels/displacement_tally.hpp"

namespace latdisp {

enum MagnitudePopulation : int { kAllTokens = 0, kLiveTokens = 1, kDeadTokens = 2 };

constexpr int kPassPopulations = 2;    // Population: live, dead
constexpr int kResultPopulations = 3;  // MagnitudePopulation: all, live, dead

// The result's population of the pass's live or dead tokens.
constexpr MagnitudePopulation result_population(Population pass) { return pass == kDead ? kDeadTokens : kLiveTokens; }

// The pass's population of a token by its dead flag.
constexpr Population pass_population(bool dead) { return dead ? kDead : kLive; }

// A result population's name in every report: the JSON's keys "live" and
// "dead" (all tokens at the top), the prefixes of the --series-csv columns,
// the text report's labels and the checkpoint's field names (docs/report.md,
// docs/formats.md §10, §13).
constexpr const char* population_name(int population) {
  constexpr const char* kNames[kResultPopulations] = {"all", "live", "dead"};
  return kNames[population];
}

// A pass population's name (its result population's).
constexpr const char* population_name(Population pass) { return population_name(int(result_population(pass))); }

// The result's three populations from the pass's live and dead parts: those
// two as they are, all tokens their merge (Part::merge).
template <class Part>
std::array<Part, kResultPopulations> by_result_population(const std::array<Part, kPassPopulations>& pass) {
  std::array<Part, kResultPopulations> result;
  for (const Population p : {kLive, kDead}) result[result_population(p)] = pass[p];
  result[kAllTokens] = pass[kLive];
  result[kAllTokens].merge(pass[kDead]);
  return result;
}

}  // namespace latdisp
