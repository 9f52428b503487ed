// End-to-end analysis: a hand-built file with answers worked out by hand, and
// generated files against a scalar oracle, at whatever rank count this runs.
#include <gtest/gtest.h>

#include <hdf5.h>
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "config/kernel_settings.hpp"
#include "config/save_dtype.hpp"
#include "analysis/analyze.hpp"
#include "kokkos_kernels/bf16_lattice.hpp"
#include "app/run_generate.hpp"
#include "io/hdf5_handles.hpp"
#include "report/report.hpp"
#include "test_support.hpp"

namespace latdisp {

namespace {

using testing::test_file;
using testing::world_rank;
using testing::world_size;

// Rank 0 writes W (uint16) and, if given, dead_mask as h5py's bool.
void write_trajectory(const std::string& path, hsize_t steps, hsize_t tokens, hsize_t dims,
                      const std::vector<uint16_t>& values, const std::vector<uint8_t>& dead) {
  if (world_rank() == 0) {
    Hdf5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    const hsize_t shape[3] = {steps, tokens, dims};
    Hdf5Handle space(H5Screate_simple(3, shape, nullptr), H5Sclose);
    Hdf5Handle w(H5Dcreate2(file.get(), "W", H5T_STD_U16LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                 H5Dclose);
    H5Dwrite(w.get(), H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
    if (!dead.empty()) {
      const Hdf5Handle bool_type = h5py_bool_type();
      Hdf5Handle mask_space(H5Screate_simple(1, &tokens, nullptr), H5Sclose);
      Hdf5Handle mask(
          H5Dcreate2(file.get(), "dead_mask", bool_type.get(), mask_space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
          H5Dclose);
      H5Dwrite(mask.get(), bool_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, dead.data());
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

AnalyzeConfig options_for(const std::string& path) {
  AnalyzeConfig options;
  options.input.path = path;
  options.memory.progress_seconds = 0;
  return options;
}

nlohmann::json without_run(const AnalysisResult& result) {
  nlohmann::json report = json_report(result);
  report.erase("run");
  return report;
}

// The hand-built trajectory (S=3, N=4, D=2), bfloat16 bits:
//   token 0 (live): d0 1.0 -> 1.0078125 -> 1.0   x = +1, -1
//                   d1 1.0 -> 0.99609375 -> 1.0  x = -0.5 (finer binade), +1; crosses twice
//   token 1 (live): d0 1.0 -> -1.0 -> -1.0       x = -256, 0
//                   d1 2.0 -> 2.0 -> 2.0         x = 0, 0
//   token 2 (dead): d0 0 -> 2^-133 -> 2^-133     x = 2^-7 (zero's ULP 2^-126), 0
//                   d1 0 -> 0 -> 0               x = 0, 0
//   token 3 (dead): d0 Inf -> Inf -> 1.0         non-finite twice; crosses once
//                   d1 1.0 -> 1.0 -> 1.0         x = 0, 0
std::vector<uint16_t> hand_built_values() {
  // [step][token][dim]
  return {0x3F80, 0x3F80, 0x3F80, 0x4000, 0x0000, 0x0000, 0x7F80, 0x3F80,   // step 0
          0x3F81, 0x3F7F, 0xBF80, 0x4000, 0x0001, 0x0000, 0x7F80, 0x3F80,   // step 1
          0x3F80, 0x3F80, 0xBF80, 0x4000, 0x0001, 0x0000, 0x3F80, 0x3F80};  // step 2
}

}  // namespace

TEST(AnalyzeHandBuilt, CountsRangesAndVerdicts) {
  const std::string path = test_file("hand_built.h5");
  write_trajectory(path, 3, 4, 2, hand_built_values(), {0, 0, 1, 1});
  const AnalysisResult r = analyze_trajectory(options_for(path), MPI_COMM_WORLD);
  if (world_rank() != 0) return;

  const PopulationTally& all = r.displacement[kAllTokens].tally;
  const PopulationTally& live = r.displacement[kLiveTokens].tally;
  const PopulationTally& dead = r.displacement[kDeadTokens].tally;
  EXPECT_EQ(all.counts[kCountExact], 12);
  EXPECT_EQ(all.counts[kCountAlmost], 0);
  EXPECT_EQ(all.counts[kCountHalf], 1);
  EXPECT_EQ(all.counts[kCountNonInteger], 1);
  EXPECT_EQ(all.counts[kCountNonfinite], 2);
  EXPECT_EQ(all.counts[kCountMoved], 6);
  EXPECT_EQ(live.counts[kCountExact], 7);
  EXPECT_EQ(live.counts[kCountHalf], 1);
  EXPECT_EQ(dead.counts[kCountExact], 5);
  EXPECT_EQ(dead.counts[kCountNonInteger], 1);
  EXPECT_EQ(dead.counts[kCountNonfinite], 2);
  EXPECT_EQ(verdict_of(all), "GENERAL_QUARTERS");
  EXPECT_EQ(verdict_of(live), "HALF_INTEGERS");
  EXPECT_EQ(verdict_of(dead), "GENERAL_QUARTERS");
  EXPECT_EQ(all.min, -256.0);
  EXPECT_EQ(all.max, 1.0);
  EXPECT_EQ(all.max_abs, 256.0);
  EXPECT_EQ(all.int_min, -256.0);
  EXPECT_EQ(all.int_max, 1.0);
  EXPECT_EQ(std::string(integer_dtype_name(all.width)), "int16");
  EXPECT_EQ(dead.max, 0.0078125);
  EXPECT_EQ(dead.int_max, 0.0);  // round_half_even(2^-7) = 0
  EXPECT_EQ(std::string(integer_dtype_name(dead.width)), "int8");
  EXPECT_EQ(all.counts[kCountDisagreements], 0);

  // Crossings, per step and live/dead.
  EXPECT_EQ(all.counts[kCountCrossed], 3);
  EXPECT_EQ(live.counts[kCountCrossed], 2);
  EXPECT_EQ(dead.counts[kCountCrossed], 1);
  EXPECT_EQ(r.displacement[kLiveTokens].series[kCountCrossed], (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(r.displacement[kDeadTokens].series[kCountCrossed], (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(r.displacement[kAllTokens].series[kCountExact], (std::vector<int64_t>{5, 7}));
  EXPECT_EQ(r.displacement[kAllTokens].series[kCountHalf], (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(r.displacement[kAllTokens].series[kCountNonfinite], (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(r.displacement[kAllTokens].series[kCountMoved], (std::vector<int64_t>{4, 2}));

  // U over all 24 values.
  EXPECT_EQ(r.ulp.zeros, 4);
  EXPECT_EQ(r.ulp.subnormals, 2);
  EXPECT_EQ(r.ulp.nonfinite, 2);
  EXPECT_EQ(r.ulp.min_exponent, -133);
  EXPECT_EQ(r.ulp.max_exponent, -6);  // 2.0 has ULP 2^-6

  // Magnitudes: live rows sqrt(1.25), 256, sqrt(2), 0; dead rows 2^-7, 0 and
  // two non-finite rows.
  const MagnitudeSummary& m = r.magnitude[kAllTokens];
  EXPECT_EQ(m.count, 6);
  EXPECT_EQ(m.nonfinite, 2);
  EXPECT_EQ(*m.min, 0.0);
  EXPECT_EQ(*m.max, 256.0);
  const double sorted[6] = {0.0, 0.0, 0.0078125, std::sqrt(1.25), std::sqrt(2.0), 256.0};
  EXPECT_EQ(*m.median, (sorted[2] + sorted[3]) / 2.0);
  const long double exact_sum = static_cast<long double>(std::sqrt(1.25)) + 256.0L + std::sqrt(2.0) + 0.0078125L;
  EXPECT_EQ(*m.mean, static_cast<double>(exact_sum) / 6.0);
  // np.percentile(sorted, 90): index 4.5 -> 1.4142... + (256 - 1.4142...) * 0.5, two-sided lerp (t >= 0.5).
  EXPECT_EQ(*m.percentiles[1], 256.0 - (256.0 - std::sqrt(2.0)) * 0.5);
  EXPECT_EQ(m.zero_count, 2);
  EXPECT_EQ(m.log2_lo, -7);
  std::vector<int64_t> histogram(16, 0);
  histogram[0] = 1;   // 2^-7
  histogram[7] = 2;   // [1, 2): sqrt(1.25), sqrt(2)
  histogram[15] = 1;  // 256
  EXPECT_EQ(m.histogram, histogram);
  EXPECT_EQ(r.magnitude[kLiveTokens].count, 4);
  EXPECT_EQ(r.magnitude[kDeadTokens].nonfinite, 2);
  ASSERT_EQ(m.per_step_max.size(), 2u);
  EXPECT_EQ(*m.per_step_max[0], 256.0);
  EXPECT_EQ(*m.per_step_max[1], std::sqrt(2.0));
  EXPECT_EQ(*r.magnitude[kDeadTokens].per_step_mean[1], 0.0);
}

TEST(AnalyzeHandBuilt, MinSubnormalZeroUlpAndEpsilon) {
  const std::string path = test_file("hand_built_rules.h5");
  write_trajectory(path, 3, 4, 2, hand_built_values(), {0, 0, 1, 1});
  AnalyzeConfig options = options_for(path);
  options.kernel.zero_ulp = bf16::ZeroUlp::min_subnormal;
  const AnalysisResult r = analyze_trajectory(options, MPI_COMM_WORLD);
  if (world_rank() == 0) {
    // 0 -> 2^-133 is now one whole cell.
    EXPECT_EQ(r.displacement[kDeadTokens].tally.counts[kCountExact], 6);
    EXPECT_EQ(verdict_of(r.displacement[kDeadTokens].tally), "PERFECT");
    EXPECT_EQ(verdict_of(r.displacement[kAllTokens].tally), "HALF_INTEGERS");
  }
  // A huge epsilon: 2^-7 is 'almost' an integer, -0.5 still 'half' (first match wins).
  options = options_for(path);
  options.kernel.epsilon = 0.01;
  const AnalysisResult wide = analyze_trajectory(options, MPI_COMM_WORLD);
  if (world_rank() == 0) {
    EXPECT_EQ(wide.displacement[kAllTokens].tally.counts[kCountAlmost], 1);
    EXPECT_EQ(wide.displacement[kAllTokens].tally.counts[kCountHalf], 1);
  }
}

TEST(AnalyzeHandBuilt, MissingDeadMaskMeansAllLive) {
  const std::string path = test_file("hand_built_no_mask.h5");
  write_trajectory(path, 3, 4, 2, hand_built_values(), {});
  const AnalysisResult r = analyze_trajectory(options_for(path), MPI_COMM_WORLD);
  if (world_rank() != 0) return;
  EXPECT_FALSE(r.dead_mask_found);
  EXPECT_EQ(r.n_dead, 0);
  EXPECT_EQ(r.displacement[kLiveTokens].tally.counts[kCountExact], 12);
  EXPECT_EQ(r.displacement[kDeadTokens].tally.counts[kCountExact], 0);
  EXPECT_FALSE(r.magnitude[kDeadTokens].mean.has_value());
}

namespace {

// A scalar oracle over the whole file, independent of the kernel's tiling,
// step blocks, reductions and order statistics.
struct Oracle {
  std::map<std::string, int64_t> counts[3];
  std::vector<double> magnitudes[3];
  double min[3], max[3];
};

Oracle oracle_of(const std::string& path, const AnalyzeConfig& options) {
  Hdf5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  Hdf5Handle w(H5Dopen2(file.get(), "W", H5P_DEFAULT), H5Dclose);
  Hdf5Handle space(H5Dget_space(w.get()), H5Sclose);
  hsize_t shape[3];
  H5Sget_simple_extent_dims(space.get(), shape, nullptr);
  std::vector<uint16_t> values(shape[0] * shape[1] * shape[2]);
  H5Dread(w.get(), H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
  Hdf5Handle mask(H5Dopen2(file.get(), "dead_mask", H5P_DEFAULT), H5Dclose);
  std::vector<uint8_t> dead(shape[1]);
  const Hdf5Handle bool_type = h5py_bool_type();
  H5Dread(mask.get(), bool_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, dead.data());

  const auto zero_rule = options.kernel.zero_ulp;
  Oracle o;
  for (int p = 0; p < 3; ++p) o.min[p] = INFINITY, o.max[p] = -INFINITY;
  const char* names[] = {"exact", "almost", "half", "non_integer", "nonfinite"};
  for (hsize_t t = 0; t + 1 < shape[0]; ++t)
    for (hsize_t n = 0; n < shape[1]; ++n) {
      const int population = dead[n] ? kDeadTokens : kLiveTokens;
      double sum_of_squares = 0;
      bool finite_row = true;
      for (hsize_t d = 0; d < shape[2]; ++d) {
        const uint16_t b = values[(t * shape[1] + n) * shape[2] + d];
        const uint16_t a = values[((t + 1) * shape[1] + n) * shape[2] + d];
        std::string klass = "nonfinite";
        if (bf16::is_finite(a) && bf16::is_finite(b)) {
          const bf16::ExactDisplacement x = bf16::exact_displacement(a, b, zero_rule);
          klass = names[bf16::classify(x, options.kernel.epsilon)];
          const double v = bf16::to_double(x);
          sum_of_squares += v * v;
          for (int p : {int(kAllTokens), population}) {
            o.min[p] = std::min(o.min[p], v);
            o.max[p] = std::max(o.max[p], v);
            o.counts[p]["moved"] += v != 0;
          }
        } else {
          finite_row = false;
        }
        for (int p : {int(kAllTokens), population}) {
          o.counts[p][klass] += 1;
          o.counts[p]["crossed"] += bf16::exponent_field(a) != bf16::exponent_field(b);
        }
      }
      if (finite_row)
        for (int p : {int(kAllTokens), population}) o.magnitudes[p].push_back(std::sqrt(sum_of_squares));
    }
  for (auto& m : o.magnitudes) std::sort(m.begin(), m.end());
  return o;
}

void expect_matches_oracle(const AnalysisResult& r, const Oracle& o) {
  const char* names[] = {"exact", "almost", "half", "non_integer", "nonfinite"};
  for (int p = 0; p < 3; ++p) {
    const PopulationTally& t = r.displacement[p].tally;
    for (int c = kCountExact; c <= kCountNonfinite; ++c)
      EXPECT_EQ(t.counts[c], o.counts[p].count(names[c]) ? o.counts[p].at(names[c]) : 0) << p << names[c];
    EXPECT_EQ(t.counts[kCountMoved], o.counts[p].count("moved") ? o.counts[p].at("moved") : 0);
    EXPECT_EQ(t.counts[kCountCrossed], o.counts[p].count("crossed") ? o.counts[p].at("crossed") : 0);
    EXPECT_EQ(t.min, o.min[p]);
    EXPECT_EQ(t.max, o.max[p]);
    const std::vector<double>& m = o.magnitudes[p];
    EXPECT_EQ(r.magnitude[p].count, static_cast<int64_t>(m.size()));
    if (m.empty()) continue;
    // The oracle sums squares in plain order, the kernel in numpy's pairwise
    // order: equal for integer rows, within rounding otherwise.
    EXPECT_DOUBLE_EQ(*r.magnitude[p].min, m.front());
    EXPECT_DOUBLE_EQ(*r.magnitude[p].max, m.back());
    for (size_t q = 0; q < kPercentiles.size(); ++q) {
      const PercentileRecipe recipe = numpy_percentile_recipe(static_cast<int64_t>(m.size()), kPercentiles[q]);
      const double expected =
          numpy_lerp(m[static_cast<size_t>(recipe.lower)], m[static_cast<size_t>(recipe.upper)], recipe.gamma);
      EXPECT_NEAR(*r.magnitude[p].percentiles[q], expected, 1e-12 * std::fabs(expected)) << kPercentiles[q];
    }
  }
}

}  // namespace

TEST(AnalyzeGenerated, MatchesScalarOracleForAnyBudget) {
  const std::string path = test_file("generated_special.h5");
  GenerateConfig generate;
  generate.output = path;
  generate.steps = 13;
  generate.tokens = 50;
  generate.dims = 40;
  generate.special = true;
  generate.overwrite = true;
  generate.seed = 5;
  ASSERT_EQ(run_generate(generate, MPI_COMM_WORLD), 0);

  for (const char* zero_ulp : {"min-normal", "min-subnormal"}) {
    AnalyzeConfig options = options_for(path);
    options.kernel.zero_ulp = parse_zero_ulp(zero_ulp);
    const AnalysisResult whole = analyze_trajectory(options, MPI_COMM_WORLD);
    options.memory.max_steps_per_block = 2;  // twelve blocks, magnitudes spilled to disk
    options.spill_magnitudes = true;
    const AnalysisResult streamed = analyze_trajectory(options, MPI_COMM_WORLD);
    options.memory.max_steps_per_block = 5;
    options.kernel.tokens_per_item = 3;
    const AnalysisResult retiled = analyze_trajectory(options, MPI_COMM_WORLD);
    if (world_rank() != 0) continue;
    EXPECT_EQ(streamed.steps_per_block, 2);
    EXPECT_FALSE(streamed.magnitudes_in_memory);
    EXPECT_EQ(without_run(whole), without_run(streamed));
    EXPECT_EQ(without_run(whole), without_run(retiled));
    expect_matches_oracle(whole, oracle_of(path, options));
    EXPECT_GT(whole.displacement[kAllTokens].tally.counts[kCountNonfinite], 0);
  }
}

// Every way step blocks reach the kernel gives the same result: read into
// buffers, mapped, and read directly (the default for a contiguous W), whose
// blocks go through the kernel in parts of a few steps (1 MiB steps here: a
// part of one or two transitions), block boundaries anywhere.
TEST(AnalyzeGenerated, ReadMethodsAndStagedPartsAgree) {
  const std::string path = test_file("generated_wide_steps.h5");
  GenerateConfig generate;
  generate.output = path;
  generate.steps = 9;
  generate.tokens = 2048;
  generate.dims = 256;
  generate.special = true;
  generate.overwrite = true;
  generate.seed = 11;
  ASSERT_EQ(run_generate(generate, MPI_COMM_WORLD), 0);
  AnalyzeConfig options = options_for(path);
  options.outputs.per_token = "tokens.csv";  // keeps the per-token motion records (nothing is written here)
  const AnalysisResult direct = analyze_trajectory(options, MPI_COMM_WORLD);
  options.memory.max_steps_per_block = 4;
  const AnalysisResult direct_blocks = analyze_trajectory(options, MPI_COMM_WORLD);
  options.read_method = ReadMethod::map;
  const AnalysisResult mapped = analyze_trajectory(options, MPI_COMM_WORLD);
  options.read_method = ReadMethod::read;
  options.memory.max_steps_per_block = 0;
  const AnalysisResult read = analyze_trajectory(options, MPI_COMM_WORLD);
  EXPECT_EQ(direct.block_source, BlockSource::direct);
  EXPECT_EQ(mapped.block_source, BlockSource::mapped);
  EXPECT_EQ(read.block_source, BlockSource::read);
  for (const AnalysisResult* other : {&direct_blocks, &mapped, &read}) {
    ASSERT_EQ(other->per_token.records.size(), direct.per_token.records.size());
    for (size_t n = 0; n < direct.per_token.records.size(); ++n) {
      const TokenMotion &a = direct.per_token.records[n], &b = other->per_token.records[n];
      EXPECT_EQ(std::vector<int64_t>({a.hops, a.thermal, a.frozen, a.nonfinite_rows, a.first_moved, a.last_moved,
                                      a.crossings, a.non_integer, a.half, a.final_frozen_run}),
                std::vector<int64_t>({b.hops, b.thermal, b.frozen, b.nonfinite_rows, b.first_moved, b.last_moved,
                                      b.crossings, b.non_integer, b.half, b.final_frozen_run}))
          << n;
      EXPECT_EQ(a.max_magnitude, b.max_magnitude) << n;
    }
    if (world_rank() == 0) {
      EXPECT_EQ(without_run(direct), without_run(*other));
    }
  }
  if (world_rank() == 0) expect_matches_oracle(direct, oracle_of(path, options));
}

// Where time went: each rank's phases follow one another from its process's
// start (they add up to `wall`), each in its place: a pause after every block
// is block_pause, not compute; the timing keys are sums of phases.
TEST(AnalyzeTimings, PhasesAddUpAndKeepTheirPlace) {
  const std::string path = test_file("generated_timed.h5");
  GenerateConfig generate;
  generate.output = path;
  generate.steps = 7;
  generate.tokens = 40;
  generate.dims = 8;
  generate.overwrite = true;
  ASSERT_EQ(run_generate(generate, MPI_COMM_WORLD), 0);
  AnalyzeConfig options = options_for(path);
  options.memory.max_steps_per_block = 4;  // two blocks
  options.checkpoint.block_pause = 0.1;
  const AnalysisResult r = analyze_trajectory(options, MPI_COMM_WORLD);
  if (world_rank() != 0) return;
  const PhaseSummary& p = r.timings.phases;
  std::vector<std::string> names = {kStartupPhase, kInitPhase};
  names.insert(names.end(), analysis_phases().begin(), analysis_phases().end());
  ASSERT_EQ(p.phases.size(), names.size());
  double added = 0;
  for (size_t n = 0; n < names.size(); ++n) {
    const PhaseSeconds& phase = p.phases[n];
    EXPECT_EQ(phase.name, names[n]);
    EXPECT_GE(phase.rank_0, 0);
    EXPECT_LE(phase.rank_0, phase.max);
    EXPECT_LE(phase.max, phase.sum + 1e-12);
    EXPECT_LE(phase.sum, phase.max * world_size() + 1e-12);
    added += phase.rank_0;
  }
  EXPECT_DOUBLE_EQ(p.wall, added);
  EXPECT_GE(p.rank_0("block_pause"), 0.2);
  EXPECT_LT(p.rank_0("block_pause"), 0.2 + 1.0);
  EXPECT_LT(r.timings.compute, p.rank_0("block_pause"));  // a tiny W: the pauses outlast the kernel
  EXPECT_DOUBLE_EQ(r.timings.read, p.rank_0("wait"));
  EXPECT_DOUBLE_EQ(r.timings.near_zero, p.rank_0("near_zero"));
  EXPECT_DOUBLE_EQ(r.timings.compute, p.rank_0_sum({"kernel", "near_zero", "fold", "agree", "imbalance"}));
  EXPECT_DOUBLE_EQ(r.timings.total, p.wall - p.rank_0_sum({kStartupPhase, kInitPhase}));
  EXPECT_GT(p.rank_0("kernel"), 0);
  ASSERT_EQ(p.concurrent.size(), 1u);
  EXPECT_EQ(p.concurrent[0].name, "read_busy");
  EXPECT_GE(p.concurrent[0].rank_0, 0);
  EXPECT_NE(where_time_went(p).find("block_pause 0."), std::string::npos) << where_time_went(p);
  // Started by analyze_trajectory itself, not from the process's start.
  EXPECT_EQ(p.rank_0(kStartupPhase), 0);
  EXPECT_EQ(p.rank_0(kInitPhase), 0);
}

}  // namespace latdisp

namespace latdisp {

// The notebook's quirks, one per token (S=2, N=5, D=1, epsilon 0.01):
//   t0 1.0078125 -> 4.0      exact x = 383; bf16(a - b) rounds 383 cells to 384
//   t1 300 -> 302            exact x = 1; the notebook's ULP of 300 (even mantissa in [256, 512)) is 0: x = +Inf
//   t2 302 -> 304            x = 1 both ways (odd mantissa: the notebook's ULP is 2)
//   t3 0 -> 2^-133           x = 2^-7 both ways: 'almost' for epsilon 0.01
//   t4 0 -> -2^-133          x = -2^-7: 'almost' by distance, but floor-based the notebook sees 0.992: non-integer
TEST(AnalyzeSeedArithmetic, NotebookQuirksAndDisagreements) {
  const std::string path = testing::test_file("seed_quirks.h5");
  write_trajectory(path, 2, 5, 1, {0x3F81, 0x4396, 0x4397, 0x0000, 0x0000, 0x4080, 0x4397, 0x4398, 0x0001, 0x8001}, {});
  AnalyzeConfig options = options_for(path);
  options.kernel.epsilon = 0.01;
  const AnalysisResult exact = analyze_trajectory(options, MPI_COMM_WORLD);
  options.kernel.arithmetic = Arithmetic::seed;
  const AnalysisResult seed = analyze_trajectory(options, MPI_COMM_WORLD);
  if (world_rank() != 0) return;
  const PopulationTally& e = exact.displacement[kAllTokens].tally;
  EXPECT_EQ(e.counts[kCountExact], 3);
  EXPECT_EQ(e.counts[kCountAlmost], 2);
  EXPECT_EQ(e.max, 383.0);
  const PopulationTally& s = seed.displacement[kAllTokens].tally;
  EXPECT_EQ(s.counts[kCountExact], 2);
  EXPECT_EQ(s.counts[kCountAlmost], 1);
  EXPECT_EQ(s.counts[kCountNonInteger], 1);
  EXPECT_EQ(s.counts[kCountNonfinite], 1);
  EXPECT_EQ(s.max, 384.0);
  EXPECT_EQ(seed.magnitude[kAllTokens].nonfinite, 1);  // the row holds the Inf
  EXPECT_EQ(seed.ulp.min_exponent, kZeroUlpExponent);  // U_seed(300) = 0
  for (const PopulationTally* t : {&e, &s}) {
    EXPECT_EQ(t->counts[kCountDisagreements], 3);
    EXPECT_EQ(t->counts[kCountCauseRounding], 1);
    EXPECT_EQ(t->counts[kCountCauseUlpRule], 1);
    EXPECT_EQ(t->counts[kCountCauseFloor], 1);
  }
}

}  // namespace latdisp

namespace latdisp {

// A row whose float32 norm overflows (S=2, N=3, D=1):
//   t0 1.0 -> 2^58       seed x = bf16(2^58 - 1) / 2^-7 = 2^65, finite, but x^2 = 2^130 overflows float32,
//                        so the seed magnitude is Inf: a non-finite row; exact x = 2^65 - 2^7, finite
//   t1 1.0 -> 1.0078125  x = 1
//   t2 1.0 -> 1.0        x = 0
TEST(AnalyzeSeedArithmetic, OverflowingRowNormIsNonfinite) {
  const std::string path = testing::test_file("seed_norm_overflow.h5");
  write_trajectory(path, 2, 3, 1, {0x3F80, 0x3F80, 0x3F80, 0x5C80, 0x3F81, 0x3F80}, {});
  AnalyzeConfig options = options_for(path);
  options.kernel.arithmetic = Arithmetic::seed;
  const AnalysisResult seed = analyze_trajectory(options, MPI_COMM_WORLD);
  options.kernel.arithmetic = Arithmetic::exact;
  const AnalysisResult exact = analyze_trajectory(options, MPI_COMM_WORLD);
  if (world_rank() != 0) return;
  const MagnitudeSummary& s = seed.magnitude[kAllTokens];
  EXPECT_EQ(s.nonfinite, 1);
  EXPECT_EQ(s.count, 2);
  EXPECT_EQ(*s.max, 1.0);
  EXPECT_EQ(*s.mean, 0.5);
  EXPECT_EQ(seed.displacement[kAllTokens].tally.counts[kCountExact], 3);  // 2^65 is an integer x
  EXPECT_EQ(seed.displacement[kAllTokens].tally.max, std::ldexp(1.0, 65));
  const MagnitudeSummary& e = exact.magnitude[kAllTokens];
  EXPECT_EQ(e.nonfinite, 0);
  EXPECT_EQ(e.count, 3);
  EXPECT_EQ(*e.max, std::ldexp(1.0, 65) - 128.0);
  // One disagreement either way: the bfloat16 rounding of 2^58 - 1.
  for (const AnalysisResult* r : {&seed, &exact}) {
    EXPECT_EQ(r->displacement[kAllTokens].tally.counts[kCountDisagreements], 1);
    EXPECT_EQ(r->displacement[kAllTokens].tally.counts[kCountCauseRounding], 1);
  }
}

// Disagreements compare the seed side (2^-126 for a zero, always) with the
// report's own x under the --zero-ulp in force (S=2, N=4, D=1):
//   t0 0 -> 2^-133     seed x = 2^-7; exact x = 2^-7 (min-normal) or 1 (min-subnormal)
//   t1 0 -> 0          x = 0 both ways
//   t2 0 -> 1.0        seed x = 2^126; exact x = 2^126 (min-normal) or 2^133 (min-subnormal)
//   t3 1.0 -> 1.0078125  x = 1 both ways
// Under min-subnormal every move away from a zero disagrees, by the ULP rule.
TEST(AnalyzeSeedArithmetic, DisagreementsFollowTheZeroUlpInForce) {
  const std::string path = testing::test_file("zero_ulp_disagreements.h5");
  write_trajectory(path, 2, 4, 1, {0x0000, 0x0000, 0x0000, 0x3F80, 0x0001, 0x0000, 0x3F80, 0x3F81}, {});
  AnalyzeConfig options = options_for(path);
  const AnalysisResult normal = analyze_trajectory(options, MPI_COMM_WORLD);
  options.kernel.zero_ulp = bf16::ZeroUlp::min_subnormal;
  const AnalysisResult subnormal = analyze_trajectory(options, MPI_COMM_WORLD);
  options.kernel.arithmetic = Arithmetic::seed;
  const AnalysisResult seed_subnormal = analyze_trajectory(options, MPI_COMM_WORLD);
  if (world_rank() != 0) return;
  EXPECT_EQ(normal.displacement[kAllTokens].tally.counts[kCountDisagreements], 0);
  for (const AnalysisResult* r : {&subnormal, &seed_subnormal}) {
    const PopulationTally& t = r->displacement[kAllTokens].tally;
    EXPECT_EQ(t.counts[kCountDisagreements], 2);
    EXPECT_EQ(t.counts[kCountCauseUlpRule], 2);
    EXPECT_EQ(t.counts[kCountCauseRounding], 0);
    EXPECT_EQ(t.counts[kCountCauseFloor], 0);
  }
  EXPECT_EQ(subnormal.displacement[kAllTokens].tally.max, std::ldexp(1.0, 133));
}

}  // namespace latdisp
