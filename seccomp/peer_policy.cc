// Seccomp policy of the peer role (onionmail-peer); see policies.h and
// README.md.
//
// The peer role is the only process that connects out: to Tor's SOCKS port
// (or, in tests, straight to a peer), then TLS 1.3 inside it. It holds its
// control channel to the key role and the TCP connections it makes itself,
// and no key. It needs no path, no listening socket, no other socket family
// and no new process, so openat/bind/listen/accept/socket(AF_UNIX, AF_NETLINK,
// SOCK_DGRAM, SOCK_RAW)/execve/fork/ptrace/setuid are not listed and kill it.
#include "seccomp/policies.h"
#include "seccomp/syscall_sets.h"

namespace onionmail::seccomp {

Policy PeerClientPolicy() {
  Policy p("peer");
  AddBasicRuntime(p);                 // fcntl F_GETFL/F_SETFL: non-blocking sockets
  AddMemory(p, ExecMappings::kNone);  // no code is ever mapped after start-up
  AddThreads(p);                      // libraries may start threads; the role needs none
  AddPolling(p);                      // connect/TLS deadlines via poll()
  AddConnectedSocketIo(p);            // IPC to the key role; bytes to/from peers;
                                      // getsockopt(SO_ERROR) after a non-blocking connect
  AddOutboundTcpClient(p, "TCP client to Tor's SOCKS port (or a numeric unseal peer)");
  return p;
}

}  // namespace onionmail::seccomp
