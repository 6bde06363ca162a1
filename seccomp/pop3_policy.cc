// Seccomp policy of the POP3 front end; see policies.h and README.md.
//
// Like the SMTP front end it parses attacker input. It holds the listening
// fd, accepted connections, IPC socketpairs to the store and key roles (the
// mailbox listing, decrypted message streams and the session's data keys all
// arrive over IPC) and a TLS context loaded before install. The mailbox lock
// (flock) is taken by the store, not here. No path, no new socket, no new
// process: openat/socket/connect/execve/fork/ptrace kill it.
#include <seccomp.h>
#include <sys/socket.h>

#include "seccomp/policies.h"
#include "seccomp/syscall_sets.h"

namespace onionmail::seccomp {

Policy Pop3FrontEndPolicy() {
  Policy p("pop3");
  AddBasicRuntime(p);
  AddMemory(p, ExecMappings::kNone);  // no code is ever mapped after start-up
  AddThreads(p);                      // one thread per connection
  AddPolling(p);                      // idle/total deadlines via poll()
  AddConnectedSocketIo(p);            // client bytes, IPC to store/key roles
  AddAccept(p);                       // new clients on the inherited listener
  // One AF_UNIX socketpair per client connection: its session channel to the
  // key role. socket(2) itself stays forbidden: no path, no network.
  p.AllowIf(SCMP_SYS(socketpair), {ArgEq(0, AF_UNIX)}, "session channel to the key role");
  return p;
}

}  // namespace onionmail::seccomp
