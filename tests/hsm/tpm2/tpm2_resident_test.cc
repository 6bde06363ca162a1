// Tpm2Token's resident keys (hsm/tpm2/tpm2_resident.cc) against a real
// swtpm: the TLS and HMAC keys stay loaded under one reused session, the
// operations that load another key make room first (swtpm has 3 transient
// slots and no resource manager), and a client that died leaves nothing the
// next connection keeps.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hsm/tpm2/esys_support.h"
#include "hsm/tpm2/tpm2_token.h"
#include "tests/crypto/ecdsa_test_util.h"
#include "tests/hsm/tpm2/swtpm_harness.h"
#include "tests/hsm/tpm2/swtpm_suite.h"

namespace onionmail::hsm::tpm2 {
namespace {

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

using onionmail::testing::Sha256Digest;

class Tpm2ResidentTest : public testing::SwtpmSuite<Tpm2ResidentTest> {
 protected:
  static void SetUpTestSuite() {
    setup_error_ = StartSwtpm("resident keys\n");
    if (setup_error_.empty()) setup_error_ = OpenAndProvision(Options(), 1024);
    if (setup_error_.empty()) setup_error_ = OpenAndProvision(PcrOptions(), 1024);
  }
  static Tpm2Options PcrOptions() {
    Tpm2Options o = Options("pcr-keys");
    o.pcrs = {23};
    return o;
  }
  static int Loaded(Tpm2Token& token) {
    auto n = token.LoadedHandlesForTest();
    EXPECT_TRUE(n.ok()) << n.error().message;
    return n.ok() ? *n : -1;
  }
};

TEST_F(Tpm2ResidentTest, TlsKeyAndOneSessionStayLoadedBetweenSignatures) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  EXPECT_EQ(Loaded(*token), 1);  // the storage primary only
  auto spki = token->TlsPublicKey();
  ASSERT_TRUE(spki.ok());
  for (int i = 0; i < 3; ++i) {
    std::vector<uint8_t> digest = Sha256Digest("handshake " + std::to_string(i));
    auto sig = token->TlsSign(digest);
    ASSERT_TRUE(sig.ok()) << i << ": " << sig.error().message;
    EXPECT_TRUE(onionmail::testing::VerifyP256RawSignature(*spki, digest, *sig)) << i;
    EXPECT_EQ(Loaded(*token), 3) << i;  // primary, TLS key, session
  }
}

TEST_F(Tpm2ResidentTest, HmacKeyJoinsTheTlsKeyUnderTheSameSession) {
  std::array<uint8_t, 32> reference{};
  {
    auto fresh = OpenOrDie();
    ASSERT_NE(fresh, nullptr);
    auto mac = fresh->Hmac(Bytes("label"));
    ASSERT_TRUE(mac.ok()) << mac.error().message;
    reference = *mac;
  }
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  ASSERT_TRUE(token->TlsSign(Sha256Digest("first")).ok());
  for (int i = 0; i < 3; ++i) {
    auto mac = token->Hmac(Bytes("label"));
    ASSERT_TRUE(mac.ok()) << i << ": " << mac.error().message;
    EXPECT_EQ(*mac, reference) << i;
    EXPECT_EQ(Loaded(*token), 4) << i;  // primary, TLS key, HMAC key, one session
  }
}

TEST_F(Tpm2ResidentTest, AnRsaOperationFlushesTheResidentKeysFirst) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  ASSERT_TRUE(token->TlsSign(Sha256Digest("a")).ok());
  ASSERT_TRUE(token->Hmac(Bytes("b")).ok());
  ASSERT_EQ(Loaded(*token), 4);
  // 1024-bit key: a block below the modulus (top byte zero).
  std::vector<uint8_t> block(128, 0x5a);
  block[0] = 0;
  auto raw = token->RsaPrivateRaw(block);
  ASSERT_TRUE(raw.ok()) << raw.error().message;
  EXPECT_EQ(Loaded(*token), 1);  // the RSA key and its session are flushed too
  ASSERT_TRUE(token->TlsSign(Sha256Digest("c")).ok());
  EXPECT_EQ(Loaded(*token), 3);
}

TEST_F(Tpm2ResidentTest, InterleavedOperationsFitInSwtpmsThreeObjectSlots) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  auto spki = token->TlsPublicKey();
  ASSERT_TRUE(spki.ok());
  ASSERT_TRUE(token->CreateErasable(7).ok());
  std::vector<uint8_t> block(128, 0x33);
  block[0] = 0;
  for (int i = 0; i < 6; ++i) {
    std::vector<uint8_t> digest = Sha256Digest("round " + std::to_string(i));
    auto sig = token->TlsSign(digest);
    ASSERT_TRUE(sig.ok()) << i << ": " << sig.error().message;
    EXPECT_TRUE(onionmail::testing::VerifyP256RawSignature(*spki, digest, *sig)) << i;
    auto mac = token->Hmac(Bytes("round"));
    ASSERT_TRUE(mac.ok()) << i << ": " << mac.error().message;
    auto derived = token->DeriveErasable(7, Bytes("round"));
    ASSERT_TRUE(derived.ok()) << i << ": " << derived.error().message;
    if (i % 2 == 1) {
      auto raw = token->RsaPrivateRaw(block);
      ASSERT_TRUE(raw.ok()) << i << ": " << raw.error().message;
    }
  }
  ASSERT_TRUE(token->EraseErasable(7).ok());
  token.reset();
  EXPECT_EQ(testing::LoadedHandleCount(swtpm_->tcti()), 0);
}

TEST_F(Tpm2ResidentTest, PolicySessionIsSatisfiedAgainForEachUse) {
  auto token = OpenOrDie(PcrOptions());
  ASSERT_NE(token, nullptr);
  auto spki = token->TlsPublicKey();
  ASSERT_TRUE(spki.ok());
  std::optional<std::array<uint8_t, 32>> first_mac;
  for (int i = 0; i < 3; ++i) {
    std::vector<uint8_t> digest = Sha256Digest("policy " + std::to_string(i));
    auto sig = token->TlsSign(digest);
    ASSERT_TRUE(sig.ok()) << i << ": " << sig.error().message;
    EXPECT_TRUE(onionmail::testing::VerifyP256RawSignature(*spki, digest, *sig)) << i;
    auto mac = token->Hmac(Bytes("policy"));
    ASSERT_TRUE(mac.ok()) << i << ": " << mac.error().message;
    if (!first_mac) first_mac = *mac;
    EXPECT_EQ(*mac, *first_mac) << i;
    EXPECT_EQ(Loaded(*token), 4) << i;
  }
}

TEST_F(Tpm2ResidentTest, AFailedUseFlushesTheResidentKeysAndTheirSession) {
  // A policy on PCR 17, which swtpm's control channel changes while the
  // token stays connected. The hash sequence needs a free object slot (the
  // TPM would evict one for it), so only the TLS key is resident then.
  Tpm2Options o = Options("pcr17-keys");
  o.pcrs = {17};
  ASSERT_EQ(OpenAndProvision(o, 1024), "");
  auto token = OpenOrDie(o);
  ASSERT_NE(token, nullptr);
  ASSERT_TRUE(token->TlsSign(Sha256Digest("before")).ok());
  EXPECT_EQ(Loaded(*token), 3);  // primary, TLS key, session
  ASSERT_EQ(swtpm_->HashIntoPcr17("the platform changed"), "");
  auto sig = token->TlsSign(Sha256Digest("after"));
  ASSERT_FALSE(sig.ok());
  EXPECT_EQ(sig.error().code, ErrorCode::kPermissionDenied) << sig.error().message;
  EXPECT_EQ(Loaded(*token), 1);  // only the primary: keys and session flushed
  auto mac = token->Hmac(Bytes("after"));
  ASSERT_FALSE(mac.ok());
  EXPECT_EQ(mac.error().code, ErrorCode::kPermissionDenied) << mac.error().message;
  EXPECT_EQ(Loaded(*token), 1);
}

TEST_F(Tpm2ResidentTest, KeysWithAndWithoutAPolicyInOneKeyDirAreRefused) {
  // A key_dir put together by hand: the HMAC and RSA keys of the PCR
  // provisioning, the TLS key of the plain one.
  namespace fs = std::filesystem;
  Tpm2Options o = PcrOptions();
  o.key_dir = swtpm_->dir() + "/mixed-keys";
  fs::create_directory(o.key_dir);
  for (const char* name : {"hmac.tpm2", "rsa.tpm2"}) {
    fs::copy_file(PcrOptions().key_dir + "/" + name, o.key_dir + "/" + name);
  }
  fs::copy_file(Options().key_dir + "/tls-ec.tpm2", o.key_dir + "/tls-ec.tpm2");
  auto token = OpenOrDie(o);
  ASSERT_NE(token, nullptr);
  ASSERT_TRUE(token->TlsSign(Sha256Digest("plain key")).ok());  // its session: HMAC
  auto mac = token->Hmac(Bytes("policy key"));                  // needs a policy session
  ASSERT_FALSE(mac.ok());
  EXPECT_EQ(mac.error().code, ErrorCode::kFailedPrecondition) << mac.error().message;
  EXPECT_EQ(Loaded(*token), 1);  // the failure flushed the keys and the session
}

TEST_F(Tpm2ResidentTest, LeftoversOfAClientThatDiedAreFlushedAtConnect) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Dies holding the TLS key, the HMAC key and their session in the TPM.
    auto token = Tpm2Token::Open(Options());
    if (!token.ok()) _exit(2);
    if (!(*token)->TlsSign(Sha256Digest("then die")).ok()) _exit(3);
    if (!(*token)->Hmac(Bytes("then die")).ok()) _exit(4);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(testing::LoadedHandleCount(swtpm_->tcti()), 4);  // swtpm kept them all
  {
    auto token = OpenOrDie();
    ASSERT_NE(token, nullptr);
    EXPECT_EQ(Loaded(*token), 1);  // only the primary it made again
    ASSERT_TRUE(token->TlsSign(Sha256Digest("after")).ok());
  }
  EXPECT_EQ(testing::LoadedHandleCount(swtpm_->tcti()), 0);
}

// Without a resource manager, a second client that does not take turns with this one (its
// key directory, hence its lock file, is another: e.g. tpm2-tools, or a TPM reset) flushes
// this one's keys and sessions when it connects. This one's next operations fail with lost
// handles, connect again and succeed (RunRetrying): no TLS handshake or login fails for it.
TEST_F(Tpm2ResidentTest, AnotherClientFlushingOurHandlesCostsNoFailedOperation) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  auto spki = token->TlsPublicKey();
  ASSERT_TRUE(spki.ok());
  ASSERT_TRUE(token->TlsSign(Sha256Digest("before")).ok());
  auto reference = token->Hmac(Bytes("label"));
  ASSERT_TRUE(reference.ok()) << reference.error().message;
  ASSERT_EQ(Loaded(*token), 4);  // primary, TLS key, HMAC key, session
  for (int round = 0; round < 2; ++round) {
    {
      auto other = OpenOrDie(PcrOptions());  // its Connect flushes every object and session
      ASSERT_NE(other, nullptr);
      ASSERT_EQ(Loaded(*other), 1) << round;  // only its own primary is left
    }
    std::vector<uint8_t> digest = Sha256Digest("after " + std::to_string(round));
    auto sig = token->TlsSign(digest);
    ASSERT_TRUE(sig.ok()) << round << ": " << sig.error().message;
    EXPECT_TRUE(onionmail::testing::VerifyP256RawSignature(*spki, digest, *sig)) << round;
    auto mac = token->Hmac(Bytes("label"));
    ASSERT_TRUE(mac.ok()) << round << ": " << mac.error().message;
    EXPECT_EQ(*mac, *reference) << round;
    std::vector<uint8_t> block(128, 0x21);
    block[0] = 0;
    {
      auto other = OpenOrDie(PcrOptions());
      ASSERT_NE(other, nullptr);
    }
    auto raw = token->RsaPrivateRaw(block);
    ASSERT_TRUE(raw.ok()) << round << ": " << raw.error().message;
  }
}

// onionmailctl working next to the running server, both on a TPM without resource manager:
// each connection flushes what the other had loaded, and the TPM hands the same handle
// numbers out again. Neither may then use a handle that now names the other's object (an
// HMAC session check failure that counts towards the dictionary-attack lockout), and no
// operation of either fails.
TEST_F(Tpm2ResidentTest, TwoLiveClientsTakingTurnsNeverFailNorCountAFailedAuthorisation) {
  auto server = OpenOrDie();
  auto ctl = OpenOrDie();
  ASSERT_NE(server, nullptr);
  ASSERT_NE(ctl, nullptr);
  auto spki = server->TlsPublicKey();
  ASSERT_TRUE(spki.ok());
  auto reference = server->Hmac(Bytes("label"));
  ASSERT_TRUE(reference.ok()) << reference.error().message;
  const int failures_before = testing::LockoutCounter(swtpm_->tcti());
  ASSERT_GE(failures_before, 0);
  std::vector<uint8_t> block(128, 0x21);
  block[0] = 0;
  for (int round = 0; round < 4; ++round) {
    std::vector<uint8_t> digest = Sha256Digest("turn " + std::to_string(round));
    auto sig = server->TlsSign(digest);
    ASSERT_TRUE(sig.ok()) << round << ": " << sig.error().message;
    EXPECT_TRUE(onionmail::testing::VerifyP256RawSignature(*spki, digest, *sig)) << round;
    auto raw = ctl->RsaPrivateRaw(block);
    ASSERT_TRUE(raw.ok()) << round << ": " << raw.error().message;
    auto mac = server->Hmac(Bytes("label"));
    ASSERT_TRUE(mac.ok()) << round << ": " << mac.error().message;
    EXPECT_EQ(*mac, *reference) << round;
    auto ctl_mac = ctl->Hmac(Bytes("label"));
    ASSERT_TRUE(ctl_mac.ok()) << round << ": " << ctl_mac.error().message;
    EXPECT_EQ(*ctl_mac, *reference) << round;
  }
  EXPECT_EQ(testing::LockoutCounter(swtpm_->tcti()), failures_before);
}

// What RunRetrying tries once more: failures that leave the connection unusable (lost
// handles, a reset TPM, the transport), never a wrong authValue or a PCR policy, which
// would count twice towards the TPM's dictionary-attack lockout or fail again.
TEST(ClassifyRcTest, OnlyLostHandlesResetsAndTransportFailuresReconnect) {
  const std::string dev = "swtpm:host=127.0.0.1,port=2321";
  for (TSS2_RC rc :
       {TSS2_RC(TPM2_RC_REFERENCE_H0), TSS2_RC(TPM2_RC_REFERENCE_S0), TSS2_RC(TPM2_RC_INITIALIZE),
        TSS2_RC(TPM2_RC_OBJECT_MEMORY), TSS2_RC(TPM2_RC_HANDLE | TPM2_RC_1),
        TSS2_RC(TSS2_TCTI_RC_LAYER | TSS2_BASE_RC_IO_ERROR)}) {
    EXPECT_TRUE(ClassifyRc(rc, "Esys_Sign", dev).reconnect) << std::hex << rc;
  }
  for (TSS2_RC rc : {TSS2_RC(TPM2_RC_AUTH_FAIL | TPM2_RC_S | TPM2_RC_1),
                     TSS2_RC(TPM2_RC_BAD_AUTH | TPM2_RC_S | TPM2_RC_1), TSS2_RC(TPM2_RC_LOCKOUT),
                     TSS2_RC(TPM2_RC_POLICY_FAIL | TPM2_RC_S | TPM2_RC_1),
                     TSS2_RC(TPM2_RC_INTEGRITY | TPM2_RC_P | TPM2_RC_1)}) {
    RcClass c = ClassifyRc(rc, "Esys_Sign", dev);
    EXPECT_FALSE(c.reconnect) << std::hex << rc << ": " << c.error.message;
  }
  EXPECT_EQ(ClassifyRc(TPM2_RC_AUTH_FAIL | TPM2_RC_S | TPM2_RC_1, "Esys_Sign", dev).error.code,
            ErrorCode::kUnauthenticated);
}

TEST(TctiIsDirectTest, OnlyTctisWithoutAResourceManagerAreDirect) {
  EXPECT_TRUE(TctiIsDirect("swtpm:host=127.0.0.1,port=2321"));
  EXPECT_TRUE(TctiIsDirect("swtpm"));
  EXPECT_TRUE(TctiIsDirect("mssim:host=localhost,port=2321"));
  EXPECT_TRUE(TctiIsDirect("device:/dev/tpm0"));
  EXPECT_TRUE(TctiIsDirect("device:/dev/tpm12"));
  EXPECT_FALSE(TctiIsDirect("device:/dev/tpmrm0"));  // the kernel's resource manager
  EXPECT_FALSE(TctiIsDirect("device"));              // may pick /dev/tpmrm0
  EXPECT_FALSE(TctiIsDirect("device:/dev/tpm"));
  EXPECT_FALSE(TctiIsDirect("device:/dev/tpm0x"));
  EXPECT_FALSE(TctiIsDirect("tabrmd:bus_name=com.intel.tss2.Tabrmd"));
  EXPECT_FALSE(TctiIsDirect(""));
  EXPECT_FALSE(TctiIsDirect("libtss2-tcti-swtpm.so.0:"));  // unknown form: not assumed direct
}

}  // namespace
}  // namespace onionmail::hsm::tpm2
