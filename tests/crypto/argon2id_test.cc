#include "crypto/argon2id.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "crypto/hex.h"
#include "tests/crypto/under_asan.h"

namespace onionmail::crypto {
namespace {

SecretBytes Pw(std::string_view s) { return SecretBytes(SecretAccess::Grant(), s); }

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

// Small parameters keep the tests fast.
constexpr Argon2Params kFast{1, 64, 1};
const std::vector<uint8_t> kSalt = Bytes("0123456789abcdef");

TEST(Argon2idTest, MatchesReferenceVector) {
  // libargon2 reference test (argon2id, v1.3): t=2, m=2^16 KiB, p=1.
  auto key = Argon2idDerive(Pw("password"), Bytes("somesalt"), {2, 65536, 1}, 32);
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(ToHex(key->Reveal(SecretAccess::Grant())),
            "09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7");
}

TEST(Argon2idTest, DeriveIsDeterministicAndHonoursLength) {
  auto a = Argon2idDerive(Pw("pw"), kSalt, kFast, 32);
  auto b = Argon2idDerive(Pw("pw"), kSalt, kFast, 32);
  auto c = Argon2idDerive(Pw("pw"), kSalt, kFast, 64);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_TRUE(a->Equals(*b));
  EXPECT_EQ(c->size(), 64u);
}

TEST(Argon2idTest, SaltAndParamsChangeTheOutput) {
  auto a = Argon2idDerive(Pw("pw"), kSalt, kFast);
  auto b = Argon2idDerive(Pw("pw"), Bytes("fedcba9876543210"), kFast);
  auto c = Argon2idDerive(Pw("pw"), kSalt, {2, 64, 1});
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_FALSE(a->Equals(*b));
  EXPECT_FALSE(a->Equals(*c));
}

TEST(Argon2idTest, VerifyAcceptsRightPassword) {
  auto key = Argon2idDerive(Pw("correct horse"), kSalt, kFast);
  ASSERT_TRUE(key.ok());
  auto expected = key->Reveal(SecretAccess::Grant());
  EXPECT_TRUE(Argon2idVerify(Pw("correct horse"), kSalt, kFast, expected).ok());
}

TEST(Argon2idTest, VerifyRejectsWrongPasswordAsUnauthenticated) {
  auto key = Argon2idDerive(Pw("correct horse"), kSalt, kFast);
  ASSERT_TRUE(key.ok());
  auto expected = key->Reveal(SecretAccess::Grant());
  auto r = Argon2idVerify(Pw("correct horsE"), kSalt, kFast, expected);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
  auto empty = Argon2idVerify(Pw(""), kSalt, kFast, expected);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, ErrorCode::kUnauthenticated);
}

TEST(Argon2idTest, VerifyRejectsWrongSaltAsUnauthenticated) {
  auto key = Argon2idDerive(Pw("pw"), kSalt, kFast);
  ASSERT_TRUE(key.ok());
  auto r = Argon2idVerify(Pw("pw"), Bytes("another-salt-16b"), kFast,
                          key->Reveal(SecretAccess::Grant()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
}

void ExpectInvalid(const Argon2Params& p) {
  auto r = Argon2idDerive(Pw("pw"), kSalt, p);
  ASSERT_FALSE(r.ok()) << p.t_cost << "/" << p.m_cost_kib << "/" << p.parallelism;
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST(Argon2idTest, TinyParametersAreInvalidArgument) {
  ExpectInvalid({0, 64, 1});
  ExpectInvalid({1, 7, 1});
  ExpectInvalid({1, 64, 0});
  ExpectInvalid({1, 8, 2});  // less than 8 KiB per lane
}

TEST(Argon2idTest, HugeParametersAreInvalidArgumentWithoutAllocating) {
  ExpectInvalid({1, 4u * 1024 * 1024 + 1, 1});
  ExpectInvalid({1, 0xffffffffu, 1});
  ExpectInvalid({0xffffffffu, 64, 1});
  ExpectInvalid({kArgon2MaxTimeCost + 1, 64, 1});
  ExpectInvalid({1, 1u << 20, kArgon2MaxParallelism + 1});
}

TEST(Argon2idTest, VerifyRejectsHugeParametersBeforeHashing) {
  std::vector<uint8_t> expected(32, 0);
  auto r = Argon2idVerify(Pw("pw"), kSalt, {1, 0xffffffffu, 1}, expected);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST(Argon2idTest, ShortSaltAndOutputAreInvalidArgument) {
  auto short_salt = Argon2idDerive(Pw("pw"), Bytes("1234567"), kFast);
  ASSERT_FALSE(short_salt.ok());
  EXPECT_EQ(short_salt.error().code, ErrorCode::kInvalidArgument);
  auto short_out = Argon2idDerive(Pw("pw"), kSalt, kFast, 3);
  ASSERT_FALSE(short_out.ok());
  EXPECT_EQ(short_out.error().code, ErrorCode::kInvalidArgument);
  auto empty_expected = Argon2idVerify(Pw("pw"), kSalt, kFast, {});
  ASSERT_FALSE(empty_expected.ok());
  EXPECT_EQ(empty_expected.error().code, ErrorCode::kInvalidArgument);
}

TEST(Argon2idTest, OneLaneWithSixteenByteSaltUsesLibsodium) {
  // Every blob the server writes: one lane, 16-byte salt, 32-byte output.
  EXPECT_STREQ(Argon2idImplementation({3, 65536, 1}, kArgon2SaltBytes), "libsodium");
  EXPECT_STREQ(Argon2idImplementation({1, 8, 1}, kArgon2SaltBytes), "libsodium");
  EXPECT_STREQ(Argon2idImplementation({1, 64, 2}, kArgon2SaltBytes), "libargon2");
  EXPECT_STREQ(Argon2idImplementation({1, 64, 1}, 8), "libargon2");
  EXPECT_STREQ(Argon2idImplementation({1, 64, 1}, kArgon2SaltBytes, 8), "libargon2");
}

TEST(Argon2idTest, LibsodiumAndLibargon2GiveTheSameKey) {
  const std::vector<std::string> passwords = {"", "pw", "correct horse battery staple",
                                              std::string(4096, 'x'), std::string("a\0b", 3)};
  const std::vector<Argon2Params> params = {
      {1, 8, 1}, {1, 64, 1}, {2, 1024, 1}, {3, 4096, 1}, {4, 200, 1}};
  for (const auto& pw : passwords) {
    for (const auto& p : params) {
      for (size_t out_len : {16u, 32u, 64u}) {
        ASSERT_STREQ(Argon2idImplementation(p, kSalt.size(), out_len), "libsodium");
        auto fast = Argon2idDerive(Pw(pw), kSalt, p, out_len);
        auto ref = Argon2idDeriveReference(Pw(pw), kSalt, p, out_len);
        ASSERT_TRUE(fast.ok() && ref.ok());
        EXPECT_TRUE(fast->Equals(*ref))
            << pw.size() << " " << p.t_cost << "/" << p.m_cost_kib << "/" << out_len;
      }
    }
  }
}

TEST(Argon2idTest, DefaultParametersMatchLibargon2) {
  // The shipped default (t=3, 64 MiB, one lane), as the key role computes it.
  auto fast = Argon2idDerive(Pw("hunter2"), kSalt, Argon2Params{}, 32);
  auto ref = Argon2idDeriveReference(Pw("hunter2"), kSalt, Argon2Params{}, 32);
  ASSERT_TRUE(fast.ok() && ref.ok());
  EXPECT_TRUE(fast->Equals(*ref));
}

TEST(Argon2idTest, SeveralLanesShortSaltsAndOutputsStillWork) {
  // Cases libsodium does not take go to libargon2 and stay valid.
  auto lanes = Argon2idDerive(Pw("pw"), kSalt, {1, 64, 4}, 32);
  auto lanes_ref = Argon2idDeriveReference(Pw("pw"), kSalt, {1, 64, 4}, 32);
  ASSERT_TRUE(lanes.ok() && lanes_ref.ok());
  EXPECT_TRUE(lanes->Equals(*lanes_ref));
  auto short_out = Argon2idDerive(Pw("pw"), kSalt, kFast, 8);
  ASSERT_TRUE(short_out.ok());
  EXPECT_EQ(short_out->size(), 8u);
  auto long_salt = Argon2idDerive(Pw("pw"), Bytes("a salt of 24 bytes......"), kFast, 32);
  ASSERT_TRUE(long_salt.ok());
}

// Runs Argon2idDerive(params) in a child process whose address space may grow
// by only 32 MiB, and returns the ErrorCode it got as an int: 100 if it
// succeeded, -1 if the child did not exit normally (a crash).
int ErrorCodeWithLittleMemory(const Argon2Params& params) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    long pages = 0;
    FILE* statm = std::fopen("/proc/self/statm", "r");
    if (statm == nullptr || std::fscanf(statm, "%ld", &pages) != 1) ::_exit(101);
    std::fclose(statm);
    const rlim_t limit = static_cast<rlim_t>(pages) * static_cast<rlim_t>(::sysconf(_SC_PAGESIZE)) +
                         (rlim_t{32} << 20);
    const struct rlimit lim = {limit, limit};
    if (::setrlimit(RLIMIT_AS, &lim) != 0) ::_exit(102);
    auto key = Argon2idDerive(Pw("pw"), kSalt, params, 32);
    ::_exit(key.ok() ? 100 : static_cast<int>(key.error().code));
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return -2;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// When the 64 MiB cannot be had (memory limit, overcommit off), Argon2id is
// kResourceExhausted, which the POP3 and SMTP sessions answer with a temporary
// login failure (pop3/session.cc, smtp/session.cc); neither library may crash
// or hand back a key.
TEST(Argon2idTest, OutOfMemoryIsResourceExhaustedInBothLibraries) {
  if (kUnderAsan) {
    GTEST_SKIP() << "AddressSanitizer's allocator and shadow memory do not mix with RLIMIT_AS";
  }
  const Argon2Params one_lane{1, 65536, 1};   // libsodium
  const Argon2Params two_lanes{1, 65536, 2};  // libargon2
  ASSERT_STREQ(Argon2idImplementation(one_lane, kSalt.size()), "libsodium");
  ASSERT_STREQ(Argon2idImplementation(two_lanes, kSalt.size()), "libargon2");
  EXPECT_EQ(ErrorCodeWithLittleMemory(one_lane), static_cast<int>(ErrorCode::kResourceExhausted));
  EXPECT_EQ(ErrorCodeWithLittleMemory(two_lanes), static_cast<int>(ErrorCode::kResourceExhausted));
  // The same child with a small memory cost succeeds (two lanes also start two
  // threads, whose stacks take room too): the limit is what failed.
  EXPECT_EQ(ErrorCodeWithLittleMemory({1, 1024, 1}), 100);
  EXPECT_EQ(ErrorCodeWithLittleMemory({1, 1024, 2}), 100);
}

}  // namespace
}  // namespace onionmail::crypto
