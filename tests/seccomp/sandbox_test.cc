// Tests of EnterSandbox (src/base/sandbox.h): privilege drop, no_new_privs,
// not dumpable, no core files, then the policy.
#include "base/sandbox.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "seccomp/policies.h"
#include "tests/seccomp/test_util.h"

namespace onionmail {
namespace {

using ::onionmail::seccomp::testing::RunInForkedChild;

// Checks done after EnterSandbox without a policy (so the checks can use any
// syscall); exits 0 when everything holds.
[[noreturn]] void CheckHardenedAndExit() {
  OM_REQUIRE(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
  OM_REQUIRE(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0);
  struct rlimit core;
  OM_REQUIRE(getrlimit(RLIMIT_CORE, &core) == 0 && core.rlim_cur == 0 && core.rlim_max == 0);
  _exit(0);
}

TEST(SandboxTest, RootWithoutASandboxUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  auto r = EnterSandbox(SandboxOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 0);  // nothing happened
}

TEST(SandboxTest, UnknownSandboxUserIsNotFound) {
  SandboxOptions options;
  options.user = "om-no-such-user-4711";
  auto r = EnterSandbox(options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 0);
}

TEST(SandboxTest, SetsNoNewPrivsNotDumpableAndNoCoreFiles) {
  int status = RunInForkedChild([] {
    SandboxOptions options;
    options.allow_root = true;
    if (!EnterSandbox(options).ok()) _exit(2);
    CheckHardenedAndExit();
  });
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(SandboxTest, RootDropsToTheSandboxUserAndCannotRegainRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  struct passwd* nobody = getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  const uid_t uid = nobody->pw_uid;
  const gid_t gid = nobody->pw_gid;
  int status = RunInForkedChild([uid, gid] {
    SandboxOptions options;
    options.user = "nobody";
    if (!EnterSandbox(options).ok()) _exit(2);
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    OM_REQUIRE(getresuid(&ru, &eu, &su) == 0 && ru == uid && eu == uid && su == uid);
    OM_REQUIRE(getresgid(&rg, &eg, &sg) == 0 && rg == gid && eg == gid && sg == gid);
    OM_REQUIRE(setuid(0) == -1);
    OM_REQUIRE(setgroups(0, nullptr) == -1);
    CheckHardenedAndExit();
  });
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(SandboxTest, InstallsThePolicyLast) {
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_EXIT(
      {
        SandboxOptions options;
        options.allow_root = true;
        options.policy = seccomp::SmtpFrontEndPolicy();
        if (!EnterSandbox(options).ok()) _exit(2);
        if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) _exit(3);
        syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY);
        _exit(0);
      },
      ::testing::KilledBySignal(SIGSYS), "");
}

}  // namespace
}  // namespace onionmail
