// The seccomp policy of each role (one .cc file per role).
//
// Contract: each function returns a default-deny Policy (violations kill the
// process with SIGSYS) built from the groups in syscall_sets.h; call it in
// the process that installs it, after the role's start-up (fds open, config
// read, TLS context and libraries loaded) and usually via EnterSandbox()
// (src/base/sandbox.h). What each policy allows and why: seccomp/README.md.
// No role may execve (except the supervisor) or ptrace (none).
#pragma once

#include "seccomp/policy.h"

namespace onionmail::seccomp {

// SMTP front end: serves accepted connections on the listening fd and talks
// to the store/key roles over inherited socketpairs. No open/openat, no
// socket/connect, no execve, no fork, no PROT_EXEC mappings.
Policy SmtpFrontEndPolicy();

// POP3 front end: same surface as the SMTP front end.
Policy Pop3FrontEndPolicy();

// Key role: file access (key blobs, user records, PKCS#11 token dir), W^X
// mappings for dlopen'ed PKCS#11 modules. With the tpm2 device TCTI it talks
// to the pre-opened /dev/tpmrm0 fd and needs no socket; allow_tcp_tcti adds a
// TCP client socket for the swtpm/mssim TCTI (tests, development).
Policy KeyRolePolicy(bool allow_tcp_tcti);

// Peer role (onionmail-peer): the only role that connects out. TCP client
// sockets (AF_INET/AF_INET6, SOCK_STREAM, protocol 0 or TCP) and connect; I/O
// on its control channel and its own connections. No open/openat, no other
// socket family or type, no bind/listen/accept, no execve, no fork, no
// PROT_EXEC mappings, no ptrace, no setuid.
Policy PeerClientPolicy();

// Relay role (onionmail-relay): relays local users' mail to other onion
// servers through Tor (docs/federation.md). The peer role's surface: outbound
// TCP client sockets and connect, threads, I/O and fd passing on its control
// channel and session channels. No open/openat, no other socket family or
// type, no socketpair, no bind/listen/accept, no execve, no fork, no
// PROT_EXEC mappings, no ptrace, no setuid.
Policy RelayPolicy();

// Store role: file access under the spool/mailbox directories, IPC; no
// socket creation, no execve, no fork.
Policy StorePolicy();

// Supervisor: starts and restarts roles (fork/execve/wait4/kill), creates
// socketpairs. Filters are inherited across execve, so this is the upper
// bound of what a role can do before it installs its own policy: it covers
// the role's start-up (dynamic loader, file reads, privilege drop). Never
// ptrace. allow_tcp_client passes TCP client sockets through: needed for the
// key role's TCP TCTI and for the peer role (onionmaild always passes true
// since it runs the peer role; the roles' own policies narrow it again).
Policy SupervisorPolicy(bool allow_tcp_client);

}  // namespace onionmail::seccomp
