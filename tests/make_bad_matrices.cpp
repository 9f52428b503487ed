// Writes the malformed matrices and group files the bit-level command-line
// tests feed to latdisp inspect / separation / blackholes.
#include <hdf5.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "io/safetensors.hpp"
#include "io/token_groups.hpp"

namespace {

std::string dir;

void write_raw(const char* name, const std::string& json, int64_t data_bytes, int64_t declared_length = -1) {
  std::string bytes(8, '\0');
  const uint64_t length = declared_length >= 0 ? static_cast<uint64_t>(declared_length) : json.size();
  for (int i = 0; i < 8; ++i) bytes[static_cast<size_t>(i)] = static_cast<char>((length >> (8 * i)) & 0xFF);
  bytes += json;
  bytes.append(static_cast<size_t>(data_bytes), '\x3f');
  std::ofstream(dir + "/" + name, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void write_tensor(const char* name, const std::string& dtype, const std::vector<int64_t>& shape, int64_t data_bytes) {
  const std::string header = latdisp::build_safetensors_header({{"W", dtype, shape}}, {}, nullptr);
  std::string bytes = header;
  bytes.append(static_cast<size_t>(data_bytes), '\x3f');
  std::ofstream(dir + "/" + name, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_bad_matrices DIRECTORY\n");
    return 1;
  }
  dir = argv[1];
  write_tensor("good.safetensors", "BF16", {8, 4}, 64);             // 8 x 4, every value 0x3f3f
  write_tensor("float.safetensors", "F64", {8, 4}, 256);            // a dtype no element format has
  write_tensor("rank1.safetensors", "BF16", {32}, 64);              // wrong rank
  write_tensor("truncated.safetensors", "BF16", {8, 4}, 40);        // data cut short
  write_raw("huge_length.safetensors", "{}", 0, int64_t(1) << 40);  // header length beyond the limit
  write_raw("long_length.safetensors", "{\"W\":1}  ", 0, 4096);     // header length past the end
  write_raw("bad_json.safetensors", "{\"W\": {\"dtype\": \"BF16\",", 64);
  write_raw("past_end.safetensors", R"({"W":{"dtype":"BF16","shape":[8,4],"data_offsets":[64,128]}})", 64);
  write_raw(
      "overlap.safetensors",
      R"({"W":{"dtype":"BF16","shape":[8,4],"data_offsets":[0,64]},"V":{"dtype":"U8","shape":[8],"data_offsets":[32,40]}})",
      64);
  write_raw("size_mismatch.safetensors", R"({"W":{"dtype":"BF16","shape":[8,4],"data_offsets":[0,60]}})", 64);
  std::ofstream(dir + "/tiny.safetensors", std::ios::binary).write("\x10\x00\x00", 3);  // 3 bytes in all
  latdisp::write_token_groups(dir + "/groups_out_of_range.safetensors", latdisp::OutputFormat::safetensors,
                              {{"bh1_token_ids", {1, 8}}}, {});
  latdisp::write_token_groups(dir + "/groups_empty.safetensors", latdisp::OutputFormat::safetensors,
                              {{"bh1_token_ids", {1, 2}}, {"bh2_token_ids", {}}}, {});
  latdisp::write_token_groups(dir + "/groups_none.safetensors", latdisp::OutputFormat::safetensors, {{"ids", {1, 2}}},
                              {});
  latdisp::write_token_groups(dir + "/groups_good.h5", latdisp::OutputFormat::hdf5,
                              {{"bh1_token_ids", {0, 1}}, {"bh2_token_ids", {5}}}, {});
  // A 3-D HDF5 trajectory (steps x tokens x dims).
  const hid_t file = H5Fcreate((dir + "/steps.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hsize_t shape[3] = {2, 8, 4};
  const std::vector<uint16_t> values(2 * 8 * 4, 0x3F80);
  const hid_t space = H5Screate_simple(3, shape, nullptr);
  const hid_t dataset = H5Dcreate2(file, "W", H5T_STD_U16LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(dataset, H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
  H5Dclose(dataset);
  H5Sclose(space);
  H5Fclose(file);
  return 0;
}
