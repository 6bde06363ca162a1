// Seccomp policy of the store role; see policies.h and README.md.
//
// The store writes ciphertext only: it opens, writes, fsyncs and renames
// message files, lists and locks mailboxes, and deletes (overwrite, unlink,
// fsync dir). It talks to the front ends and the key role over inherited
// socketpairs. No socket creation, no connect, no execve, no fork, no ptrace,
// no PROT_EXEC mappings.
#include <seccomp.h>

#include "seccomp/policies.h"
#include "seccomp/syscall_sets.h"

namespace onionmail::seccomp {

Policy StorePolicy() {
  Policy p("store");
  AddBasicRuntime(p);
  AddMemory(p, ExecMappings::kNone);  // no code is mapped after start-up
  AddThreads(p);                      // retention sweep, per-client threads
  AddPolling(p);                      // IPC loop
  AddConnectedSocketIo(p);            // IPC with front ends and key role
  AddFileAccess(p);                   // spool and mailbox directories
  return p;
}

}  // namespace onionmail::seccomp
