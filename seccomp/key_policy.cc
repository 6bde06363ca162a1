// Seccomp policy of the key role; see policies.h and README.md.
//
// The key role is the only holder of key material. It reads and writes key
// blobs and user records (write, fsync, rename), may dlopen a PKCS#11 module
// (W^X mappings) and opens the PKCS#11 token directory. With the tpm2 device
// TCTI it does I/O on the pre-opened /dev/tpmrm0 fd: no socket at all. Only
// the swtpm/mssim TCP TCTI (development, tests) needs a TCP client socket,
// hence allow_tcp_tcti. Never execve, fork or ptrace.
#include <errno.h>
#include <seccomp.h>
#include <sys/socket.h>

#include "seccomp/policies.h"
#include "seccomp/syscall_sets.h"

namespace onionmail::seccomp {

Policy KeyRolePolicy(bool allow_tcp_tcti) {
  Policy p(allow_tcp_tcti ? "key+tcp-tcti" : "key");
  AddBasicRuntime(p);
  AddMemory(p, ExecMappings::kWriteXorExec);  // PKCS#11 modules are dlopen'ed
  AddThreads(p);                              // one thread per IPC client
  AddPolling(p);                              // IPC loop, TCTI timeouts
  AddConnectedSocketIo(p);                    // IPC from front ends and store
  AddFileAccess(p);                           // key blobs, records, token dir
  if (allow_tcp_tcti) AddTcpClient(p);        // swtpm/mssim TCTI only
  p.Allow(SCMP_SYS(rt_sigtimedwait), "main thread waits for SIGTERM to log and exit");
  p.Allow(SCMP_SYS(statfs), "statvfs: free space of the state's filesystem (store.min_free_mib)");
  p.ErrnoIf(SCMP_SYS(socket), {ArgEq(0, AF_UNIX)}, EACCES,
            "SoftHSM2 logs errors to syslog (/dev/log): fail quietly, reach no socket");
  return p;
}

}  // namespace onionmail::seccomp
