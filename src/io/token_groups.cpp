#include "io/token_groups.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <hdf5.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <type_traits>

#include "io/file_names.hpp"
#include "io/hdf5_handles.hpp"
#include "io/hdf5_input.hpp"
#include "io/input_path.hpp"
#include "io/output_file.hpp"
#include "io/safetensors.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

bool is_group_name(const std::string& name) {
  return name.size() > kTokenIdsSuffix.size() && has_suffix(name, kTokenIdsSuffix);
}

template <typename T>
void widen(const std::vector<char>& bytes, std::vector<int64_t>& out, const std::string& where) {
  const size_t n = bytes.size() / sizeof(T);
  out.resize(n);
  for (size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, bytes.data() + i * sizeof(T), sizeof(T));
    if constexpr (std::is_same<T, uint64_t>::value) {
      if (v > static_cast<uint64_t>(INT64_MAX))
        fail(kExitInput, where + " holds token id " + std::to_string(v) + ", which is out of range");
    }
    out[i] = static_cast<int64_t>(v);
  }
}

std::vector<TokenGroup> read_safetensors_groups(const std::string& path) {
  const SafetensorsFile header = read_safetensors_header(path);
  std::vector<TokenGroup> groups;
  const int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) fail(kExitInput, "cannot open '" + path + "'");
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  for (const SafetensorsTensor& t : header.tensors) {
    if (!is_group_name(t.name)) continue;
    const std::string where = "group '" + t.name + "' in '" + path + "'";
    const std::string& d = t.dtype;
    const bool integer =
        d == "I8" || d == "I16" || d == "I32" || d == "I64" || d == "U8" || d == "U16" || d == "U32" || d == "U64";
    if (!integer) fail(kExitInput, where + " has dtype " + d + "; expected an integer dtype (I64, I32, ...)");
    if (t.shape.size() != 1)
      fail(kExitInput, where + " has " + std::to_string(t.shape.size()) + " dimensions; expected a 1-D list of ids");
    std::vector<char> bytes(static_cast<size_t>(t.end - t.begin));
    read_file_bytes(path, fd, t.begin, t.end - t.begin, bytes.data());
    TokenGroup group;
    group.name = t.name;
    if (d == "I8") widen<int8_t>(bytes, group.tokens, where);
    if (d == "U8") widen<uint8_t>(bytes, group.tokens, where);
    if (d == "I16") widen<int16_t>(bytes, group.tokens, where);
    if (d == "U16") widen<uint16_t>(bytes, group.tokens, where);
    if (d == "I32") widen<int32_t>(bytes, group.tokens, where);
    if (d == "U32") widen<uint32_t>(bytes, group.tokens, where);
    if (d == "I64") widen<int64_t>(bytes, group.tokens, where);
    if (d == "U64") widen<uint64_t>(bytes, group.tokens, where);
    groups.push_back(std::move(group));
  }
  if (groups.empty())
    fail(kExitInput, "'" + path + "' holds no *_token_ids tensors (tensors present: " + header.tensor_names() + ")");
  return groups;
}

std::vector<TokenGroup> read_hdf5_groups(const std::string& path) {
  // Each rank reads the groups on its own.
  const Hdf5Handle file = open_hdf5_input(MPI_COMM_SELF, path, "groups file", false);
  std::vector<TokenGroup> groups;
  const std::vector<std::string> names = hdf5_root_datasets(file.get());
  for (const std::string& name : names) {
    if (!is_group_name(name)) continue;
    const std::string where = "group '" + name + "' in '" + path + "'";
    Hdf5Handle dataset(H5Dopen2(file.get(), name.c_str(), H5P_DEFAULT), H5Dclose);
    if (!dataset.valid()) fail(kExitInput, "cannot open " + where + ": " + hdf5_error_text());
    const Hdf5Handle type(H5Dget_type(dataset.get()), H5Tclose);
    if (H5Tget_class(type.get()) != H5T_INTEGER)
      fail(kExitInput, where + " has type " + describe_type(type.get()) + "; expected an integer type");
    Hdf5Handle space(H5Dget_space(dataset.get()), H5Sclose);
    if (H5Sget_simple_extent_ndims(space.get()) != 1)
      fail(kExitInput, where + " has " + std::to_string(H5Sget_simple_extent_ndims(space.get())) +
                           " dimensions; expected a 1-D list of ids");
    hsize_t n = 0;
    H5Sget_simple_extent_dims(space.get(), &n, nullptr);
    TokenGroup group;
    group.name = name;
    group.tokens.resize(static_cast<size_t>(n));
    // Read as stored: a conversion to int64 would clamp ids past 2^63 - 1.
    const bool unsigned_type = H5Tget_sign(type.get()) == H5T_SGN_NONE;
    if (n > 0 && H5Dread(dataset.get(), unsigned_type ? H5T_NATIVE_UINT64 : H5T_NATIVE_INT64, H5S_ALL, H5S_ALL,
                         H5P_DEFAULT, group.tokens.data()) < 0)
      fail(kExitInput, "reading " + where + " failed: " + hdf5_error_text());
    if (unsigned_type)
      for (int64_t& token : group.tokens)
        if (token < 0)
          fail(kExitInput,
               where + " holds token id " + std::to_string(static_cast<uint64_t>(token)) + ", which is out of range");
    groups.push_back(std::move(group));
  }
  if (groups.empty()) {
    std::string present;
    for (const std::string& n : names) present += (present.empty() ? "" : ", ") + n;
    fail(kExitInput, "'" + path + "' holds no *_token_ids datasets (datasets present: " +
                         (present.empty() ? std::string("none") : present) + ")");
  }
  return groups;
}

}  // namespace

std::string short_group_name(const std::string& name) {
  return is_group_name(name) ? name.substr(0, name.size() - kTokenIdsSuffix.size()) : name;
}

bool natural_less(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
      size_t ie = i, je = j;
      while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
      while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
      // Compare digit runs as numbers: strip leading zeros, then length, then digits.
      size_t is = i, js = j;
      while (is + 1 < ie && a[is] == '0') ++is;
      while (js + 1 < je && b[js] == '0') ++js;
      if (ie - is != je - js) return ie - is < je - js;
      const int c = a.compare(is, ie - is, b, js, je - js);
      if (c != 0) return c < 0;
      i = ie;
      j = je;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  if ((a.size() - i) != (b.size() - j)) return a.size() - i < b.size() - j;
  return a < b;
}

std::vector<TokenGroup> read_token_groups(const std::string& path) {
  require_readable_file(path, "groups file");
  std::vector<TokenGroup> groups = is_hdf5_file(path) ? read_hdf5_groups(path) : read_safetensors_groups(path);
  std::sort(groups.begin(), groups.end(),
            [](const TokenGroup& a, const TokenGroup& b) { return natural_less(a.name, b.name); });
  return groups;
}

std::vector<int64_t> parse_index_list(const std::string& list, const std::string& option) {
  std::vector<int64_t> values;
  size_t start = 0;
  auto number = [&](const std::string& text) -> int64_t {
    if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
      fail(kExitUsage, option + " takes non-negative integers and ranges like 0,5,7-9; '" + text + "' is not one");
    return std::stoll(text);
  };
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    const std::string item = list.substr(start, comma - start);
    const size_t dash = item.find('-');
    if (dash != std::string::npos && dash > 0) {
      const int64_t first = number(item.substr(0, dash)), last = number(item.substr(dash + 1));
      if (last < first) fail(kExitUsage, option + ": range '" + item + "' runs backwards");
      if (last - first > 10000000) fail(kExitUsage, option + ": range '" + item + "' is too long");
      for (int64_t v = first; v <= last; ++v) values.push_back(v);
    } else {
      values.push_back(number(item));
    }
    start = comma + 1;
  }
  return values;
}

std::vector<TokenGroup> groups_from_token_list(const std::string& list) {
  std::vector<TokenGroup> groups;
  for (int64_t token : parse_index_list(list, "--tokens"))
    groups.push_back({"token " + std::to_string(token), {token}});
  return groups;
}

void check_token_groups(const std::vector<TokenGroup>& groups, int64_t rows, const std::string& matrix) {
  for (const TokenGroup& g : groups) {
    if (g.tokens.empty()) fail(kExitInput, "group '" + g.name + "' is empty");
    for (int64_t t : g.tokens)
      if (t < 0 || t >= rows)
        fail(kExitInput, "group '" + g.name + "' holds token id " + std::to_string(t) + ", out of range: " + matrix +
                             " has " + std::to_string(rows) + " rows (ids 0.." + std::to_string(rows - 1) + ")");
  }
}

std::vector<TokenGroup> load_token_groups(const std::string& groups_path, const std::string& token_list,
                                          MPI_Comm comm) {
  std::vector<TokenGroup> groups;
  collectively(comm, [&] {
    groups = groups_path.empty() ? groups_from_token_list(token_list) : read_token_groups(groups_path);
  });
  return groups;
}

namespace {

void write_hdf5_groups(const std::string& path, const std::vector<TokenGroup>& groups,
                       const std::vector<std::pair<std::string, std::string>>& metadata) {
  const auto failed = [&](const std::string& what) {
    fail(kExitOutput,
         what + " '" + output_name_of(path) + "' failed: " + write_failure_reason(path, errno, hdf5_error_text()));
  };
  const Hdf5Handle creation = untimed_file_creation();
  Hdf5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, creation.get(), H5P_DEFAULT), H5Fclose);
  if (!file.valid())
    fail(kExitOutput,
         "cannot create '" + output_name_of(path) + "': " + write_failure_reason(path, errno, hdf5_error_text()));
  for (const TokenGroup& g : groups) {
    const Hdf5Handle dataset = create_output_dataset(file.get(), g.name, H5T_STD_I64LE, {g.tokens.size()});
    if (!g.tokens.empty() &&
        H5Dwrite(dataset.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, g.tokens.data()) < 0)
      failed("writing '" + g.name + "' to");
  }
  for (const auto& [key, value] : metadata)
    if (write_string_attribute(file.get(), key, value) < 0) failed("writing attribute '" + key + "' to");
  if (H5Fclose(file.release()) < 0) failed("closing");
}

void write_safetensors_groups(const std::string& path, const std::vector<TokenGroup>& groups,
                              const std::vector<std::pair<std::string, std::string>>& metadata) {
  std::vector<SafetensorsEntry> entries;
  for (const TokenGroup& g : groups) entries.push_back({g.name, "I64", {static_cast<int64_t>(g.tokens.size())}});
  std::map<std::string, std::string> meta(metadata.begin(), metadata.end());
  const std::string header = build_safetensors_header(entries, meta, nullptr);
  std::FILE* out = std::fopen(path.c_str(), "wb");
  if (!out) fail(kExitOutput, "cannot create '" + output_name_of(path) + "': " + std::strerror(errno));
  bool ok = std::fwrite(header.data(), 1, header.size(), out) == header.size();
  for (const TokenGroup& g : groups)  // little-endian host (x86-64, aarch64)
    ok = ok && std::fwrite(g.tokens.data(), sizeof(int64_t), g.tokens.size(), out) == g.tokens.size();
  ok = ok && std::fflush(out) == 0;
  const int saved_errno = ok ? 0 : errno;
  ok = (std::fclose(out) == 0) && ok;
  if (!ok)
    fail(kExitOutput, "writing '" + output_name_of(path) +
                          "' failed: " + write_failure_reason(path, saved_errno != 0 ? saved_errno : errno, ""));
}

}  // namespace

void write_token_groups(const std::string& path, OutputFormat format, const std::vector<TokenGroup>& groups,
                        const std::vector<std::pair<std::string, std::string>>& metadata) {
  if (format == OutputFormat::hdf5)
    write_hdf5_groups(path, groups, metadata);
  else
    write_safetensors_groups(path, groups, metadata);
}

}  // namespace latdisp
