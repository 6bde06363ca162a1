// Seccomp policy of the SMTP front end; see policies.h and README.md.
//
// The front end parses attacker input. After start-up it holds: the listening
// fd, accepted connections, IPC socketpairs to the store and key roles, and a
// TLS context loaded before install. It needs no path, no new socket and no
// new process, so openat/socket/connect/execve/fork/ptrace are not listed and
// kill it.
#include <seccomp.h>
#include <sys/socket.h>

#include "seccomp/policies.h"
#include "seccomp/syscall_sets.h"

namespace onionmail::seccomp {

Policy SmtpFrontEndPolicy() {
  Policy p("smtp");
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
