// Seccomp policy of the relay role (onionmail-relay); see policies.h and
// README.md.
//
// The relay role carries a local user's message to another onion server
// while the user's SMTP session waits (docs/federation.md): it receives one
// session channel per relayed transaction from the SMTP front end (fd
// passing on its control channel), serves each in a thread, and connects to
// Tor's SOCKS port for each. It holds no key and opens no file. It is the
// peer role's surface, in a process of its own, because its input is
// attacker-influenced (remote replies, message bytes) and the peer role
// carries unseal traffic. openat/bind/listen/accept/socketpair/socket of any
// other kind/execve/fork/ptrace/setuid are not listed and kill it.
#include "seccomp/policies.h"
#include "seccomp/syscall_sets.h"

namespace onionmail::seccomp {

Policy RelayPolicy() {
  Policy p("relay");
  AddBasicRuntime(p);                 // fcntl F_GETFL/F_SETFL: non-blocking sockets
  AddMemory(p, ExecMappings::kNone);  // no code is ever mapped after start-up
  AddThreads(p);                      // one thread per relayed transaction
  AddPolling(p);                      // connect/TLS/SMTP deadlines via poll()
  AddConnectedSocketIo(p);            // control channel (fd passing), session channels,
                                      // bytes to/from the remote; getsockopt(SO_ERROR)
  AddOutboundTcpClient(p,
                       "TCP client to Tor's SOCKS port, and on an exit gateway to its smarthost");
  return p;
}

}  // namespace onionmail::seccomp
