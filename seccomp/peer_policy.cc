// Seccomp policy of the peer role (onionmail-peer); see policies.h and
// README.md.
//
// The peer role is the only process that connects out: to Tor's SOCKS port
// (or, in tests, straight to a peer), then TLS 1.3 inside it. It holds its
// control channel to the key role and the TCP connections it makes itself,
// and no key. It needs no path, no listening socket, no other socket family
// and no new process, so openat/bind/listen/accept/socket(AF_UNIX, AF_NETLINK,
// SOCK_DGRAM, SOCK_RAW)/execve/fork/ptrace/setuid are not listed and kill it.
#include <netinet/in.h>
#include <seccomp.h>
#include <sys/socket.h>

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
  // TCP client sockets only: type SOCK_STREAM with at most SOCK_NONBLOCK and
  // SOCK_CLOEXEC, protocol 0 or TCP (not SCTP's one-to-one SOCK_STREAM).
  constexpr uint64_t kTypeMask = ~uint64_t{SOCK_NONBLOCK | SOCK_CLOEXEC} & 0xffffffffu;
  for (int family : {AF_INET, AF_INET6}) {
    for (int protocol : {0, static_cast<int>(IPPROTO_TCP)}) {
      p.AllowIf(SCMP_SYS(socket),
                {ArgEq(0, static_cast<uint64_t>(family)), ArgMaskedEq(1, kTypeMask, SOCK_STREAM),
                 ArgEq(2, static_cast<uint64_t>(protocol))},
                "TCP client socket to Tor's SOCKS port or a numeric peer address");
    }
  }
  // The address cannot be checked by seccomp (it is behind a pointer); only
  // TCP sockets exist in this process, and the unit file can pin the
  // destination (IPAddressAllow=localhost with Tor on the same host).
  p.Allow(SCMP_SYS(connect), "connect the TCP client (to the SOCKS5 proxy or a peer)");
  return p;
}

}  // namespace onionmail::seccomp
