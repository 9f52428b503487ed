#include "parallel/launcher_connection.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstdlib>
#include <cstring>
#include <vector>

namespace latdisp {
namespace {

// The variables PMIx servers publish their URI in, one per client protocol
// version (all name the same server).
constexpr const char* kServerUriVariables[] = {"PMIX_SERVER_URI41", "PMIX_SERVER_URI4", "PMIX_SERVER_URI3",
                                               "PMIX_SERVER_URI21", "PMIX_SERVER_URI2", "PMIX_SERVER_URI"};

// An address in binary form, comparable with a socket's peer.
struct BinaryAddress {
  int family = AF_UNSPEC;
  unsigned char bytes[16] = {0};
  int port = 0;
};

bool to_binary(const LauncherAddress& address, BinaryAddress& binary) {
  binary.port = address.port;
  if (inet_pton(AF_INET, address.host.c_str(), binary.bytes) == 1) {
    binary.family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, address.host.c_str(), binary.bytes) == 1) {
    binary.family = AF_INET6;
    return true;
  }
  return false;
}

std::vector<BinaryAddress> launcher_addresses() {
  std::vector<BinaryAddress> addresses;
  for (const char* variable : kServerUriVariables) {
    const char* uri = std::getenv(variable);
    LauncherAddress address;
    BinaryAddress binary;
    if (uri != nullptr && parse_launcher_uri(uri, address) && to_binary(address, binary)) addresses.push_back(binary);
  }
  return addresses;
}

// Whether `fd` is a TCP connection to one of `addresses`.
bool connects_to(int fd, const std::vector<BinaryAddress>& addresses) {
  int type = 0;
  socklen_t type_length = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_length) != 0 || type != SOCK_STREAM) return false;
  sockaddr_storage peer{};
  socklen_t peer_length = sizeof peer;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_length) != 0) return false;
  for (const BinaryAddress& address : addresses) {
    if (peer.ss_family != address.family) continue;
    if (peer.ss_family == AF_INET) {
      const auto& in = reinterpret_cast<const sockaddr_in&>(peer);
      if (ntohs(in.sin_port) == address.port && std::memcmp(&in.sin_addr, address.bytes, 4) == 0) return true;
    } else if (peer.ss_family == AF_INET6) {
      const auto& in6 = reinterpret_cast<const sockaddr_in6&>(peer);
      if (ntohs(in6.sin6_port) == address.port && std::memcmp(&in6.sin6_addr, address.bytes, 16) == 0) return true;
    }
  }
  return false;
}

}  // namespace

bool parse_launcher_uri(const std::string& uri, LauncherAddress& address) {
  size_t scheme = uri.find("tcp4://");
  if (scheme == std::string::npos) scheme = uri.find("tcp6://");
  if (scheme == std::string::npos) return false;
  std::string rest = uri.substr(scheme + 7);
  if (const size_t end = rest.find_first_of(";,"); end != std::string::npos) rest.resize(end);
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon + 1 == rest.size()) return false;
  const std::string port = rest.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5) return false;
  std::string host = rest.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) return false;
  address.host = host;
  address.port = std::atoi(port.c_str());
  return address.port > 0 && address.port < 65536;
}

int send_launcher_messages_at_once() {
  const std::vector<BinaryAddress> addresses = launcher_addresses();
  if (addresses.empty()) return 0;
  DIR* descriptors = opendir("/proc/self/fd");
  if (descriptors == nullptr) return 0;
  int set = 0;
  while (const dirent* entry = readdir(descriptors)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == dirfd(descriptors)) continue;
    if (!connects_to(static_cast<int>(fd), addresses)) continue;
    const int on = 1;
    if (setsockopt(static_cast<int>(fd), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == 0) ++set;
  }
  closedir(descriptors);
  return set;
}

}  // namespace latdisp
