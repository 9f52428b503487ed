// The checkpoint file format: every field kind round-trips bit for bit, the
// content hash does not depend on how the bytes were split, and damaged or
// mismatched files are refused with an error naming the file and the field;
// a magnitude store saved half way resumes to exactly the uninterrupted one.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "analysis/magnitude_store.hpp"
#include "io/checkpoint_archive.hpp"
#include "io/durable_file.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

std::string test_path(const std::string& name) { return std::string(LATDISP_TEST_DATA_DIR) + "/" + name; }

// Writes a small archive of every field kind; returns its content hash.
uint64_t write_sample(const std::string& path, int64_t big_count) {
  DurableFile file(path);
  ArchiveWriter archive(file);
  archive.put_int("answer", -42);
  archive.put_double("nan", std::numeric_limits<double>::quiet_NaN());
  archive.put_double("negative_zero", -0.0);
  archive.put_string("text", std::string("with\0nul", 8));
  archive.put_ints("ints", {std::numeric_limits<int64_t>::min(), 0, std::numeric_limits<int64_t>::max()});
  archive.put_doubles("doubles", {1.0, -std::numeric_limits<double>::infinity(), 5e-324});
  archive.put_bytes("bytes", {0, 1, 255});
  archive.begin_doubles("big", big_count);
  for (int64_t i = 0; i < big_count; i += 7) {
    std::vector<double> piece;
    for (int64_t j = i; j < std::min(big_count, i + 7); ++j) piece.push_back(static_cast<double>(j) / 3);
    archive.add_doubles(piece.data(), static_cast<int64_t>(piece.size()));
  }
  const uint64_t hash = archive.finish();
  file.commit();
  return hash;
}

std::string error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitUsage);
    return e.what();
  }
  return "";
}

void flip_byte(const std::string& path, long offset) {
  std::FILE* file = std::fopen(path.c_str(), "r+b");
  ASSERT_NE(file, nullptr);
  std::fseek(file, offset, SEEK_SET);
  const int byte = std::fgetc(file);
  std::fseek(file, offset, SEEK_SET);
  std::fputc(byte ^ 0x10, file);
  std::fclose(file);
}

}  // namespace

TEST(CheckpointArchive, EveryFieldKindRoundTrips) {
  const std::string path = test_path("archive_roundtrip.ckpt");
  const uint64_t hash = write_sample(path, 1000);
  EXPECT_EQ(verify_archive_file(path, kExitUsage), hash);
  ArchiveReader archive(path, kExitUsage);
  EXPECT_EQ(archive.get_int("answer"), -42);
  EXPECT_TRUE(std::isnan(archive.get_double("nan")));
  const double zero = archive.get_double("negative_zero");
  EXPECT_TRUE(zero == 0.0 && std::signbit(zero));
  EXPECT_EQ(archive.get_string("text"), std::string("with\0nul", 8));
  EXPECT_EQ(archive.get_ints("ints", 3),
            (std::vector<int64_t>{std::numeric_limits<int64_t>::min(), 0, std::numeric_limits<int64_t>::max()}));
  const std::vector<double> doubles = archive.get_doubles("doubles");
  ASSERT_EQ(doubles.size(), 3u);
  EXPECT_EQ(doubles[1], -std::numeric_limits<double>::infinity());
  EXPECT_EQ(doubles[2], 5e-324);
  EXPECT_EQ(archive.get_bytes("bytes"), (std::vector<uint8_t>{0, 1, 255}));
  ASSERT_EQ(archive.begin_doubles("big"), 1000);
  std::vector<double> big(1000);
  archive.read_doubles(big.data(), 400);
  archive.read_doubles(big.data() + 400, 600);
  for (int64_t i = 0; i < 1000; ++i) ASSERT_EQ(big[static_cast<size_t>(i)], static_cast<double>(i) / 3);
  archive.finish();
}

TEST(CheckpointArchive, HashDoesNotDependOnHowBytesAreSplit) {
  std::vector<unsigned char> bytes(1000);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>(i * 37 + 11);
  ContentHash whole;
  whole.update(bytes.data(), bytes.size());
  for (size_t split : {size_t(1), size_t(7), size_t(31), size_t(32), size_t(33), size_t(999)}) {
    ContentHash pieces;
    for (size_t first = 0; first < bytes.size(); first += split)
      pieces.update(bytes.data() + first, std::min(split, bytes.size() - first));
    EXPECT_EQ(pieces.value(), whole.value()) << "split " << split;
  }
  // One changed bit, or one more zero byte, changes the hash.
  ContentHash changed, longer;
  bytes[500] ^= 1;
  changed.update(bytes.data(), bytes.size());
  bytes[500] ^= 1;
  longer.update(bytes.data(), bytes.size());
  longer.update("\0", 1);
  EXPECT_NE(changed.value(), whole.value());
  EXPECT_NE(longer.value(), whole.value());
}

TEST(CheckpointArchive, DamagedFilesAreRefused) {
  const std::string path = test_path("archive_damaged.ckpt");
  write_sample(path, 100);
  flip_byte(path, 200);
  EXPECT_NE(error_of([&] { verify_archive_file(path, kExitUsage); }).find("content hash mismatch"), std::string::npos);

  write_sample(path, 100);
  std::FILE* file = std::fopen(path.c_str(), "r+b");
  std::fseek(file, 0, SEEK_END);
  const long size = std::ftell(file);
  std::fclose(file);
  ASSERT_EQ(truncate(path.c_str(), size - 100), 0);
  EXPECT_NE(error_of([&] { verify_archive_file(path, kExitUsage); }).find("incomplete"), std::string::npos);
  EXPECT_NE(error_of([&] { verify_archive_file(test_path("no_such.ckpt"), kExitUsage); }).find("no_such.ckpt"),
            std::string::npos);
}

TEST(CheckpointArchive, UnexpectedFieldsNameTheField) {
  const std::string path = test_path("archive_fields.ckpt");
  write_sample(path, 10);
  {
    ArchiveReader archive(path, kExitUsage);
    const std::string message = error_of([&] { archive.get_int("question"); });
    EXPECT_NE(message.find("expected field 'question' (integer), found 'answer' (integer)"), std::string::npos)
        << message;
    EXPECT_NE(message.find(path), std::string::npos);
  }
  {
    ArchiveReader archive(path, kExitUsage);
    EXPECT_NE(error_of([&] { archive.get_double("answer"); }).find("found 'answer' (integer)"), std::string::npos);
  }
  {
    ArchiveReader archive(path, kExitUsage);
    archive.get_int("answer");
    archive.get_double("nan");
    archive.get_double("negative_zero");
    archive.get_string("text");
    EXPECT_NE(error_of([&] { archive.get_ints("ints", 4); }).find("has 3 elements, expected 4"), std::string::npos);
  }
  {
    std::ofstream other(test_path("not_an_archive.ckpt"));
    other << "{\"json\": true}";
  }
  EXPECT_NE(error_of([&] { ArchiveReader archive(test_path("not_an_archive.ckpt"), kExitUsage); }).find("magic"),
            std::string::npos);
}

TEST(CheckpointArchive, UncommittedFilesLeaveNothing) {
  const std::string path = test_path("archive_uncommitted.ckpt");
  std::remove(path.c_str());
  {
    DurableFile file(path);
    ArchiveWriter archive(file);
    archive.put_int("x", 1);
  }  // destroyed without commit, as when a write fails
  EXPECT_NE(access(path.c_str(), F_OK), 0);
  EXPECT_NE(access((path + ".partial").c_str(), F_OK), 0);
}

namespace {

// Row magnitudes of every kind the store tells apart: quarter squares (small
// and large q), general values, zeros, NaN and Inf.
std::vector<double> sample_magnitudes(int64_t count) {
  std::vector<double> values(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const int64_t kind = (i * 7919) % 11;
    double m = std::sqrt(static_cast<double>(i % 97)) / 2;              // small q
    if (kind == 3) m = std::sqrt(static_cast<double>(300000 + i)) / 2;  // a large q
    if (kind == 5) m = 1.0 / 3.0 + static_cast<double>(i) * 1e-3;       // general
    if (kind == 7) m = 0.0;
    if (kind == 9) m = i % 2 ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
    values[static_cast<size_t>(i)] = m;
  }
  return values;
}

std::vector<int64_t> general_keys(const MagnitudeStore& store) {
  std::vector<int64_t> keys;
  store.general().for_each_chunk([&](const uint64_t* k, int64_t n) { keys.insert(keys.end(), k, k + n); });
  return keys;
}

std::vector<std::pair<uint64_t, int64_t>> distinct_counts(const MagnitudeStore& store) {
  std::vector<std::pair<uint64_t, int64_t>> counts;
  store.distinct().for_each([&](uint64_t key, int64_t count) { counts.emplace_back(key, count); });
  std::sort(counts.begin(), counts.end());
  return counts;
}

void expect_same_store(const MagnitudeStore& a, const MagnitudeStore& b) {
  EXPECT_EQ(a.rows(), b.rows());
  for (bool dead : {false, true}) {
    EXPECT_EQ(a.nonfinite(dead), b.nonfinite(dead));
    ASSERT_EQ(a.steps(dead).size(), b.steps(dead).size());
    for (size_t t = 0; t < a.steps(dead).size(); ++t) {
      EXPECT_EQ(a.steps(dead)[t].count, b.steps(dead)[t].count);
      EXPECT_EQ(a.steps(dead)[t].max, b.steps(dead)[t].max);
      EXPECT_EQ(a.steps(dead)[t].sum.to_double(), b.steps(dead)[t].sum.to_double());
    }
  }
  EXPECT_EQ(distinct_counts(a), distinct_counts(b));
  EXPECT_EQ(general_keys(a), general_keys(b));
}

}  // namespace

// A store saved half way and loaded into a new one, then fed the other half,
// equals the store that saw every row; in memory and spilled to a file.
TEST(CheckpointArchive, MagnitudeStoreResumesExactly) {
  const int64_t transitions = 8, tokens = 53;
  std::vector<uint8_t> dead(static_cast<size_t>(tokens));
  for (int64_t n = 0; n < tokens; ++n) dead[static_cast<size_t>(n)] = n % 3 == 0;
  const std::vector<double> values = sample_magnitudes(transitions * tokens);
  const int64_t half = 3 * tokens + 17;  // mid-transition, as a store may be between appends
  for (const GeneralValueSpace& space :
       {GeneralValueSpace{1 << 12, false, ""}, GeneralValueSpace{5, true, LATDISP_TEST_DATA_DIR}}) {
    MagnitudeStore whole(dead, transitions, space);
    whole.append(values.data(), transitions * tokens);

    MagnitudeStore first(dead, transitions, space);
    first.append(values.data(), half);
    const std::string path = test_path("store.ckpt");
    {
      DurableFile file(path);
      ArchiveWriter archive(file);
      first.save(archive);
      archive.finish();
      file.commit();
    }
    MagnitudeStore resumed(dead, transitions, space);
    ArchiveReader archive(path, kExitUsage);
    resumed.load(archive);
    archive.finish();
    expect_same_store(first, resumed);
    resumed.append(values.data() + half, transitions * tokens - half);
    expect_same_store(whole, resumed);
  }
}

}  // namespace latdisp
