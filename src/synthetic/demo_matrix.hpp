// `latdisp generate --matrix`: a demo embedding matrix (tokens x dims, BF16
// safetensors) with planted groups of bit-identical tokens, the input that
// `blackholes`, `inspect` and `separation` are shown on.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "config/generate_config.hpp"

namespace latdisp {

struct DemoMatrixModel {
  uint64_t seed = 1;
  int64_t tokens = 0;
  int64_t dims = 0;
  int64_t groups = 4;        // planted groups
  int64_t group_size = 200;  // size of the smallest; group g has group_size + (groups-1-g) * step
};

// The planted structure, a pure function of the model:
// - group g (0-based) has group_size + (groups - 1 - g) * max(1, group_size / 4)
//   members, so sizes are distinct and `blackholes` reports group g as bh{g+1};
// - members of a group are bit-identical; groups 0 .. groups-2 sit 128 ULP apart
//   (one binade: same mantissa) in every `active_dims` coordinate (g * 128 from
//   group 0), and the last group equals the one before it except in
//   `notebook_dim`, where they hold the notebook's -1.708984e-03 (bits 0xBAE0)
//   and -1.701355e-03 (0xBADF), 1 ULP apart;
// - every other token has its own random row.
struct PlantedGroups {
  std::vector<std::vector<int64_t>> members;  // ascending ids
  std::vector<int64_t> active_dims;           // ascending
  int64_t notebook_dim = 0;
  std::vector<int32_t> group_of_token;      // -1: not planted
  std::vector<std::vector<uint16_t>> rows;  // one row per group
};

int64_t planted_group_size(const DemoMatrixModel& model, int64_t group);
PlantedGroups planted_groups(const DemoMatrixModel& model);

// Row `token` of the matrix.
void demo_row(const DemoMatrixModel& model, const PlantedGroups& planted, int64_t token, uint16_t* row);

// The model `generate --matrix` writes: options' seed, shape and planted groups.
DemoMatrixModel demo_matrix_model(const GenerateConfig& options);

// The safetensors header of the matrix (tensor `options.dataset`, BF16, with
// the planted structure in its metadata) and where the rows start after it.
struct DemoMatrixHeader {
  std::string text;
  int64_t data_start = 0;
};
DemoMatrixHeader demo_matrix_header(const GenerateConfig& options, const DemoMatrixModel& model,
                                    const PlantedGroups& planted);

// Collective: the header and every row into a new file at `path` (its space
// reserved first), every rank its own rows (MPI-IO). Throws Error on failure.
void write_demo_matrix(const DemoMatrixModel& model, const PlantedGroups& planted, const DemoMatrixHeader& header,
                       const std::string& path, MPI_Comm comm);

// The summary of what was written and planted, on stdout.
void print_matrix_summary(const GenerateConfig& options, const DemoMatrixModel& model, const PlantedGroups& planted);

}  // namespace latdisp
