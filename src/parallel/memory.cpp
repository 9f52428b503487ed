#include "parallel/memory.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "parallel/errors.hpp"

namespace latdisp {

uint64_t parse_byte_size(const std::string& text, const std::string& what) {
  size_t pos = 0;
  double number = 0;
  try {
    number = std::stod(text, &pos);
  } catch (const std::exception&) {
    fail(kExitUsage, what + " '" + text + "' is not a size: expected a number with an optional unit, e.g. 2GiB");
  }
  std::string unit = text.substr(pos);
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.front()))) unit.erase(0, 1);
  double scale = 0;
  if (unit.empty() || unit == "B")
    scale = 1;
  else if (unit == "KiB" || unit == "K" || unit == "k")
    scale = 1024.0;
  else if (unit == "MiB" || unit == "M")
    scale = 1024.0 * 1024;
  else if (unit == "GiB" || unit == "G")
    scale = 1024.0 * 1024 * 1024;
  else if (unit == "TiB" || unit == "T")
    scale = 1024.0 * 1024 * 1024 * 1024;
  else if (unit == "KB" || unit == "kB")
    scale = 1e3;
  else if (unit == "MB")
    scale = 1e6;
  else if (unit == "GB")
    scale = 1e9;
  else if (unit == "TB")
    scale = 1e12;
  else
    fail(kExitUsage, what + " '" + text + "': unknown unit; use B, KiB, MiB, GiB, TiB (or KB, MB, GB, TB)");
  const double bytes = number * scale;
  if (!(bytes >= 1)) fail(kExitUsage, what + " '" + text + "' is too small: at least one byte");
  if (!(bytes <= 1.8e19)) fail(kExitUsage, what + " '" + text + "' is too large: at most 16 EiB");
  return static_cast<uint64_t>(bytes);
}

std::string format_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int u = 0;
  while (value >= 1024 && u < 4) {
    value /= 1024;
    ++u;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, u == 0 ? "%.0f %s" : "%.2f %s", value, units[u]);
  return buffer;
}

uint64_t current_rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

uint64_t peak_rss_bytes() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

std::vector<uint64_t> gather_peak_rss(MPI_Comm comm) {
  int ranks = 1;
  MPI_Comm_size(comm, &ranks);
  const uint64_t peak = peak_rss_bytes();
  std::vector<uint64_t> all(static_cast<size_t>(ranks), 0);
  MPI_Gather(&peak, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, 0, comm);
  return all;
}

namespace {
uint64_t mem_available_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    if (line.rfind("MemAvailable:", 0) == 0) {
      std::istringstream fields(line.substr(13));
      uint64_t kib = 0;
      fields >> kib;
      return kib * 1024;
    }
  }
  return uint64_t(4) << 30;
}
}  // namespace

uint64_t default_memory_budget(MPI_Comm comm) {
  MPI_Comm node;
  MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int ranks_on_node = 1;
  MPI_Comm_size(node, &ranks_on_node);
  MPI_Comm_free(&node);
  return mem_available_bytes() / 2 / static_cast<uint64_t>(ranks_on_node);
}

}  // namespace latdisp
