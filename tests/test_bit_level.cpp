// The bit-level subcommands: the notebook's printed example, ULP distance
// against a brute-force oracle, safetensors validation, token groups, and
// blackholes / separation / inspect on the planted demo matrix, at whatever
// rank count this runs.
#include <gtest/gtest.h>

#include <hdf5.h>
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "app/run_generate.hpp"
#include "bits/blackholes.hpp"
#include "bits/identical_rows.hpp"
#include "bits/inspect.hpp"
#include "bits/separation.hpp"
#include "io/hdf5_handles.hpp"
#include "io/matrix_source.hpp"
#include "io/safetensors.hpp"
#include "io/token_groups.hpp"
#include "kokkos_kernels/bf16_lattice.hpp"
#include "kokkos_kernels/hash64.hpp"
#include "parallel/errors.hpp"
#include "synthetic/demo_matrix.hpp"
#include "test_support.hpp"

namespace latdisp {

namespace {

using testing::world_rank;

std::string test_file(const std::string& name) { return testing::test_file("bitlevel_" + name); }

// Rank 0 writes a safetensors file holding `W` (BF16, rows x cols).
void write_matrix(const std::string& path, int64_t rows, int64_t cols, const std::vector<uint16_t>& values) {
  if (world_rank() == 0) {
    const std::string header = build_safetensors_header({{"W", "BF16", {rows, cols}}}, {}, nullptr);
    std::ofstream out(path, std::ios::binary);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * 2));
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

// The demo matrix, written collectively; returns its model.
DemoMatrixModel write_demo(const std::string& path, int64_t tokens, int64_t dims, int64_t groups, int64_t size) {
  GenerateConfig options;
  options.output = path;
  options.matrix = true;
  options.tokens = tokens;
  options.dims = dims;
  options.planted_groups = groups;
  options.group_size = size;
  options.seed = 7;
  options.overwrite = true;
  run_generate_matrix(options, MPI_COMM_WORLD);
  DemoMatrixModel model;
  model.seed = 7;
  model.tokens = tokens;
  model.dims = dims;
  model.groups = groups;
  model.group_size = size;
  return model;
}

// The true order of all non-NaN bfloat16 values, by brute force: sort them by
// their (exact, double) values; +0 and -0 share a rank.
std::map<double, int64_t> lattice_ranks() {
  std::vector<double> values;
  for (uint32_t b = 0; b < 65536; ++b)
    if (!bf16::is_nan(static_cast<uint16_t>(b)))
      values.push_back(static_cast<double>(bf16::to_float(static_cast<uint16_t>(b))));
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  std::map<double, int64_t> ranks;
  for (size_t i = 0; i < values.size(); ++i) ranks[values[i]] = static_cast<int64_t>(i);
  return ranks;
}

}  // namespace

TEST(BitLevel, NotebookExample) {
  EXPECT_EQ(format_bits(0xBAE0), "1|01110101|1100000");
  EXPECT_EQ(format_value(0xBAE0), "-1.708984e-03");
  EXPECT_EQ(bf16::sign_bit(0xBAE0), 1);
  EXPECT_EQ(bf16::exponent_field(0xBAE0), 117);
  EXPECT_EQ(bf16::mantissa_field(0xBAE0), 96);
  EXPECT_EQ(format_bits(0xBADF), "1|01110101|1011111");
  EXPECT_EQ(format_value(0xBADF), "-1.701355e-03");
  EXPECT_EQ(bf16::mantissa_field(0xBADF), 95);
  const PairDifference d = pair_difference(0xBAE0, 0xBADF);
  ASSERT_TRUE(d.ulp.has_value());
  EXPECT_EQ(*d.ulp, 1);             // one lattice cell up (towards zero)
  EXPECT_EQ(d.raw_difference, -1);  // the raw uint16 difference has the wrong sign
  EXPECT_EQ(d.mantissa_difference, -1);
  EXPECT_EQ(d.exponent_difference, 0);
  EXPECT_FALSE(d.sign_differs);
  EXPECT_EQ(format_value(0x7F80), "+inf");
  EXPECT_EQ(format_value(0xFFC0), "nan");
  EXPECT_FALSE(ulp_distance(0x7FC1, 0x3F80).has_value());
}

TEST(BitLevel, UlpDistanceMatchesBruteForceOracle) {
  const std::map<double, int64_t> ranks = lattice_ranks();
  std::vector<uint16_t> patterns;
  const uint16_t magnitudes[] = {0x0000, 0x0001, 0x0002, 0x003F, 0x007E, 0x007F, 0x0080, 0x0081, 0x00FF,
                                 0x0100, 0x0101, 0x3AE0, 0x3ADF, 0x3F7F, 0x3F80, 0x3F81, 0x3FFF, 0x4000,
                                 0x4380, 0x43FF, 0x4400, 0x7F00, 0x7F7E, 0x7F7F, 0x7F80};
  for (uint16_t m : magnitudes) {
    patterns.push_back(m);
    patterns.push_back(static_cast<uint16_t>(m | 0x8000));
  }
  int64_t checked = 0;
  for (uint16_t a : patterns)
    for (uint16_t b : patterns) {
      const std::optional<int64_t> d = ulp_distance(a, b);
      ASSERT_TRUE(d.has_value());
      const int64_t expected =
          ranks.at(static_cast<double>(bf16::to_float(b))) - ranks.at(static_cast<double>(bf16::to_float(a)));
      ASSERT_EQ(*d, expected) << std::hex << a << " -> " << b;
      ++checked;
    }
  EXPECT_EQ(checked, static_cast<int64_t>(patterns.size() * patterns.size()));
  // Across zero: the smallest subnormals of either sign are 2 cells apart, the
  // raw bits 0x8001 - 0x0001 = 32768 apart.
  EXPECT_EQ(*ulp_distance(0x8001, 0x0001), 2);
  EXPECT_EQ(*ulp_distance(0x8000, 0x0000), 0);
  // Across a binade: 128 cells is one binade, same mantissa.
  EXPECT_EQ(*ulp_distance(0x3F80, 0x4000), 128);
}

// Every format's fields, values and lattice distances, worked out by hand
// (values checked with Python's struct for f16 / f32).
TEST(BitLevel, OtherFormatsFieldsValuesAndDistances) {
  using formats::ElementType;
  const PatternRules f16 = pattern_rules(ElementType::f16), f32 = pattern_rules(ElementType::f32);
  const PatternRules e4m3 = pattern_rules(ElementType::f8e4m3), e5m2 = pattern_rules(ElementType::f8e5m2);
  EXPECT_EQ(format_bits(f16, 0x3C01), "0|01111|0000000001");
  EXPECT_EQ(format_value(f16, 0x3C01), "+1.000977e+00");
  EXPECT_EQ(format_value(f16, 0x8001), "-5.960464e-08");
  EXPECT_EQ(format_value(f16, 0xFC00), "-inf");
  EXPECT_EQ(*ulp_distance(f16, 0x8001, 0x0001), 2);
  EXPECT_EQ(*ulp_distance(f16, 0x7BFF, 0x7C00), 1);  // Inf one past the largest finite value
  EXPECT_FALSE(ulp_distance(f16, 0x7C01, 0x3C00).has_value());
  EXPECT_EQ(format_bits(f32, 0x3F800001), "0|01111111|00000000000000000000001");
  EXPECT_EQ(format_value(f32, 0x3F800001), "+1.000000e+00");
  EXPECT_EQ(*ulp_distance(f32, 0x3F800000, 0x40000000), 8388608);
  EXPECT_EQ(*ulp_distance(f32, 0xFF7FFFFF, 0x7F7FFFFF), int64_t(2) * 0x7F7FFFFF);  // beyond int32
  const PairDifference d32 = pair_difference(f32, 0x7F7FFFFF, 0xFF7FFFFF);
  EXPECT_EQ(d32.raw_difference, int64_t(0x80000000));
  EXPECT_EQ(*d32.ulp, -int64_t(2) * 0x7F7FFFFF);
  EXPECT_EQ(format_bits(e4m3, 0x7E), "0|1111|110");
  EXPECT_EQ(format_value(e4m3, 0x7E), "+4.480000e+02");  // E4M3FN: the top binade is normal
  EXPECT_EQ(format_value(e4m3, 0x81), "-1.953125e-03");
  EXPECT_EQ(format_value(e4m3, 0x7F), "nan");
  EXPECT_EQ(*ulp_distance(e4m3, 0xFE, 0x7E), 252);
  EXPECT_FALSE(ulp_distance(e4m3, 0x7F, 0x00).has_value());
  EXPECT_EQ(format_bits(e5m2, 0x7B), "0|11110|11");
  EXPECT_EQ(format_value(e5m2, 0x7B), "+5.734400e+04");
  EXPECT_EQ(format_value(e5m2, 0x7C), "+inf");
  const PairDifference d8 = pair_difference(e5m2, 0x84, 0x05);  // -2^-14 -> +1.25 * 2^-14
  EXPECT_TRUE(d8.sign_differs);
  EXPECT_EQ(d8.exponent_difference, 0);
  EXPECT_EQ(d8.mantissa_difference, 1);
  EXPECT_EQ(d8.raw_difference, -127);
  EXPECT_EQ(*d8.ulp, 9);
}

TEST(BitLevel, SafetensorsHeaderValidation) {
  const std::string path = "x.safetensors";
  // `data_bytes` after the header.
  auto expect_bad = [&](const std::string& json, int64_t data_bytes, const std::string& needle) {
    try {
      parse_safetensors_header(path, json, 8 + static_cast<int64_t>(json.size()) + data_bytes);
      ADD_FAILURE() << "accepted: " << json;
    } catch (const Error& e) {
      EXPECT_EQ(e.exit_code(), kExitInput);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  const int64_t header = 8 + 100;
  std::string good = R"({"W":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]}})";
  good.resize(100, ' ');
  const SafetensorsFile file = parse_safetensors_header(path, good, header + 12);
  ASSERT_NE(file.find("W"), nullptr);
  EXPECT_EQ(file.find("W")->begin, header);
  expect_bad(R"({"W":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]})", 12, "not valid JSON");
  expect_bad(R"([1,2])", 12, "not an object");
  expect_bad(R"({"W":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]}})", 11, "past the end");
  expect_bad(R"({"W":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,10]}})", 12, "needs 12 bytes");
  expect_bad(R"({"W":{"dtype":"XX","shape":[2,3],"data_offsets":[0,12]}})", 12, "unknown dtype");
  expect_bad(R"({"W":{"dtype":"BF16","shape":[-2,3],"data_offsets":[0,12]}})", 12, "non-negative");
  expect_bad(R"({"W":{"dtype":"BF16","shape":[2,3],"data_offsets":[12,0]}})", 12, "begin <= end");
  expect_bad(R"({"W":{"dtype":"BF16","shape":[2,3]}})", 12, "data_offsets");
  expect_bad(R"({"A":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]},)"
             R"("B":{"dtype":"U8","shape":[4],"data_offsets":[8,12]}})",
             12, "overlap");
  expect_bad(R"({"__metadata__":{"a":1}})", 0, "not a string");
  expect_bad(R"({"W":{"dtype":"BF16","shape":[4611686018427387904,4],"data_offsets":[0,12]}})", 12, "impossibly large");
}

TEST(BitLevel, TokenGroupsRoundTripInNaturalOrder) {
  EXPECT_TRUE(natural_less("bh2_token_ids", "bh10_token_ids"));
  EXPECT_FALSE(natural_less("bh10_token_ids", "bh2_token_ids"));
  EXPECT_TRUE(natural_less("bh1_token_ids", "bh2_token_ids"));
  const std::vector<TokenGroup> groups = {
      {"bh10_token_ids", {5, 6}}, {"bh2_token_ids", {9, 1, 3}}, {"bh1_token_ids", {0}}};
  for (const bool hdf5 : {false, true}) {
    const std::string path = test_file(hdf5 ? "groups.h5" : "groups.safetensors");
    if (world_rank() == 0)
      write_token_groups(path, hdf5 ? OutputFormat::hdf5 : OutputFormat::safetensors, groups, {{"note", "test"}});
    MPI_Barrier(MPI_COMM_WORLD);
    const std::vector<TokenGroup> back = read_token_groups(path);
    ASSERT_EQ(back.size(), 3u);
    EXPECT_EQ(back[0].name, "bh1_token_ids");
    EXPECT_EQ(back[1].name, "bh2_token_ids");
    EXPECT_EQ(back[2].name, "bh10_token_ids");
    EXPECT_EQ(back[1].tokens, (std::vector<int64_t>{9, 1, 3}));
    MPI_Barrier(MPI_COMM_WORLD);
  }
  EXPECT_EQ(parse_index_list("0,5,7-9", "--dims"), (std::vector<int64_t>{0, 5, 7, 8, 9}));
  EXPECT_THROW(parse_index_list("1,,2", "--dims"), Error);
  EXPECT_THROW(check_token_groups({{"g", {}}}, 10, "m"), Error);
  EXPECT_THROW(check_token_groups({{"g", {10}}}, 10, "m"), Error);
}

TEST(BitLevel, MatrixLocationParsing) {
  MatrixLocation l = parse_matrix_location("dir:x/m.h5:W@3");
  EXPECT_EQ(l.path, "dir:x/m.h5");
  EXPECT_EQ(l.name, "W");
  EXPECT_EQ(l.step, 3);
  l = parse_matrix_location("m.safetensors");
  EXPECT_EQ(l.name, "W");
  EXPECT_EQ(l.step, -1);
  l = parse_matrix_location("m.safetensors:embed");
  EXPECT_EQ(l.name, "embed");
  EXPECT_THROW(parse_matrix_location("m.h5@x"), Error);
}

TEST(BitLevel, BlackholesFindExactlyThePlantedGroups) {
  const std::string path = test_file("demo.safetensors");
  const DemoMatrixModel model = write_demo(path, 3001, 24, 4, 40);
  const PlantedGroups planted = planted_groups(model);
  const MatrixSource matrix(MPI_COMM_WORLD, path);
  for (const uint64_t mask : {~uint64_t(0), uint64_t(3), uint64_t(0)}) {
    BlackholeSearch search;
    search.hash_mask = mask;
    search.chunk_bytes = 24 * 2 * 100;  // several chunks per rank
    const BlackholeResult result = find_blackholes(matrix, search, MPI_COMM_WORLD);
    ASSERT_EQ(result.groups.size(), 4u) << "mask " << mask;
    for (size_t g = 0; g < 4; ++g) EXPECT_EQ(result.groups[g], planted.members[g]) << "mask " << mask;
    if (mask != ~uint64_t(0)) {
      EXPECT_GT(result.collision_buckets, 0);
    }
  }
  BlackholeSearch big;
  big.min_size = 71;  // only the groups of 70+ members: sizes are 70, 60, 50, 40
  EXPECT_EQ(find_blackholes(matrix, big, MPI_COMM_WORLD).groups.size(), 0u);
  big.min_size = 60;
  EXPECT_EQ(find_blackholes(matrix, big, MPI_COMM_WORLD).groups.size(), 2u);
}

TEST(BitLevel, ForcedCollisionsSeparateRowsOneUlpApart) {
  // Rows: 0..9 in pairs of near-twins; the twins differ by 1 ULP in one dim
  // except rows 2/3 and 6/7, which are identical; rows 8, 9 equal row 0.
  const int64_t rows = 10, cols = 5;
  std::vector<uint16_t> values(rows * cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) values[r * cols + c] = static_cast<uint16_t>(0x3F80 + (r / 2) * 3 + c);
  values[1 * cols + 4] += 1;
  values[5 * cols + 0] ^= 0x8000;  // a sign flip
  for (int64_t c = 0; c < cols; ++c) values[8 * cols + c] = values[9 * cols + c] = values[c];
  const std::string path = test_file("twins.safetensors");
  write_matrix(path, rows, cols, values);
  const MatrixSource matrix(MPI_COMM_WORLD, path);
  for (const uint64_t mask : {~uint64_t(0), uint64_t(0)}) {
    BlackholeSearch search;
    search.hash_mask = mask;
    const BlackholeResult result = find_blackholes(matrix, search, MPI_COMM_WORLD);
    ASSERT_EQ(result.groups.size(), 3u);
    EXPECT_EQ(result.groups[0], (std::vector<int64_t>{0, 8, 9}));
    EXPECT_EQ(result.groups[1], (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(result.groups[2], (std::vector<int64_t>{6, 7}));
  }
}

TEST(BitLevel, SeparationAndInspectOnTheDemoMatrix) {
  const std::string path = test_file("demo_sep.safetensors");
  const DemoMatrixModel model = write_demo(path, 900, 16, 4, 20);
  const PlantedGroups planted = planted_groups(model);
  std::vector<TokenGroup> groups;
  for (size_t g = 0; g < planted.members.size(); ++g)
    groups.push_back({"bh" + std::to_string(g + 1) + "_token_ids", planted.members[g]});
  // A fifth group: group 0 plus one member of group 1 (128 ULP away in 5 dims).
  TokenGroup mixed{"bh5_token_ids", planted.members[0]};
  mixed.tokens.push_back(planted.members[1][0]);
  groups.push_back(mixed);

  const SeparationResult result = separate_groups(path, groups, 64, MPI_COMM_WORLD);
  if (world_rank() == 0) {
    ASSERT_EQ(result.spreads.size(), 5u);
    for (size_t g = 0; g < 4; ++g) EXPECT_EQ(result.spreads[g].differing_members, 0);
    EXPECT_EQ(result.spreads[4].differing_members, 1);
    EXPECT_EQ(result.spreads[4].spread_ulp, 128);
    EXPECT_EQ(result.spreads[4].spread_dims, 5);
    ASSERT_EQ(result.pairs.size(), 10u);
    const PairSeparation& p01 = result.pairs[0];
    EXPECT_EQ(p01.active_dims, 5);
    EXPECT_EQ(p01.common_distance(), 128);
    EXPECT_EQ(p01.active_dim_list, planted.active_dims);
    const PairSeparation& p02 = result.pairs[1];
    EXPECT_EQ(p02.common_distance(), 256);
    // pairs in order (0,1) (0,2) (0,3) (0,4) (1,2) (1,3) (1,4) (2,3): groups 2 and 3
    const PairSeparation& p23 = result.pairs[7];
    EXPECT_EQ(p23.first, 2u);
    EXPECT_EQ(p23.second, 3u);
    EXPECT_EQ(p23.common_distance(), 1);
    EXPECT_EQ(p23.active_dim_list, std::vector<int64_t>{planted.notebook_dim});
    const PairSeparation& p04 = result.pairs[3];
    EXPECT_EQ(p04.active_dims, 0);
    std::vector<int64_t> union_dims = planted.active_dims;
    union_dims.push_back(planted.notebook_dim);
    std::sort(union_dims.begin(), union_dims.end());
    EXPECT_EQ(result.active_dims, union_dims);
    EXPECT_NE(separation_text(result).find("exactly 128 ULP in every active dimension"), std::string::npos);
  }

  groups.pop_back();
  const InspectTable table =
      inspect_matrix(path, groups, {planted.notebook_dim, planted.active_dims[0]}, MPI_COMM_WORLD);
  EXPECT_EQ(table.at(0, 2), 0xBAE0);
  EXPECT_EQ(table.at(0, 3), 0xBADF);
  EXPECT_EQ(*ulp_distance(table.at(1, 0), table.at(1, 1)), 128);
  const std::string text = inspect_text(table);
  EXPECT_NE(text.find("-1.708984e-03   1|01110101|1100000"), std::string::npos) << text;
  EXPECT_NE(text.find("-1.701355e-03   1|01110101|1011111"), std::string::npos) << text;
  EXPECT_NE(inspect_json(table).find("\"ulp_distance\": 1"), std::string::npos);
  // Bad groups and dims: the same Error on every rank.
  EXPECT_THROW(inspect_matrix(path, {{"g", {900}}}, {0}, MPI_COMM_WORLD), Error);
  EXPECT_THROW(inspect_matrix(path, {{"g", {0}}}, {16}, MPI_COMM_WORLD), Error);
}

TEST(BitLevel, Hdf5StepSourceMatchesTheSafetensorsRows) {
  // W[3, 6, 4] as uint16; step 1 has rows 0 == 3 and 1 == 4 == 5.
  const hsize_t steps = 3, rows = 6, cols = 4;
  std::vector<uint16_t> values(steps * rows * cols);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<uint16_t>(0x3C00 + i);
  auto row = [&](hsize_t s, hsize_t r) { return &values[(s * rows + r) * cols]; };
  std::copy_n(row(1, 0), cols, row(1, 3));
  std::copy_n(row(1, 1), cols, row(1, 4));
  std::copy_n(row(1, 1), cols, row(1, 5));
  const std::string path = test_file("steps.h5");
  if (world_rank() == 0) {
    Hdf5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    const hsize_t shape[3] = {steps, rows, cols};
    Hdf5Handle space(H5Screate_simple(3, shape, nullptr), H5Sclose);
    Hdf5Handle w(H5Dcreate2(file.get(), "W", H5T_STD_U16LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                 H5Dclose);
    H5Dwrite(w.get(), H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
  }
  MPI_Barrier(MPI_COMM_WORLD);
  const MatrixSource matrix(MPI_COMM_WORLD, path + ":W@1");
  EXPECT_EQ(matrix.rows(), 6);
  EXPECT_EQ(matrix.cols(), 4);
  std::vector<uint16_t> got(2 * cols);
  matrix.read_rows({2, 3}, got.data());
  EXPECT_TRUE(std::equal(got.begin(), got.begin() + cols, row(1, 2)));
  const BlackholeResult result = find_blackholes(matrix, BlackholeSearch{}, MPI_COMM_WORLD);
  ASSERT_EQ(result.groups.size(), 2u);
  EXPECT_EQ(result.groups[0], (std::vector<int64_t>{1, 4, 5}));
  EXPECT_EQ(result.groups[1], (std::vector<int64_t>{0, 3}));
  EXPECT_THROW(MatrixSource(MPI_COMM_WORLD, path), Error);           // 3-D without @STEP
  EXPECT_THROW(MatrixSource(MPI_COMM_WORLD, path + ":W@3"), Error);  // step out of range
  EXPECT_THROW(MatrixSource(MPI_COMM_WORLD, path + ":V@1"), Error);  // no such dataset
}

// The distributed search on in-memory blocks against a plain std::map of
// row bytes per step, with every collision forced (mask 0), with a few hash
// bits, and on rows whose order follows the token ids (pivots must not
// depend on it).
TEST(BitLevel, IdenticalRowsMatchAMapOfRowBytes) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  const int64_t steps = 5, tokens = 301, dims = 3;
  for (const bool ordered : {false, true}) {
    std::vector<uint16_t> w(static_cast<size_t>(steps * tokens * dims));
    for (int64_t s = 0; s < steps; ++s)
      for (int64_t t = 0; t < tokens; ++t)
        for (int64_t d = 0; d < dims; ++d) {
          const uint64_t h = splitmix64(static_cast<uint64_t>((s * tokens + t) * dims + d));
          const uint16_t random_value = static_cast<uint16_t>(0x3F80 + h % (s + 2));  // few values: many groups
          const uint16_t ordered_value = static_cast<uint16_t>(0x3F80 + (d == 0 ? t / (s + 2) : 0));
          w[static_cast<size_t>((s * tokens + t) * dims + d)] = ordered ? ordered_value : random_value;
        }
    const TokenRange slab = token_range(tokens, rank, ranks);
    std::vector<uint16_t> mine;
    for (int64_t s = 0; s < steps; ++s)
      mine.insert(mine.end(), w.begin() + (s * tokens + slab.begin) * dims,
                  w.begin() + (s * tokens + slab.begin + slab.count) * dims);
    const SlabBlock block{mine.data(), steps, slab, tokens, dims};
    for (const uint64_t mask : {~uint64_t(0), uint64_t(7), uint64_t(0)})
      for (const int64_t min_size : {2, 3}) {
        RowSearchBuffers buffers;
        RowSearchStats stats;
        const std::vector<StepGroups> got =
            find_identical_rows(block, RowSearchSettings{min_size, mask}, buffers, stats, MPI_COMM_WORLD);
        int64_t collisions = stats.collision_buckets;  // this rank's share
        MPI_Allreduce(MPI_IN_PLACE, &collisions, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
        if (rank != 0) continue;
        ASSERT_EQ(got.size(), static_cast<size_t>(steps));
        for (int64_t s = 0; s < steps; ++s) {
          std::map<std::vector<uint16_t>, std::vector<int64_t>> by_row;
          for (int64_t t = 0; t < tokens; ++t) {
            const auto row = w.begin() + (s * tokens + t) * dims;
            by_row[std::vector<uint16_t>(row, row + dims)].push_back(t);
          }
          StepGroups expected;
          for (const auto& [row, members] : by_row)
            if (static_cast<int64_t>(members.size()) >= min_size) expected.push_back(members);
          std::sort(expected.begin(), expected.end());  // by first token (members are disjoint)
          EXPECT_EQ(got[s], expected) << "step " << s << " mask " << mask << " ordered " << ordered;
        }
        if (mask == 0) {
          EXPECT_GT(collisions, 0);
        }
      }
  }
}

}  // namespace latdisp
