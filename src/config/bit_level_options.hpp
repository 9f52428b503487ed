// The bit-level subcommands (inspect, separation, blackholes): their
// options, command-line descriptions and checks; parsed by
// parse_command_line in options.cpp.
#pragma once

#include <boost/program_options.hpp>

#include <cstdint>
#include <string>

namespace latdisp {

// The bit-level subcommands (docs/formats.md §6, docs/report.md §14). Matrices are FILE[:NAME][@STEP].
struct InspectOptions {
  std::string matrix;
  std::string groups;  // file of *_token_ids tensors
  std::string tokens;  // or a list of token ids
  std::string dims;    // "d1,d2,a-b"
  bool json = false;
};

struct SeparationOptions {
  std::string matrix;
  std::string groups;
  std::string tokens;
  int64_t max_groups = 64;
  bool json = false;
};

struct BlackholesOptions {
  std::string matrix;
  std::string steps;  // all | A:B[:K]; empty: one matrix (2-D, or @STEP)
  std::string dead_mask = "dead_mask";
  std::string output;
  std::string report;      // the JSON report file
  std::string series_csv;  // per-step series
  int64_t min_size = 2;
  bool overwrite = false;
  bool json = false;
  std::string memory_budget;        // empty: a safe share of the node's memory
  int64_t max_steps_per_block = 0;  // 0: as many as the budget allows
  int64_t hash_bits = 64;           // testing: fewer bits force hash collisions
};

// Throw Error(kExitUsage) with a message naming the option and the value.
void validate(const InspectOptions& options);
void validate(const SeparationOptions& options);
void validate(const BlackholesOptions& options);

boost::program_options::options_description inspect_description(InspectOptions& options);
boost::program_options::options_description separation_description(SeparationOptions& options);
boost::program_options::options_description blackholes_description(BlackholesOptions& options);

}  // namespace latdisp
