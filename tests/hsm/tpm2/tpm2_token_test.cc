// Tpm2Token against a real swtpm (started by the suite; a missing swtpm is a
// failure, not a skip). One RSA-2048 provisioning is shared by the suite;
// each test opens its own token (swtpm serves one client at a time).
#include "hsm/tpm2/tpm2_token.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/hsm/tpm2/swtpm_harness.h"
#include "tests/hsm/tpm2/swtpm_suite.h"

namespace onionmail::hsm::tpm2 {
namespace {

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
  chmod(path.c_str(), 0600);
}

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

PkeyPtr ParseSpki(const std::vector<uint8_t>& der) {
  const uint8_t* p = der.data();
  return PkeyPtr(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())), &EVP_PKEY_free);
}

// Public-key operation in software: OAEP (md != nullptr) or raw (m^e).
std::vector<uint8_t> SoftwareEncrypt(EVP_PKEY* key, std::span<const uint8_t> in, const EVP_MD* md) {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(key, nullptr),
                                                                  &EVP_PKEY_CTX_free);
  EXPECT_EQ(EVP_PKEY_encrypt_init(ctx.get()), 1);
  if (md != nullptr) {
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING), 1);
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), md), 1);
  } else {
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_NO_PADDING), 1);
  }
  size_t len = 0;
  EXPECT_EQ(EVP_PKEY_encrypt(ctx.get(), nullptr, &len, in.data(), in.size()), 1);
  std::vector<uint8_t> out(len);
  EXPECT_EQ(EVP_PKEY_encrypt(ctx.get(), out.data(), &len, in.data(), in.size()), 1);
  out.resize(len);
  return out;
}

class Tpm2TokenTest : public testing::SwtpmSuite<Tpm2TokenTest> {
 protected:
  static void SetUpTestSuite() {
    setup_error_ = StartSwtpm("correct horse battery\n");
    if (setup_error_.empty()) setup_error_ = OpenAndProvision(Options(), 2048);
    if (!setup_error_.empty()) return;
    auto token = Tpm2Token::Open(Options());
    if (!token.ok()) {
      setup_error_ = "Open: " + token.error().message;
      return;
    }
    auto mac = (*token)->Hmac(Bytes("reference label"));
    if (!mac.ok()) {
      setup_error_ = "Hmac: " + mac.error().message;
      return;
    }
    reference_mac_ = *mac;
  }
  void TearDown() override {
    // Wrong-auth tests bump the DA counter; never leave the TPM locked.
    EXPECT_EQ(testing::RelaxDictionaryAttack(swtpm_->tcti()), "");
  }

  static inline std::array<uint8_t, 32> reference_mac_{};
};

TEST_F(Tpm2TokenTest, ProvisionIsIdempotentAndKeepsExistingBlobs) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  const std::string hmac_before = ReadFile(token->hmac_blob_path());
  const std::string rsa_before = ReadFile(token->rsa_blob_path());
  ASSERT_FALSE(hmac_before.empty());
  ASSERT_FALSE(rsa_before.empty());
  const uint64_t ops = token->operations();
  ASSERT_TRUE(token->Provision(2048).ok());
  EXPECT_EQ(token->operations(), ops);  // no key was created
  EXPECT_EQ(ReadFile(token->hmac_blob_path()), hmac_before);
  EXPECT_EQ(ReadFile(token->rsa_blob_path()), rsa_before);
  struct stat st {};
  ASSERT_EQ(stat(token->rsa_blob_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(token->backend_name(), "tpm2");
}

TEST_F(Tpm2TokenTest, HmacIsDeterministicAndSurvivesReopen) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  auto a = token->Hmac(Bytes("reference label"));
  auto b = token->Hmac(Bytes("reference label"));
  auto c = token->Hmac(Bytes("another label"));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  EXPECT_EQ(*a, reference_mac_);  // same value as right after provisioning
  token.reset();
  token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  auto d = token->Hmac(Bytes("reference label"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, reference_mac_);
}

TEST_F(Tpm2TokenTest, HmacSurvivesSwtpmRestartWithSameState) {
  ASSERT_EQ(swtpm_->Restart(), "");
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  auto mac = token->Hmac(Bytes("reference label"));
  ASSERT_TRUE(mac.ok()) << mac.error().message;
  EXPECT_EQ(*mac, reference_mac_);
}

TEST_F(Tpm2TokenTest, HmacAcceptsUpTo1024BytesAndRejectsMore) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  EXPECT_TRUE(token->Hmac(std::vector<uint8_t>(1024, 7)).ok());
  auto r = token->Hmac(std::vector<uint8_t>(1025, 7));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(Tpm2TokenTest, ServerPublicKeyIsRsaWithRequestedBits) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  auto der = token->ServerPublicKey();
  ASSERT_TRUE(der.ok());
  PkeyPtr key = ParseSpki(*der);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(EVP_PKEY_get_base_id(key.get()), EVP_PKEY_RSA);
  EXPECT_EQ(EVP_PKEY_get_bits(key.get()), 2048);
}

TEST_F(Tpm2TokenTest, RsaPrivateRawInvertsSoftwarePublicOperation) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  PkeyPtr key = ParseSpki(*token->ServerPublicKey());
  ASSERT_NE(key, nullptr);
  for (uint8_t top : {uint8_t{0x01}, uint8_t{0x00}}) {  // 0x00: result needs left-padding
    std::vector<uint8_t> m(256);
    ASSERT_EQ(RAND_bytes(m.data(), static_cast<int>(m.size())), 1);
    m[0] = top;  // below n (whose top bit is set)
    if (top == 0) m[1] = 0;
    std::vector<uint8_t> c = SoftwareEncrypt(key.get(), m, nullptr);
    ASSERT_EQ(c.size(), 256u);
    auto back = token->RsaPrivateRaw(c);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(*back, m);
  }
}

TEST_F(Tpm2TokenTest, RsaPrivateRawRejectsWrongSizeAndValuesNotBelowModulus) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  auto big = token->RsaPrivateRaw(std::vector<uint8_t>(256, 0xff));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, ErrorCode::kInvalidArgument);
  auto short_input = token->RsaPrivateRaw(std::vector<uint8_t>(255, 0x01));
  ASSERT_FALSE(short_input.ok());
  EXPECT_EQ(short_input.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(Tpm2TokenTest, OaepSelfTestPicksSha256AndDecryptRoundTrips) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  EXPECT_EQ(token->oaep_hash(), OaepHash::kSha256);
  PkeyPtr key = ParseSpki(*token->ServerPublicKey());
  ASSERT_NE(key, nullptr);
  std::vector<uint8_t> plain(32);
  ASSERT_EQ(RAND_bytes(plain.data(), 32), 1);
  auto ct = SoftwareEncrypt(key.get(), plain, EVP_sha256());
  auto pt = token->RsaDecryptOaep(ct);
  ASSERT_TRUE(pt.ok()) << pt.error().message;
  auto got = pt->Reveal(SecretAccess::Grant());
  EXPECT_EQ(std::vector<uint8_t>(got.begin(), got.end()), plain);
  // A ciphertext for SHA-1 OAEP does not decrypt under SHA-256.
  auto wrong = token->RsaDecryptOaep(SoftwareEncrypt(key.get(), plain, EVP_sha1()));
  EXPECT_FALSE(wrong.ok());
}

TEST_F(Tpm2TokenTest, WrongAuthFileIsUnauthenticated) {
  Tpm2Options o = Options();
  o.auth_file = swtpm_->dir() + "/wrong-auth";
  WriteFile(o.auth_file, "incorrect horse\n");
  auto token = Tpm2Token::Open(o);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, ErrorCode::kUnauthenticated) << token.error().message;
}

TEST_F(Tpm2TokenTest, DictionaryAttackLockoutIsUnavailableMentioningLockout) {
  ASSERT_EQ(testing::SetDictionaryAttack(swtpm_->tcti(), 1, 1000), "");
  Tpm2Options o = Options();
  o.auth_file = swtpm_->dir() + "/wrong-auth";
  WriteFile(o.auth_file, "incorrect horse\n");
  auto wrong = Tpm2Token::Open(o);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kUnauthenticated);
  auto locked = Tpm2Token::Open(Options());  // the right auth, but locked out
  ASSERT_FALSE(locked.ok());
  EXPECT_EQ(locked.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(locked.error().message.find("lockout"), std::string::npos) << locked.error().message;
  // TearDown clears the lockout; later tests (and this process) work again.
}

TEST_F(Tpm2TokenTest, LongAuthFileContentIsUsableAsAuthValue) {
  Tpm2Options o = Options();
  o.key_dir = swtpm_->dir() + "/long-auth-keys";
  o.auth_file = swtpm_->dir() + "/long-auth";
  WriteFile(o.auth_file, std::string(200, 'a') + "\n");  // > TPM2B_AUTH
  std::array<uint8_t, 32> mac{};
  {
    auto token = OpenOrDie(o);
    ASSERT_NE(token, nullptr);
    ASSERT_TRUE(token->Provision(1024).ok());
    auto r = token->Hmac(Bytes("x"));
    ASSERT_TRUE(r.ok()) << r.error().message;
    mac = *r;
  }
  auto token = OpenOrDie(o);
  ASSERT_NE(token, nullptr);
  auto r = token->Hmac(Bytes("x"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, mac);
  EXPECT_NE(*r, reference_mac_);  // a different key
}

TEST_F(Tpm2TokenTest, MissingAuthFileIsNotFound) {
  Tpm2Options o = Options();
  o.auth_file = swtpm_->dir() + "/no-such-auth";
  auto token = Tpm2Token::Open(o);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, ErrorCode::kNotFound);
}

TEST_F(Tpm2TokenTest, UnreachableTpmIsUnavailableNamingTheTcti) {
  Tpm2Options o = Options();
  o.tcti = "swtpm:host=127.0.0.1,port=1";
  auto token = OpenTpm2Token(o);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(token.error().message.find("TPM not reachable at swtpm:host=127.0.0.1,port=1"),
            std::string::npos)
      << token.error().message;
}

TEST_F(Tpm2TokenTest, EmptyKeyDirOpensButKeyOperationsNeedProvisioning) {
  Tpm2Options o = Options();
  o.key_dir = swtpm_->dir() + "/empty-keys";
  auto token = OpenOrDie(o);
  ASSERT_NE(token, nullptr);
  EXPECT_TRUE(token->Probe().ok());
  auto mac = token->Hmac(Bytes("x"));
  ASSERT_FALSE(mac.ok());
  EXPECT_EQ(mac.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(mac.error().message.find("hmac.tpm2"), std::string::npos);
  auto pub = token->ServerPublicKey();
  ASSERT_FALSE(pub.ok());
  EXPECT_EQ(pub.error().code, ErrorCode::kFailedPrecondition);
}

// On a TPM without resource manager the token takes turns through
// key_dir/tpm2.lock (turn_lock.h), so Open makes key_dir as Provision would;
// a key_dir it cannot make is a clear error before anything reaches the TPM.
TEST_F(Tpm2TokenTest, DirectTctiMakesKeyDirForItsLockOrSaysWhyNot) {
  Tpm2Options o = Options();
  o.key_dir = swtpm_->dir() + "/made-at-open";
  {
    auto token = OpenOrDie(o);
    ASSERT_NE(token, nullptr);
  }
  struct stat st {};
  ASSERT_EQ(stat((o.key_dir + "/tpm2.lock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(o.key_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  o.key_dir = swtpm_->dir() + "/no-such-parent/keys";
  auto token = Tpm2Token::Open(o);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(token.error().message.find("cannot create " + o.key_dir), std::string::npos)
      << token.error().message;
}

TEST_F(Tpm2TokenTest, KilledSwtpmGivesUnavailableAndRestartRecovers) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  ASSERT_TRUE(token->Hmac(Bytes("reference label")).ok());
  swtpm_->Stop(SIGKILL);
  auto down = token->Hmac(Bytes("reference label"));
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code, ErrorCode::kUnavailable) << down.error().message;
  auto probe = token->Probe();
  ASSERT_FALSE(probe.ok());
  EXPECT_EQ(probe.error().code, ErrorCode::kUnavailable);
  ASSERT_EQ(swtpm_->Restart(), "");
  auto up = token->Hmac(Bytes("reference label"));
  ASSERT_TRUE(up.ok()) << up.error().message;
  EXPECT_EQ(*up, reference_mac_);
  EXPECT_TRUE(token->Probe().ok());
}

TEST_F(Tpm2TokenTest, PrivateKeyExportIsRefused) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  auto r = token->AttemptPrivateKeyExport();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied) << r.error().message;
  EXPECT_TRUE(token->Hmac(Bytes("still usable")).ok());
}

TEST_F(Tpm2TokenTest, ManyOperationsInARowLeakNoHandles) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  PkeyPtr key = ParseSpki(*token->ServerPublicKey());
  std::vector<uint8_t> m(256, 0x11);
  std::vector<uint8_t> c = SoftwareEncrypt(key.get(), m, nullptr);
  for (int i = 0; i < 20; ++i) {
    auto mac = token->Hmac(Bytes("label " + std::to_string(i)));
    ASSERT_TRUE(mac.ok()) << i << ": " << mac.error().message;
    auto raw = token->RsaPrivateRaw(c);
    ASSERT_TRUE(raw.ok()) << i << ": " << raw.error().message;
    EXPECT_EQ(*raw, m);
  }
  token.reset();  // flushes the primary and disconnects
  EXPECT_EQ(testing::LoadedHandleCount(swtpm_->tcti()), 0);
}

TEST_F(Tpm2TokenTest, OperationsCountsDeviceCryptoOnly) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  const uint64_t start = token->operations();
  EXPECT_GE(start, 1u);  // the OAEP self-test
  ASSERT_TRUE(token->Hmac(Bytes("a")).ok());
  EXPECT_EQ(token->operations(), start + 1);
  ASSERT_TRUE(token->Probe().ok());
  ASSERT_TRUE(token->ServerPublicKey().ok());
  EXPECT_EQ(token->operations(), start + 1);
  PkeyPtr key = ParseSpki(*token->ServerPublicKey());
  std::vector<uint8_t> m(256, 0x22);
  ASSERT_TRUE(token->RsaPrivateRaw(SoftwareEncrypt(key.get(), m, nullptr)).ok());
  EXPECT_EQ(token->operations(), start + 2);
}

TEST_F(Tpm2TokenTest, ConcurrentCallersAreSerialised) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        auto mac = token->Hmac(Bytes("reference label"));
        if (mac.ok() && *mac == reference_mac_) ++good;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), 15);
}

TEST_F(Tpm2TokenTest, PcrPolicyKeysWorkUntilThePcrChanges) {
  Tpm2Options o = Options();
  o.key_dir = swtpm_->dir() + "/pcr-keys";
  o.pcrs = {23};
  {
    auto token = OpenOrDie(o);
    ASSERT_NE(token, nullptr);
    ASSERT_TRUE(token->Provision(1024).ok());
    auto mac = token->Hmac(Bytes("x"));
    ASSERT_TRUE(mac.ok()) << mac.error().message;
    EXPECT_EQ(token->oaep_hash(), OaepHash::kSha256);
  }
  {
    Tpm2Options no_pcrs = o;
    no_pcrs.pcrs.clear();
    auto token = Tpm2Token::Open(no_pcrs);
    ASSERT_FALSE(token.ok());
    EXPECT_EQ(token.error().code, ErrorCode::kFailedPrecondition);
  }
  ASSERT_EQ(testing::ExtendPcr(swtpm_->tcti(), 23), "");
  auto token = Tpm2Token::Open(o);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, ErrorCode::kPermissionDenied) << token.error().message;
}

}  // namespace
}  // namespace onionmail::hsm::tpm2
