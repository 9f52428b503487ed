#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "parallel/launcher_connection.hpp"

namespace latdisp {
namespace {

TEST(LauncherUri, TcpAddressesOfEveryForm) {
  LauncherAddress address;
  ASSERT_TRUE(parse_launcher_uri("257949696.0;tcp4://127.0.0.1:44453", address));
  EXPECT_EQ(address.host, "127.0.0.1");
  EXPECT_EQ(address.port, 44453);
  ASSERT_TRUE(parse_launcher_uri("1.0;tcp6://[::1]:6000", address));
  EXPECT_EQ(address.host, "::1");
  EXPECT_EQ(address.port, 6000);
  ASSERT_TRUE(parse_launcher_uri("1.0;tcp4://10.1.2.3:65535;tcp6://[fd00::2]:1", address));
  EXPECT_EQ(address.host, "10.1.2.3");
  EXPECT_EQ(address.port, 65535);
}

TEST(LauncherUri, AnythingElseIsNoTcpAddress) {
  LauncherAddress address;
  for (const char* uri : {"", "1.0", "1.0;usock:/tmp/pmix-1234", "1.0;tcp4://127.0.0.1",
                          "1.0;tcp4://127.0.0.1:", "1.0;tcp4://:80", "1.0;tcp4://127.0.0.1:80x",
                          "1.0;tcp4://127.0.0.1:0", "1.0;tcp4://127.0.0.1:65536", "1.0;tcp4://127.0.0.1:1234567"})
    EXPECT_FALSE(parse_launcher_uri(uri, address)) << uri;
}

// A listening loopback socket and its port.
int listen_on_loopback(int& port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || listen(fd, 4) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    return -1;
  port = ntohs(address.sin_port);
  return fd;
}

int connect_to_loopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return -1;
  return fd;
}

bool no_delay(int fd) {
  int on = 0;
  socklen_t length = sizeof on;
  return getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &length) == 0 && on != 0;
}

TEST(LauncherConnection, OnlyTheServersConnectionSendsAtOnce) {
  int server_port = 0, other_port = 0;
  const int server = listen_on_loopback(server_port);
  const int other = listen_on_loopback(other_port);
  ASSERT_GE(server, 0);
  ASSERT_GE(other, 0);
  const int to_server = connect_to_loopback(server_port);
  const int to_other = connect_to_loopback(other_port);
  ASSERT_GE(to_server, 0);
  ASSERT_GE(to_other, 0);
  ASSERT_FALSE(no_delay(to_server));

  for (const char* variable : {"PMIX_SERVER_URI41", "PMIX_SERVER_URI4", "PMIX_SERVER_URI3", "PMIX_SERVER_URI21",
                               "PMIX_SERVER_URI2", "PMIX_SERVER_URI"})
    unsetenv(variable);
  EXPECT_EQ(send_launcher_messages_at_once(), 0);  // no launcher named: nothing changes
  EXPECT_FALSE(no_delay(to_server));
  const std::string uri = "1.0;tcp4://127.0.0.1:" + std::to_string(server_port);
  setenv("PMIX_SERVER_URI41", uri.c_str(), 1);
  EXPECT_EQ(send_launcher_messages_at_once(), 1);
  unsetenv("PMIX_SERVER_URI41");
  EXPECT_TRUE(no_delay(to_server));
  EXPECT_FALSE(no_delay(to_other));

  for (const int fd : {to_server, to_other, server, other}) close(fd);
}

}  // namespace
}  // namespace latdisp
