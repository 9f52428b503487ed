// Motion regimes and the per-token table on hand-built trajectories whose
// answers are worked out by hand (docs/definitions.md, "Motion regimes and
// freezing"), at whatever rank count this runs, with large and tiny step blocks.
#include <gtest/gtest.h>

#include <hdf5.h>
#include <mpi.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "analysis/analyze.hpp"
#include "analysis/motion.hpp"
#include "config/kernel_settings.hpp"
#include "io/hdf5_handles.hpp"
#include "report/report.hpp"
#include "test_support.hpp"

namespace latdisp {

namespace {

using testing::test_file;
using testing::world_rank;

constexpr uint16_t kOneAndAHalf = 0x3FC0;  // 1.5: ULP 2^-7, so +k in the bits is x = +k

// W[steps, tokens, dims] of bfloat16 bits; change() sets a coordinate from a step on.
struct Trajectory {
  int64_t steps, tokens, dims;
  std::vector<uint16_t> bits;
  std::vector<uint8_t> dead;

  Trajectory(int64_t s, int64_t n, int64_t d)
      : steps(s), tokens(n), dims(d), bits(static_cast<size_t>(s * n * d), kOneAndAHalf), dead(n, 0) {}
  void change(int64_t from_step, int64_t token, int64_t dim, uint16_t value) {
    for (int64_t t = from_step; t < steps; ++t) bits[static_cast<size_t>((t * tokens + token) * dims + dim)] = value;
  }
  // Moves by `cells` on the lattice of 1.5's binade at transition t (step t -> t + 1).
  void move(int64_t t, int64_t token, int64_t dim, int cells) {
    const uint16_t now = bits[static_cast<size_t>((t * tokens + token) * dims + dim)];
    change(t + 1, token, dim, static_cast<uint16_t>(now + cells));
  }

  // Rank 0 writes the file; everyone waits for it.
  std::string write(const std::string& name) const {
    const std::string path = test_file(name);
    if (world_rank() == 0) {
      Hdf5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
      const hsize_t shape[3] = {static_cast<hsize_t>(steps), static_cast<hsize_t>(tokens), static_cast<hsize_t>(dims)};
      Hdf5Handle space(H5Screate_simple(3, shape, nullptr), H5Sclose);
      Hdf5Handle w(H5Dcreate2(file.get(), "W", H5T_STD_U16LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                   H5Dclose);
      H5Dwrite(w.get(), H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, bits.data());
      const Hdf5Handle bool_type = h5py_bool_type();
      Hdf5Handle mask_space(H5Screate_simple(1, &shape[1], nullptr), H5Sclose);
      Hdf5Handle mask(
          H5Dcreate2(file.get(), "dead_mask", bool_type.get(), mask_space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
          H5Dclose);
      H5Dwrite(mask.get(), bool_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, dead.data());
    }
    MPI_Barrier(MPI_COMM_WORLD);
    return path;
  }
};

AnalysisResult analyze(const std::string& path, int64_t max_steps_per_block = 0, double hop_radius = 0,
                       const std::string& arithmetic = "exact") {
  AnalyzeConfig options;
  options.input.path = path;
  options.memory.progress_seconds = 0;
  options.outputs.per_token = "unused.csv";  // keeps the per-token table
  options.memory.max_steps_per_block = max_steps_per_block;
  options.spill_magnitudes = max_steps_per_block > 0;
  options.kernel.tokens_per_item = max_steps_per_block > 0 ? 1 : default_tokens_per_item();
  options.hop_radius = hop_radius;
  options.kernel.arithmetic = parse_arithmetic(arithmetic);
  return analyze_trajectory(options, MPI_COMM_WORLD);
}

struct Expected {
  int64_t hops, thermal, frozen, nonfinite_rows, first_moved, last_moved, crossings, non_integer, half;
  std::optional<double> max_magnitude;
  int64_t final_frozen_run;
};

// Every rank checks the rows of its own slab.
void expect_table(const AnalysisResult& r, const std::vector<Expected>& expected) {
  const PerTokenTable& table = r.per_token;
  ASSERT_EQ(table.records.size(), static_cast<size_t>(table.slab.count));
  for (int64_t i = 0; i < table.slab.count; ++i) {
    const TokenMotion& got = table.records[static_cast<size_t>(i)];
    const Expected& want = expected[static_cast<size_t>(table.slab.begin + i)];
    SCOPED_TRACE("token " + std::to_string(table.slab.begin + i));
    EXPECT_EQ(got.moved(), want.hops + want.thermal);
    EXPECT_EQ(got.hops, want.hops);
    EXPECT_EQ(got.thermal, want.thermal);
    EXPECT_EQ(got.frozen, want.frozen);
    EXPECT_EQ(got.nonfinite_rows, want.nonfinite_rows);
    EXPECT_EQ(got.first_moved, want.first_moved);
    EXPECT_EQ(got.last_moved, want.last_moved);
    EXPECT_EQ(got.crossings, want.crossings);
    EXPECT_EQ(got.non_integer, want.non_integer);
    EXPECT_EQ(got.half, want.half);
    if (want.max_magnitude)
      EXPECT_EQ(got.max_magnitude, *want.max_magnitude);
    else
      EXPECT_LT(got.max_magnitude, 0.0);  // no finite magnitude
    EXPECT_EQ(got.final_frozen_run, want.final_frozen_run);
  }
}

using Series = std::vector<int64_t>;

void expect_regimes(const PopulationResult& p, const Series& frozen, const Series& hop, const Series& thermal,
                    const Series& nonfinite) {
  EXPECT_EQ(p.series[kCountFrozenRows], frozen);
  EXPECT_EQ(p.series[kCountHopRows], hop);
  EXPECT_EQ(p.series[kCountThermalRows], thermal);
  EXPECT_EQ(p.series[kCountNonfiniteRows], nonfinite);
}

// The JSON "motion" block of a population: steps or null.
void expect_summary(const nlohmann::json& m, std::optional<int64_t> first, std::optional<int64_t> last,
                    std::optional<int64_t> last_hop, std::optional<int64_t> last_thermal,
                    std::optional<int64_t> frozen_from, int64_t freeze_steps) {
  const auto step = [](std::optional<int64_t> v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  EXPECT_EQ(m["first_motion_step"], step(first));
  EXPECT_EQ(m["last_motion_step"], step(last));
  EXPECT_EQ(m["last_hop_step"], step(last_hop));
  EXPECT_EQ(m["last_thermal_step"], step(last_thermal));
  EXPECT_EQ(m["frozen_from"], step(frozen_from));
  EXPECT_EQ(m["global_freeze_steps"], freeze_steps);
}

// S=6, N=5, D=4 (R = sqrt(4) = 2), tokens 3 and 4 dead:
//   token 0: t0 x = (2, 1, 0, -0.5) (1.0 -> 0.99609375: a half, crosses), m = sqrt(5.25): thermal;
//            t1 x = (1, -1, 1, -1), m = 2 = R exactly: hop; then frozen
//   token 1: t0 (3, 0, 0, 0) thermal; t1 frozen; t2 (0, 0, 0, 1) hop;
//            t3 1.5 -> 0.498046875: x = -128.25 (non-integer, crosses) thermal; t4 (0, -1, 0, 0) hop
//   token 2: never moves
//   token 3: d0 Inf at steps 0-1, 1.5 from step 2: t0, t1 non-finite (t1 crosses); t2 (0, 0, 2, 0) hop (m = R)
//   token 4: d0 NaN throughout: every row non-finite
Trajectory mixed_trajectory() {
  Trajectory w(6, 5, 4);
  w.dead = {0, 0, 0, 1, 1};
  w.change(0, 0, 3, 0x3F80);  // 1.0
  w.move(0, 0, 0, 2);
  w.move(0, 0, 1, 1);
  w.change(1, 0, 3, 0x3F7F);  // 0.99609375: x = -0.5 under 1.0's ULP 2^-7
  w.move(1, 0, 0, 1);
  w.move(1, 0, 1, -1);
  w.move(1, 0, 2, 1);
  w.change(2, 0, 3, 0x3F7E);  // one cell below in the finer binade: x = -1
  w.move(0, 1, 0, 3);
  w.move(2, 1, 3, 1);
  w.change(4, 1, 2, 0x3EFF);  // 0.498046875
  w.move(4, 1, 1, -1);
  w.change(0, 3, 0, 0x7F80);
  w.change(2, 3, 0, kOneAndAHalf);
  w.move(2, 3, 2, 2);
  w.change(0, 4, 0, 0x7FC0);
  return w;
}

std::vector<Expected> mixed_expected() {
  return {{1, 1, 3, 0, 0, 1, 1, 0, 1, std::sqrt(5.25), 3},
          {2, 2, 1, 0, 0, 4, 1, 1, 0, 128.25, 0},
          {0, 0, 5, 0, -1, -1, 0, 0, 0, 0.0, 5},
          {1, 0, 2, 2, 2, 2, 1, 0, 0, 2.0, 2},
          {0, 0, 0, 5, -1, -1, 0, 0, 0, std::nullopt, 0}};
}

}  // namespace

TEST(MotionHandBuilt, RegimesPerStepAndPerToken) {
  const std::string path = mixed_trajectory().write("motion_mixed.h5");
  for (int64_t block : {int64_t(0), int64_t(2)}) {
    SCOPED_TRACE("max steps per block " + std::to_string(block));
    const AnalysisResult r = analyze(path, block);
    expect_table(r, mixed_expected());
    if (world_rank() != 0) continue;
    EXPECT_EQ(r.hop_radius, 2.0);
    expect_regimes(r.displacement[kLiveTokens], {1, 2, 2, 2, 2}, {0, 1, 1, 0, 1}, {2, 0, 0, 1, 0}, {0, 0, 0, 0, 0});
    expect_regimes(r.displacement[kDeadTokens], {0, 0, 0, 1, 1}, {0, 0, 1, 0, 0}, {0, 0, 0, 0, 0}, {2, 2, 1, 1, 1});
    expect_regimes(r.displacement[kAllTokens], {1, 2, 2, 3, 3}, {0, 1, 2, 0, 1}, {2, 0, 0, 1, 0}, {2, 2, 1, 1, 1});
    const nlohmann::json motion = json_report(r)["motion"];
    EXPECT_EQ(motion["hop_radius"], 2.0);
    EXPECT_EQ(motion["frozen_rows"], 11);
    EXPECT_EQ(motion["hop_rows"], 4);
    EXPECT_EQ(motion["thermal_rows"], 3);
    EXPECT_EQ(motion["nonfinite_rows"], 7);
    EXPECT_EQ(motion["live"]["per_step"]["thermal"], nlohmann::json({2, 0, 0, 1, 0}));
    // The last transition moves: not frozen.
    expect_summary(motion, 0, 4, 4, 3, std::nullopt, 0);
    expect_summary(motion["live"], 0, 4, 4, 3, std::nullopt, 0);
    expect_summary(motion["dead"], 2, 2, 2, std::nullopt, 3, 4);
  }
}

// S=7, N=4, D=2 (R = sqrt(2)), all live; a complete freeze from t=3:
//   t0: token 0 (1, 1) m = sqrt(2) = R: hop; token 1 (1, -1) hop; token 3 (3, 0) thermal
//   t1: nothing moves; t2: token 0 (2, 0) thermal, token 1 (0, 1) hop; t3..t5: nothing moves.
TEST(MotionHandBuilt, CompleteFreezeAndTheHopRadius) {
  Trajectory w(7, 4, 2);
  w.move(0, 0, 0, 1);
  w.move(0, 0, 1, 1);
  w.move(0, 1, 0, 1);
  w.move(0, 1, 1, -1);
  w.move(0, 3, 0, 3);
  w.move(2, 0, 0, 2);
  w.move(2, 1, 1, 1);
  const std::string path = w.write("motion_freeze.h5");
  for (const std::string arithmetic : {"exact", "seed"}) {
    SCOPED_TRACE(arithmetic);
    // The seed arithmetic's magnitudes are float32 values.
    const double root2 = arithmetic == "seed" ? static_cast<double>(std::sqrt(2.0f)) : std::sqrt(2.0);
    const std::vector<Expected> expected = {{1, 1, 4, 0, 0, 2, 0, 0, 0, 2.0, 3},
                                            {2, 0, 4, 0, 0, 2, 0, 0, 0, root2, 3},
                                            {0, 0, 6, 0, -1, -1, 0, 0, 0, 0.0, 6},
                                            {0, 1, 5, 0, 0, 0, 0, 0, 0, 3.0, 5}};
    for (int64_t block : {int64_t(0), int64_t(2)}) {
      const AnalysisResult r = analyze(path, block, 0, arithmetic);
      expect_table(r, expected);
      if (world_rank() != 0) continue;
      expect_regimes(r.displacement[kLiveTokens], {1, 4, 2, 4, 4, 4}, {2, 0, 1, 0, 0, 0}, {1, 0, 1, 0, 0, 0},
                     {0, 0, 0, 0, 0, 0});
      const nlohmann::json motion = json_report(r)["motion"];
      expect_summary(motion["live"], 0, 2, 2, 2, 3, 4);
      expect_summary(motion, 0, 2, 2, 2, 3, 4);
      // No dead tokens: nothing ever moved.
      expect_summary(motion["dead"], std::nullopt, std::nullopt, std::nullopt, std::nullopt, 0, 6);
    }
  }
  // R = 2: the row (2, 0) is on the radius, a hop; (3, 0) stays thermal.
  const AnalysisResult r = analyze(path, 0, 2.0);
  if (world_rank() == 0) {
    EXPECT_EQ(r.displacement[kAllTokens].series[kCountThermalRows], (Series{1, 0, 0, 0, 0, 0}));
    EXPECT_EQ(r.displacement[kAllTokens].series[kCountHopRows], (Series{2, 0, 2, 0, 0, 0}));
    expect_summary(json_report(r)["motion"], 0, 2, 2, 0, 3, 4);
  }
}

// S=9, N=6, D=4 (R = 2): tokens 0-4 move 3 cells (thermal) at t0..t2 and
// freeze; token 5 keeps hopping one cell, back and forth, from t3 to the end.
TEST(MotionHandBuilt, JitterTail) {
  Trajectory w(9, 6, 4);
  for (int64_t t = 0; t < 3; ++t)
    for (int64_t n = 0; n < 5; ++n) w.move(t, n, static_cast<int64_t>(n % 4), 3);
  for (int64_t t = 3; t < 8; ++t) w.move(t, 5, 1, t % 2 == 1 ? 1 : -1);
  const std::string path = w.write("motion_jitter.h5");
  std::vector<Expected> expected(5, Expected{0, 3, 5, 0, 0, 2, 0, 0, 0, 3.0, 5});
  expected.push_back({5, 0, 3, 0, 3, 7, 0, 0, 0, 1.0, 0});
  for (int64_t block : {int64_t(0), int64_t(2)}) {
    const AnalysisResult r = analyze(path, block);
    expect_table(r, expected);
    if (world_rank() != 0) continue;
    expect_regimes(r.displacement[kAllTokens], {1, 1, 1, 5, 5, 5, 5, 5}, {0, 0, 0, 1, 1, 1, 1, 1},
                   {5, 5, 5, 0, 0, 0, 0, 0}, Series(8, 0));
    expect_summary(json_report(r)["motion"], 0, 7, 7, 2, std::nullopt, 0);
  }
}

// The seed arithmetic's own magnitudes: 1024 has the notebook's ULP 0, so a
// row holding it is non-finite there (x = 0/0) and finite in the exact one.
TEST(MotionHandBuilt, SeedArithmeticUsesItsOwnMagnitudes) {
  Trajectory w(3, 3, 2);      // token 2 never moves
  w.change(0, 0, 0, 0x4480);  // 1024, never moves
  w.move(0, 0, 1, 1);
  w.move(0, 1, 0, 1);
  const std::string path = w.write("motion_seed.h5");
  const AnalysisResult exact = analyze(path);
  const AnalysisResult seed = analyze(path, 0, 0, "seed");
  if (world_rank() != 0) return;
  expect_regimes(exact.displacement[kAllTokens], {1, 3}, {2, 0}, {0, 0}, {0, 0});
  expect_regimes(seed.displacement[kAllTokens], {1, 2}, {1, 0}, {0, 0}, {1, 1});
}

}  // namespace latdisp

namespace latdisp {

// R derived once for the report and for the kernel (docs/definitions.md §15):
// the exact arithmetic compares the double; seed compares the float32 of the
// option, or the correctly rounded float32 square root of D.
TEST(HopRadius, ReportedAndComparedByTheArithmetic) {
  const HopRadius exact = derive_hop_radius(0, 3, Arithmetic::exact);
  EXPECT_EQ(exact.reported, std::sqrt(3.0));
  EXPECT_EQ(exact.compared, std::sqrt(3.0));
  const HopRadius seed = derive_hop_radius(0, 3, Arithmetic::seed);
  EXPECT_EQ(seed.reported, std::sqrt(3.0));
  EXPECT_EQ(seed.compared, static_cast<double>(std::sqrt(3.0f)));
  EXPECT_NE(seed.compared, seed.reported);
  const HopRadius given = derive_hop_radius(2.1, 64, Arithmetic::seed);
  EXPECT_EQ(given.reported, 2.1);
  EXPECT_EQ(given.compared, static_cast<double>(2.1f));
  EXPECT_EQ(derive_hop_radius(2.1, 64, Arithmetic::exact).compared, 2.1);
}

}  // namespace latdisp
