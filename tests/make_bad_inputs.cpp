// Writes the malformed inputs the command-line tests feed to latdisp.
#include <hdf5.h>

#include <cstdio>
#include <string>
#include <vector>

namespace {

void write_dataset(hid_t file, const char* name, hid_t type, std::vector<hsize_t> dims, const void* data) {
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  const hid_t dataset = H5Dcreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
  H5Dclose(dataset);
  H5Sclose(space);
}

hid_t create(const std::string& directory, const char* name) {
  return H5Fcreate((directory + "/" + name).c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_bad_inputs DIRECTORY\n");
    return 1;
  }
  const std::string dir = argv[1];
  const std::vector<uint16_t> values(4 * 3 * 2, 0x3F80);
  const std::vector<float> floats(4 * 3 * 2, 1.0f);

  hid_t f = create(dir, "float_w.h5");  // W stored as float64: none of the element formats
  const std::vector<double> doubles(floats.begin(), floats.end());
  write_dataset(f, "W", H5T_NATIVE_DOUBLE, {4, 3, 2}, doubles.data());
  H5Fclose(f);

  f = create(dir, "rank2_w.h5");  // W with two dimensions
  write_dataset(f, "W", H5T_NATIVE_UINT16, {4, 6}, values.data());
  H5Fclose(f);

  f = create(dir, "one_step.h5");  // S = 1: no transition
  write_dataset(f, "W", H5T_NATIVE_UINT16, {1, 3, 2}, values.data());
  H5Fclose(f);

  f = create(dir, "mask_length.h5");  // dead_mask of 2 tokens for 3
  write_dataset(f, "W", H5T_NATIVE_UINT16, {4, 3, 2}, values.data());
  const uint8_t short_mask[2] = {0, 1};
  write_dataset(f, "dead_mask", H5T_NATIVE_UINT8, {2}, short_mask);
  H5Fclose(f);

  f = create(dir, "mask_values.h5");  // dead_mask holding a 2
  write_dataset(f, "W", H5T_NATIVE_UINT16, {4, 3, 2}, values.data());
  const uint8_t bad_mask[3] = {0, 2, 1};
  write_dataset(f, "dead_mask", H5T_NATIVE_UINT8, {3}, bad_mask);
  H5Fclose(f);

  f = create(dir, "one_token.h5");  // fewer tokens than ranks at np >= 2
  write_dataset(f, "W", H5T_NATIVE_UINT16, {4, 1, 2}, values.data());
  H5Fclose(f);

  std::FILE* text = std::fopen((dir + "/not_hdf5.h5").c_str(), "w");
  std::fputs("this is not an HDF5 file\n", text);
  std::fclose(text);
  return 0;
}
