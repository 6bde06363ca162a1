// EnterSandbox: the common last step of every role's start-up.
//
// Contract: call it once, after the role has opened everything it needs
// (listening/IPC fds, config, TLS context, key store) and before it touches
// any untrusted input. In order it:
//   0. PreloadLibrariesForSandbox() (below),
//   1. DropToUser(user, allow_root) (below),
//   2. PR_SET_NO_NEW_PRIVS (no setuid binary or file capability can raise
//      privileges afterwards),
//   3. PR_SET_DUMPABLE 0 (no core dumps, no ptrace by the same uid),
//   4. RLIMIT_CORE 0,
//   5. installs `policy` (default deny, violations kill with SIGSYS).
// On error nothing later in the list has happened; the caller must exit.
// Errors carry no secrets. Built in library om_sandbox (seccomp/).
#pragma once

#include <optional>
#include <string>

#include "base/result.h"
#include "seccomp/policy.h"

namespace onionmail {

struct SandboxOptions {
  std::string user;                       // drop to this user when root
  bool allow_root = false;                // tests only: stay root if no user
  std::optional<seccomp::Policy> policy;  // empty: no filter (tests only)
};

Result<void> EnterSandbox(const SandboxOptions& options);

// As root: setgroups(the user's groups, as initgroups would: e.g. `tss` for
// /dev/tpmrm0), setresgid, setresuid, then verifies all three uids/gids
// stuck and that setuid(0) now fails; re-arms a parent-death signal (the uid
// change clears it). Running as root with an empty `user`
// is refused unless allow_root (tests only). As non-root, a non-empty `user`
// must be the current user (nothing changes). Used alone by roles that must
// open their files as their own user (key role, onionmailctl).
Result<void> DropToUser(const std::string& user, bool allow_root);

// Makes libraries do now the file access they would otherwise do lazily on
// first use, when the filter would kill it: OpenSSL reads openssl.cnf on its
// first call and instantiates its DRBG; libc reads /etc/localtime, and
// /sys/devices/system/cpu/online when malloc first adds an arena (so the
// arena count is fixed here: 2 per CPU). Idempotent.
Result<void> PreloadLibrariesForSandbox();

}  // namespace onionmail
