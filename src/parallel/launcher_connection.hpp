// The connection between a rank and its launcher's process-management server
// (PMIx: mpirun, or Slurm's step daemon), over which MPI_Init and
// MPI_Finalize exchange their start and end messages (docs/operations.md §10,
// "Start-up and shutdown").
#pragma once

#include <string>

namespace latdisp {

// Where a rank reaches its launcher's server over TCP: an IPv4 or IPv6
// address as the server published it, and a port.
struct LauncherAddress {
  std::string host;
  int port = 0;
};

// The TCP address in a PMIx server URI such as "123.0;tcp4://127.0.0.1:4567"
// or "123.0;tcp6://[::1]:4567"; false for any other form (a local socket
// path, no port).
bool parse_launcher_uri(const std::string& uri, LauncherAddress& address);

// Sends this rank's messages to its launcher's server at once instead of
// holding each small one back until the one before is acknowledged (Nagle's
// algorithm against the server's delayed acknowledgement: about 40 ms in
// MPI_Finalize's closing exchange on Linux). The PMIx client library leaves
// the option off; this sets TCP_NODELAY on this process's TCP connection to
// the server named by PMIX_SERVER_URI* and changes nothing else: no other
// socket, no message. A no-op where there is no such connection (a run
// without a launcher, a server on a local socket). Returns the number of
// connections set (0 or 1). Call after MPI_Init.
int send_launcher_messages_at_once();

}  // namespace latdisp
