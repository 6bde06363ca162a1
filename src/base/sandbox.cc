// Role start-up hardening; see sandbox.h.
#include "base/sandbox.h"

#include <grp.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <limits>
#include <thread>
#include <vector>

namespace onionmail {
namespace {

Error SysError(const char* what) {
  return MakeError(ErrorCode::kInternal, std::string(what) + ": " + std::strerror(errno));
}

// glibc's malloc opens /proc/sys/vm/overcommit_memory the first time a
// thread arena gives memory back (shrink_heap -> check_may_shrink_heap) and
// caches the answer. Under a policy without openat that first trim would
// kill the role at an arbitrary moment (seen in CI: a death test with 16
// allocating threads). A thread that fills and frees 512 KiB of its own arena
// (above the 128 KiB trim threshold, below the mmap threshold) takes that
// path now, before the sandbox. Run at start-up, before other threads, so
// the thread gets a fresh arena of its own rather than the main one.
void WarmThreadArenaTrim() {
  std::thread warm([] {
    constexpr int kBlocks = 8;
    void* blocks[kBlocks];
    for (void*& b : blocks) b = std::malloc(64 * 1024);
    for (int i = kBlocks - 1; i >= 0; --i) std::free(blocks[i]);
  });
  warm.join();
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

// The user's supplementary groups as /etc/group lists them (initgroups
// semantics, e.g. `tss` for /dev/tpmrm0), always including its primary gid.
Result<std::vector<gid_t>> GroupsOf(const std::string& name, gid_t gid) {
  int n = 16;
  std::vector<gid_t> groups(static_cast<size_t>(n));
  for (int tries = 0; tries < 8; ++tries) {
    int count = n;
    if (getgrouplist(name.c_str(), gid, groups.data(), &count) >= 0) {
      groups.resize(static_cast<size_t>(count));
      return groups;
    }
    if (count <= n || count > 65536) break;
    n = count;
    groups.resize(static_cast<size_t>(n));
  }
  return MakeError(ErrorCode::kInternal, "cannot list the groups of sandbox user " + name);
}

}  // namespace

Result<void> DropToUser(const std::string& user, bool allow_root) {
  if (geteuid() != 0) {
    if (user.empty()) return Ok();
    auto ids = LookUpUser(user);
    if (!ids.ok()) return ids.error();
    if (ids->uid != getuid() || ids->uid != geteuid()) {
      return MakeError(ErrorCode::kPermissionDenied,
                       "not root and not running as sandbox user " + user);
    }
    return Ok();
  }
  if (user.empty()) {
    if (allow_root) return Ok();
    return MakeError(ErrorCode::kFailedPrecondition,
                     "refusing to run a role as root: set a sandbox user");
  }
  auto ids = LookUpUser(user);
  if (!ids.ok()) return ids.error();
  if (ids->uid == 0) {
    return MakeError(ErrorCode::kInvalidArgument, "sandbox user must not be uid 0");
  }
  const gid_t gid = ids->gid;
  const uid_t uid = ids->uid;
  // A uid change clears the parent-death signal: remember it to re-arm it.
  int death_signal = 0;
  if (prctl(PR_GET_PDEATHSIG, &death_signal, 0, 0, 0) != 0) return SysError("PR_GET_PDEATHSIG");
  const pid_t parent = getppid();
  auto wanted = GroupsOf(user, gid);
  if (!wanted.ok()) return wanted.error();
  // Groups first: after setresuid we could no longer change them.
  if (setgroups(wanted->size(), wanted->data()) != 0) return SysError("setgroups");
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
  std::vector<gid_t> have(wanted->size() + 1);
  int n = getgroups(static_cast<int>(have.size()), have.data());
  if (n < 0 || static_cast<size_t>(n) != wanted->size() ||
      !std::is_permutation(wanted->begin(), wanted->end(), have.begin())) {
    return MakeError(ErrorCode::kInternal, "supplementary groups were not dropped");
  }
  // setresuid, not setuid/seteuid: the supervisor's filter (inherited by
  // every role's start-up) allows only setresuid.
  if (setresuid(0, 0, 0) == 0 ||
      setresuid(static_cast<uid_t>(-1), 0, static_cast<uid_t>(-1)) == 0) {
    return MakeError(ErrorCode::kInternal, "root could be regained after the drop");
  }
  if (death_signal != 0) {
    if (prctl(PR_SET_PDEATHSIG, death_signal, 0, 0, 0) != 0) return SysError("PR_SET_PDEATHSIG");
    if (getppid() != parent) {  // the parent died before the re-arm
      return MakeError(ErrorCode::kUnavailable, "parent exited during the privilege drop");
    }
  }
  return Ok();
}

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
  // glibc's malloc reads /sys/devices/system/cpu/online (get_nprocs) the
  // first time contention makes it create a second arena, which under a
  // policy without openat kills a busy front end. A fixed arena limit means
  // it never asks (and bounds memory). Found by bench/ with 8 clients.
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  // (Sanitizer allocators replace malloc and ignore mallopt: nothing to fix there.)
  (void)mallopt(M_ARENA_MAX, static_cast<int>(cpus > 0 ? 2 * cpus : 2));
  WarmThreadArenaTrim();
  // The warm-up alone is not enough: freeing a mmapped chunk raises glibc's
  // dynamic mmap and trim thresholds, so the warm-up's trim may not reach
  // shrink_heap, and a later, larger one under load would (seen with 8
  // concurrent SMTP clients: SIGSYS on openat). Fixed thresholds make it
  // deterministic: thread heaps are never shrunk (their memory is reused;
  // a heap that empties completely is still unmapped), and chunks above
  // 128 KiB (glibc's default) always come from mmap and go back at free.
  (void)mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  (void)mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
  // libc reads /etc/localtime on the first local-time conversion (Received:
  // and Date stamps): make it happen now.
  tzset();
  time_t now = time(nullptr);
  struct tm tm_now;
  (void)localtime_r(&now, &tm_now);
  return Ok();
}

Result<void> EnterSandbox(const SandboxOptions& options) {
  ONIONMAIL_RETURN_IF_ERROR(PreloadLibrariesForSandbox());
  ONIONMAIL_RETURN_IF_ERROR(DropToUser(options.user, options.allow_root));
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return SysError("PR_SET_NO_NEW_PRIVS");
  // Dropping uids resets dumpable on some paths but not all: set it last.
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return SysError("PR_SET_DUMPABLE");
  struct rlimit no_core = {0, 0};
  if (setrlimit(RLIMIT_CORE, &no_core) != 0) return SysError("setrlimit(RLIMIT_CORE)");
  if (options.policy.has_value()) ONIONMAIL_RETURN_IF_ERROR(options.policy->Install());
  return Ok();
}

}  // namespace onionmail
