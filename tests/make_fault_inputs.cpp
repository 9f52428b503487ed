// Writes the inputs the fault tests need that latdisp itself cannot make: a
// groups file holding a uint64 token id of 2^64 - 1 (HDF5), and a binary
// file to pass as --config.
#include <hdf5.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_fault_inputs DIRECTORY\n");
    return 1;
  }
  const std::string dir = argv[1];
  const hid_t file = H5Fcreate((dir + "/groups_uint64.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hsize_t count = 2;
  const hid_t space = H5Screate_simple(1, &count, nullptr);
  const hid_t dataset = H5Dcreate2(file, "bh1_token_ids", H5T_STD_U64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const uint64_t ids[2] = {1, UINT64_MAX};
  const bool ok = H5Dwrite(dataset, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, ids) >= 0;
  H5Dclose(dataset);
  H5Sclose(space);
  const bool closed = H5Fclose(file) >= 0;
  std::ofstream binary(dir + "/binary.cfg", std::ios::binary);
  const char bytes[] = {'\x7f', 'E', 'L', 'F', '\x02', '\x01', '\x01', '\0', '\0', '\x03'};
  binary.write(bytes, sizeof bytes);
  return ok && closed && binary ? 0 : 1;
}
