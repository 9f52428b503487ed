// The readers' element formats (docs/formats.md §19): every
// format from safetensors, HDF5 and a series is recognised as written and
// read back byte for byte by every rank's slab, at whatever rank count this
// runs; --element-type overrides integer storage; what is none of the
// formats is refused with a message naming what was found.
#include <gtest/gtest.h>

#include <hdf5.h>
#include <mpi.h>
#include <sys/stat.h>

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "io/hdf5_handles.hpp"
#include "io/matrix_source.hpp"
#include "io/trajectory_reader.hpp"
#include "parallel/errors.hpp"
#include "parallel/partition.hpp"
#include "test_support.hpp"

namespace latdisp {

namespace {

using testing::world_rank;
using testing::world_size;

constexpr int64_t kSteps = 3, kTokens = 7, kDims = 5;
constexpr int64_t kValues = kSteps * kTokens * kDims;

std::string work_dir() {
  const std::string dir = testing::test_file("element_readers_np" + std::to_string(world_size()));
  if (world_rank() == 0) mkdir(dir.c_str(), 0755);
  MPI_Barrier(MPI_COMM_WORLD);
  return dir;
}

// Random bytes for `value_bytes`-byte values.
std::string random_bytes(int value_bytes, unsigned seed) {
  std::mt19937 random(seed);
  std::string bytes(static_cast<size_t>(kValues * value_bytes), '\0');
  for (char& b : bytes) b = static_cast<char>(random() & 0xFF);
  return bytes;
}

// One tensor "W" of `dtype` (safetensors: header length, JSON, data).
void write_safetensors(const std::string& path, const std::string& dtype, const std::vector<int64_t>& shape,
                       const std::string& bytes) {
  std::string dims;
  for (size_t k = 0; k < shape.size(); ++k) dims += (k ? "," : "") + std::to_string(shape[k]);
  std::string json = "{\"W\": {\"dtype\": \"" + dtype + "\", \"shape\": [" + dims + "], \"data_offsets\": [0, " +
                     std::to_string(bytes.size()) + "]}}";
  json.append((8 - json.size() % 8) % 8, ' ');
  std::ofstream out(path, std::ios::binary);
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((json.size() >> (8 * i)) & 0xFF));
  out << json << bytes;
}

// h5py's float16: IEEE binary16, little-endian.
hid_t ieee_f16() {
  const hid_t type = H5Tcopy(H5T_IEEE_F32LE);
  H5Tset_fields(type, 15, 10, 5, 0, 10);
  H5Tset_size(type, 2);
  H5Tset_ebias(type, 15);
  return type;
}

// "W" of file type `type` holding `bytes` (the memory type = the file type:
// no conversion), with a `dtype` attribute when `declared` is not empty.
void write_hdf5(const std::string& path, hid_t type, const std::string& bytes, const std::string& declared) {
  Hdf5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  const hsize_t shape[3] = {kSteps, kTokens, kDims};
  Hdf5Handle space(H5Screate_simple(3, shape, nullptr), H5Sclose);
  Hdf5Handle values(H5Dcreate2(file.get(), "W", type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
  H5Dwrite(values.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data());
  if (!declared.empty()) write_string_attribute(values.get(), "dtype", declared);
}

// A series of kSteps checkpoints of one (tokens, dims) tensor of `dtype`.
void write_series(const std::string& dir, const std::string& dtype, const std::string& bytes, int value_bytes) {
  mkdir(dir.c_str(), 0755);
  const size_t step_bytes = static_cast<size_t>(kTokens * kDims * value_bytes);
  for (int64_t s = 0; s < kSteps; ++s)
    write_safetensors(dir + "/step_" + std::to_string(10 * s) + ".safetensors", dtype, {kTokens, kDims},
                      bytes.substr(static_cast<size_t>(s) * step_bytes, step_bytes));
}

struct Accepted {
  std::string file;
  ElementType expected;
  std::optional<ElementType> requested;
  std::string bytes;
};

struct Refused {
  std::string file;
  std::string message;  // a part of the one message
  std::optional<ElementType> requested;
};

class ElementReaders : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir = work_dir();
    const std::string b1 = random_bytes(1, 1), b2 = random_bytes(2, 2), b4 = random_bytes(4, 4);
    const std::string b8 = random_bytes(8, 8);
    accepted = {
        {"bf16.safetensors", ElementType::bf16, {}, b2},  {"f16.safetensors", ElementType::f16, {}, b2},
        {"f32.safetensors", ElementType::f32, {}, b4},    {"e4m3.safetensors", ElementType::f8e4m3, {}, b1},
        {"e5m2.safetensors", ElementType::f8e5m2, {}, b1}, {"u16.safetensors", ElementType::bf16, {}, b2},
        {"u16.safetensors", ElementType::f16, ElementType::f16, b2},
        {"u8.safetensors", ElementType::f8e5m2, ElementType::f8e5m2, b1},
        {"f32.safetensors", ElementType::f32, ElementType::f32, b4},
        {"u16.h5", ElementType::bf16, {}, b2},            {"i16_bfloat16.h5", ElementType::bf16, {}, b2},
        {"u16.h5", ElementType::f16, ElementType::f16, b2}, {"f16.h5", ElementType::f16, {}, b2},
        {"f32.h5", ElementType::f32, {}, b4},             {"u8_e4m3.h5", ElementType::f8e4m3, {}, b1},
        {"i8_e5m2.h5", ElementType::f8e5m2, {}, b1},
        {"u8_e4m3.h5", ElementType::f8e5m2, ElementType::f8e5m2, b1},  // the option overrides the attribute
        {"u8.h5", ElementType::f8e4m3, ElementType::f8e4m3, b1},
        {"series_f32", ElementType::f32, {}, b4},         {"series_e4m3", ElementType::f8e4m3, {}, b1},
        {"series_f16", ElementType::f16, {}, b2},
    };
    refused = {
        {"f64.safetensors", "dtype F64: float64 is none of the element formats", {}},
        {"i32.safetensors", "32-bit integers (I32)", {}},
        {"u8.safetensors", "8-bit integers (U8) without a declared format", {}},
        {"fnuz.safetensors", "dtype F8_E4M3FNUZ: the FNUZ variants", {}},
        {"f16.safetensors", "--element-type bf16 contradicts", ElementType::bf16},
        {"u16.safetensors", "--element-type f32 (32-bit) does not match", ElementType::f32},
        {"short.safetensors", "but its shape [3, 7, 5] of F32 needs 420 bytes", {}},
        {"f64.h5", "has type float64, none of the element formats", {}},
        {"i32.h5", "32-bit integers (int32)", {}},
        {"u8.h5", "8-bit integers (uint8) without a declared format", {}},
        {"u16_e4m3.h5", "declares dtype = 'float8_e4m3fn' (8-bit) but holds 16-bit integers (uint16)", {}},
        {"u8_fnuz.h5", "attribute dtype = 'float8_e5m2fnuz': the FNUZ variants", {}},
        {"f32.h5", "--element-type f16 contradicts", ElementType::f16},
        {"u8_e4m3.h5", "--element-type bf16 (16-bit) does not match", ElementType::bf16},
    };
    if (world_rank() == 0) {
      write_safetensors(dir + "/bf16.safetensors", "BF16", {kSteps, kTokens, kDims}, b2);
      write_safetensors(dir + "/f16.safetensors", "F16", {kSteps, kTokens, kDims}, b2);
      write_safetensors(dir + "/f32.safetensors", "F32", {kSteps, kTokens, kDims}, b4);
      write_safetensors(dir + "/e4m3.safetensors", "F8_E4M3", {kSteps, kTokens, kDims}, b1);
      write_safetensors(dir + "/e5m2.safetensors", "F8_E5M2", {kSteps, kTokens, kDims}, b1);
      write_safetensors(dir + "/u16.safetensors", "U16", {kSteps, kTokens, kDims}, b2);
      write_safetensors(dir + "/u8.safetensors", "U8", {kSteps, kTokens, kDims}, b1);
      write_safetensors(dir + "/f64.safetensors", "F64", {kSteps, kTokens, kDims}, b8);
      write_safetensors(dir + "/i32.safetensors", "I32", {kSteps, kTokens, kDims}, b4);
      write_safetensors(dir + "/fnuz.safetensors", "F8_E4M3FNUZ", {kSteps, kTokens, kDims}, b1);
      write_safetensors(dir + "/short.safetensors", "F32", {kSteps, kTokens, kDims}, b2);
      write_hdf5(dir + "/u16.h5", H5T_STD_U16LE, b2, "");
      write_hdf5(dir + "/i16_bfloat16.h5", H5T_STD_I16LE, b2, "bfloat16");
      const hid_t f16 = ieee_f16();
      write_hdf5(dir + "/f16.h5", f16, b2, "");
      H5Tclose(f16);
      write_hdf5(dir + "/f32.h5", H5T_IEEE_F32LE, b4, "");
      write_hdf5(dir + "/u8_e4m3.h5", H5T_STD_U8LE, b1, "float8_e4m3fn");
      write_hdf5(dir + "/i8_e5m2.h5", H5T_STD_I8LE, b1, "float8_e5m2");
      write_hdf5(dir + "/u8.h5", H5T_STD_U8LE, b1, "");
      write_hdf5(dir + "/f64.h5", H5T_IEEE_F64LE, random_bytes(8, 9), "");
      write_hdf5(dir + "/i32.h5", H5T_STD_I32LE, b4, "");
      write_hdf5(dir + "/u16_e4m3.h5", H5T_STD_U16LE, b2, "float8_e4m3fn");
      write_hdf5(dir + "/u8_fnuz.h5", H5T_STD_U8LE, b1, "float8_e5m2fnuz");
      write_series(dir + "/series_f32", "F32", b4, 4);
      write_series(dir + "/series_e4m3", "F8_E4M3", b1, 1);
      write_series(dir + "/series_f16", "F16", b2, 2);
    }
    MPI_Barrier(MPI_COMM_WORLD);
  }
  static std::string dir;
  static std::vector<Accepted> accepted;
  static std::vector<Refused> refused;
};
std::string ElementReaders::dir;
std::vector<Accepted> ElementReaders::accepted;
std::vector<Refused> ElementReaders::refused;

ElementRequest request_of(const std::optional<ElementType>& type) {
  ElementRequest request;
  request.element_type = type;
  request.any_format = true;
  return request;
}

// Each rank's slab in blocks of `block` steps, and rows one by one: every byte as written.
void expect_bytes_match(const TrajectoryReader& reader, const std::string& bytes, int64_t block) {
  const int value_bytes = reader.element_bytes();
  const TokenRange slab = token_range(kTokens, world_rank(), world_size());
  const int64_t max_slab = token_range(kTokens, 0, world_size()).count;
  const int64_t row = kDims * value_bytes;
  std::string buffer(static_cast<size_t>(block * slab.count * row), '\0');
  for (int64_t first = 0; first < kSteps; first += block) {
    const int64_t count = std::min(block, kSteps - first);
    reader.read_steps(slab, first, count, max_slab, &buffer[0]);
    for (int64_t s = 0; s < count; ++s)
      for (int64_t n = 0; n < slab.count; ++n)
        ASSERT_EQ(buffer.substr(static_cast<size_t>((s * slab.count + n) * row), static_cast<size_t>(row)),
                  bytes.substr(static_cast<size_t>(((first + s) * kTokens + slab.begin + n) * row),
                               static_cast<size_t>(row)))
            << reader.path() << " step " << first + s << " token " << slab.begin + n;
  }
  std::string one(static_cast<size_t>(row), '\0');
  reader.read_rows(kSteps - 1, kTokens - 1, 1, &one[0]);
  EXPECT_EQ(one, bytes.substr(static_cast<size_t>(((kSteps - 1) * kTokens + kTokens - 1) * row)));
}

TEST_F(ElementReaders, EveryFormatIsRecognisedAndReadByteForByte) {
  for (const Accepted& c : accepted) {
    SCOPED_TRACE(c.file);
    const std::unique_ptr<TrajectoryReader> reader = open_trajectory_source(
        MPI_COMM_WORLD, dir + "/" + c.file, "W", SourceUse::trajectory, request_of(c.requested));
    EXPECT_EQ(formats::element_type_name(reader->element_type()), formats::element_type_name(c.expected));
    EXPECT_EQ(reader->shape().steps, kSteps);
    for (int64_t block : {int64_t(1), int64_t(2), kSteps}) expect_bytes_match(*reader, c.bytes, block);
  }
}

TEST_F(ElementReaders, WhatIsNoneOfTheFormatsIsRefusedNamingWhatWasFound) {
  for (const Refused& c : refused) {
    SCOPED_TRACE(c.file);
    try {
      open_trajectory_source(MPI_COMM_WORLD, dir + "/" + c.file, "W", SourceUse::trajectory, request_of(c.requested));
      ADD_FAILURE() << "not refused";
    } catch (const Error& e) {
      EXPECT_EQ(e.exit_code(), kExitInput);
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << e.what();
    }
  }
}

TEST_F(ElementReaders, ACommandOfBf16OnlyRefusesTheOthers) {
  EXPECT_THROW(open_trajectory_source(MPI_COMM_WORLD, dir + "/f32.safetensors", "W", SourceUse::trajectory), Error);
  EXPECT_THROW(MatrixSource(MPI_COMM_WORLD, dir + "/f16.h5:W@1"), Error);
  const MatrixSource matrix(MPI_COMM_WORLD, dir + "/e4m3.safetensors:W@2", request_of({}));
  EXPECT_EQ(matrix.element_bytes(), 1);
  std::string row(kDims, '\0');
  matrix.read_rows({3}, &row[0]);
  EXPECT_EQ(row, random_bytes(1, 1).substr(static_cast<size_t>((2 * kTokens + 3) * kDims), kDims));
}

}  // namespace

}  // namespace latdisp
