// Helpers for the seccomp policy tests.
//
// A policy is installed irreversibly, so every test runs it in a child: gtest
// death tests (threadsafe style: fork + re-exec) or an explicit fork() where
// the parent must act as the peer (TLS client). Policies are built inside the
// child (AddBasicRuntime pins tgkill to the building pid). Forbidden syscalls
// are made with raw syscall() so libc cannot substitute another syscall.
#pragma once

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "seccomp/policy.h"

namespace onionmail::seccomp::testing {

// Installs `policy`; exits 100 with a message if it cannot (never returns
// with the process unfiltered).
void InstallOrExit(const Policy& policy);

// Writes "FAIL: what" to stderr and exits 1 (async-signal-safe).
[[noreturn]] void Fail(const char* what);

// A listening TCP socket on 127.0.0.1 with an ephemeral port; -1 on error.
int ListenOnLoopback(uint16_t* port);
// A TCP socket connected to 127.0.0.1:port; -1 on error.
int ConnectToLoopback(uint16_t port);

// A TLS server context with a fresh self-signed P-256 certificate, made before
// any policy is installed (as a front end does at start-up). nullptr on error.
SSL_CTX* MakeTlsServerContext();
// Server side under test: handshake on fd, read one line, answer, close.
// Returns 0 on success, a small positive code naming the failing step.
int ServeOneTlsExchange(SSL_CTX* ctx, int fd);
// Client side (parent): handshake, send "QUIT\r\n", read the reply.
bool RunTlsClient(int fd, std::string* reply);

// Runs `child` (which must _exit) in a forked child and returns its wait
// status.
template <typename Fn>
int RunInForkedChild(Fn child) {
  pid_t pid = fork();
  if (pid == 0) {
    child();
    _exit(99);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
  return status;
}

}  // namespace onionmail::seccomp::testing

// The statement, run in a death-test child after `policy_expr` is installed,
// must kill the process with SIGSYS. `setup` runs before the install.
#define OM_EXPECT_SIGSYS_AFTER(setup, policy_expr, statement)        \
  do {                                                               \
    ::testing::FLAGS_gtest_death_test_style = "threadsafe";          \
    EXPECT_EXIT(                                                     \
        {                                                            \
          setup;                                                     \
          ::onionmail::seccomp::testing::InstallOrExit(policy_expr); \
          statement;                                                 \
          _exit(0);                                                  \
        },                                                           \
        ::testing::KilledBySignal(SIGSYS), "");                      \
  } while (0)

#define OM_EXPECT_SIGSYS(policy_expr, statement) \
  OM_EXPECT_SIGSYS_AFTER((void)0, policy_expr, statement)

// The statement, run under `policy_expr` in a death-test child, must finish;
// it reports failures with Fail() (exit 1), so success is exit code 0.
#define OM_EXPECT_WORKS_AFTER(setup, policy_expr, statement)         \
  do {                                                               \
    ::testing::FLAGS_gtest_death_test_style = "threadsafe";          \
    EXPECT_EXIT(                                                     \
        {                                                            \
          setup;                                                     \
          ::onionmail::seccomp::testing::InstallOrExit(policy_expr); \
          statement;                                                 \
          _exit(0);                                                  \
        },                                                           \
        ::testing::ExitedWithCode(0), "");                           \
  } while (0)

#define OM_EXPECT_WORKS(policy_expr, statement) \
  OM_EXPECT_WORKS_AFTER((void)0, policy_expr, statement)

#define OM_REQUIRE(cond)                                     \
  do {                                                       \
    if (!(cond)) ::onionmail::seccomp::testing::Fail(#cond); \
  } while (0)
