// Role start-up hardening; see sandbox.h.
#include "base/sandbox.h"

#include <grp.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace onionmail {
namespace {

Error SysError(const char* what) {
  return MakeError(ErrorCode::kInternal, std::string(what) + ": " + std::strerror(errno));
}

struct Ids {
  uid_t uid;
  gid_t gid;
};

Result<Ids> LookUpUser(const std::string& name) {
  long size = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(size > 0 ? static_cast<size_t>(size) : 16384);
  struct passwd pw;
  struct passwd* found = nullptr;
  int rc = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0) {
    return MakeError(ErrorCode::kInternal, "getpwnam_r failed for the sandbox user");
  }
  if (found == nullptr) {
    return MakeError(ErrorCode::kNotFound, "sandbox user does not exist: " + name);
  }
  return Ids{pw.pw_uid, pw.pw_gid};
}

Result<void> DropPrivileges(const SandboxOptions& options) {
  if (geteuid() != 0) {
    if (options.user.empty()) return Ok();
    auto ids = LookUpUser(options.user);
    if (!ids.ok()) return ids.error();
    if (ids->uid != getuid() || ids->uid != geteuid()) {
      return MakeError(ErrorCode::kPermissionDenied,
                       "not root and not running as sandbox user " + options.user);
    }
    return Ok();
  }
  if (options.user.empty()) {
    if (options.allow_root) return Ok();
    return MakeError(ErrorCode::kFailedPrecondition,
                     "refusing to run a role as root: set a sandbox user");
  }
  auto ids = LookUpUser(options.user);
  if (!ids.ok()) return ids.error();
  if (ids->uid == 0) {
    return MakeError(ErrorCode::kInvalidArgument, "sandbox user must not be uid 0");
  }
  const gid_t gid = ids->gid;
  const uid_t uid = ids->uid;
  // Groups first: after setresuid we could no longer change them.
  if (setgroups(1, &gid) != 0) return SysError("setgroups");
  if (setresgid(gid, gid, gid) != 0) return SysError("setresgid");
  if (setresuid(uid, uid, uid) != 0) return SysError("setresuid");

  // Verify it stuck: every id changed and root cannot be regained.
  uid_t ru, eu, su;
  gid_t rg, eg, sg;
  if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0) {
    return SysError("getresuid/getresgid");
  }
  if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid) {
    return MakeError(ErrorCode::kInternal, "privilege drop did not stick");
  }
  gid_t groups[2];
  int n = getgroups(2, groups);
  if (n != 1 || groups[0] != gid) {
    return MakeError(ErrorCode::kInternal, "supplementary groups were not dropped");
  }
  if (setuid(0) == 0 || seteuid(0) == 0) {
    return MakeError(ErrorCode::kInternal, "root could be regained after the drop");
  }
  return Ok();
}

}  // namespace

Result<void> PreloadLibrariesForSandbox() {
  if (OPENSSL_init_crypto(
          OPENSSL_INIT_LOAD_CONFIG | OPENSSL_INIT_ADD_ALL_CIPHERS | OPENSSL_INIT_ADD_ALL_DIGESTS,
          nullptr) != 1) {
    return MakeError(ErrorCode::kInternal, "OpenSSL initialisation failed");
  }
  unsigned char probe[16];
  if (RAND_bytes(probe, sizeof(probe)) != 1) {
    return MakeError(ErrorCode::kInternal, "OpenSSL DRBG did not instantiate");
  }
  OPENSSL_cleanse(probe, sizeof(probe));
  return Ok();
}

Result<void> EnterSandbox(const SandboxOptions& options) {
  ONIONMAIL_RETURN_IF_ERROR(PreloadLibrariesForSandbox());
  ONIONMAIL_RETURN_IF_ERROR(DropPrivileges(options));
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return SysError("PR_SET_NO_NEW_PRIVS");
  // Dropping uids resets dumpable on some paths but not all: set it last.
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return SysError("PR_SET_DUMPABLE");
  struct rlimit no_core = {0, 0};
  if (setrlimit(RLIMIT_CORE, &no_core) != 0) return SysError("setrlimit(RLIMIT_CORE)");
  if (options.policy.has_value()) ONIONMAIL_RETURN_IF_ERROR(options.policy->Install());
  return Ok();
}

}  // namespace onionmail
