// Pkcs11Token against a real SoftHSM2 2.6 token (see softhsm_fixture.h).
#include "hsm/pkcs11/pkcs11_token.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "crypto/random.h"
#include "softhsm_fixture.h"

namespace onionmail::hsm {
namespace {

using softhsm::SoftHsmTest;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct CtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using CtxPtr = std::unique_ptr<EVP_PKEY_CTX, CtxFree>;

PkeyPtr ParseSpki(const std::vector<uint8_t>& der) {
  const unsigned char* p = der.data();
  return PkeyPtr(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
}

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

// Public RSA operation m^e mod n in OpenSSL (no padding).
std::vector<uint8_t> RawPublic(EVP_PKEY* key, const std::vector<uint8_t>& m) {
  CtxPtr ctx(EVP_PKEY_CTX_new(key, nullptr));
  EXPECT_EQ(EVP_PKEY_encrypt_init(ctx.get()), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_NO_PADDING), 1);
  std::vector<uint8_t> out(static_cast<size_t>(EVP_PKEY_get_size(key)));
  size_t len = out.size();
  EXPECT_EQ(EVP_PKEY_encrypt(ctx.get(), out.data(), &len, m.data(), m.size()), 1);
  out.resize(len);
  return out;
}

std::vector<uint8_t> OaepEncrypt(EVP_PKEY* key, const std::vector<uint8_t>& m, const EVP_MD* md) {
  CtxPtr ctx(EVP_PKEY_CTX_new(key, nullptr));
  EXPECT_EQ(EVP_PKEY_encrypt_init(ctx.get()), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), md), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md), 1);
  std::vector<uint8_t> out(static_cast<size_t>(EVP_PKEY_get_size(key)));
  size_t len = out.size();
  EXPECT_EQ(EVP_PKEY_encrypt(ctx.get(), out.data(), &len, m.data(), m.size()), 1);
  out.resize(len);
  return out;
}

TEST_F(SoftHsmTest, OpensWithTheRightPin) {
  auto token = Pkcs11Token::Open(Options());
  ASSERT_TRUE(token.ok()) << token.error().message;
  EXPECT_EQ((*token)->backend_name(), "pkcs11");
  EXPECT_TRUE((*token)->Probe().ok());
}

TEST_F(SoftHsmTest, OpenPkcs11TokenReturnsTheInterface) {
  auto token = OpenPkcs11Token(Options());
  ASSERT_TRUE(token.ok()) << token.error().message;
  EXPECT_TRUE((*token)->Probe().ok());
}

TEST_F(SoftHsmTest, WrongPinIsUnauthenticated) {
  softhsm::WriteFile(pin_file_, "999999\n", 0600);
  auto token = Pkcs11Token::Open(Options());
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(token.error().message.find(kLabel), std::string::npos);
  EXPECT_EQ(token.error().message.find("999999"), std::string::npos);
}

TEST_F(SoftHsmTest, MissingModuleIsNotFound) {
  Pkcs11Options options = Options();
  options.module_path = dir_ + "/no-such-module.so";
  auto token = Pkcs11Token::Open(options);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(token.error().message, "PKCS#11 module " + options.module_path + " not found");
}

TEST_F(SoftHsmTest, UnknownLabelIsNotFoundAndNamed) {
  Pkcs11Options options = Options();
  options.token_label = "no-such-token";
  options.token_wait_ms = 300;  // looked for again until then, then given up
  auto token = Pkcs11Token::Open(options);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, ErrorCode::kNotFound);
  EXPECT_NE(token.error().message.find("no-such-token"), std::string::npos);
}

TEST_F(SoftHsmTest, TokenListedOnlyAfterOpenStartedIsFoundWithinTheWait) {
  // The module lists no token at first (an empty token directory, as when
  // a token comes up late); a moment later the real one is back.
  const std::string away = dir_ + "/tokens.away";
  std::filesystem::rename(tokens_, away);
  std::filesystem::create_directory(tokens_);
  std::thread put_back([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    std::filesystem::rename(away, tokens_);  // atomically replaces the empty directory
  });
  Pkcs11Options options = Options();
  options.token_wait_ms = 10000;
  auto token = Pkcs11Token::Open(options);
  put_back.join();
  ASSERT_TRUE(token.ok()) << token.error().message;
  EXPECT_TRUE((*token)->Probe().ok());
  EXPECT_TRUE((*token)->Provision(2048).ok());
}

TEST_F(SoftHsmTest, NoWaitForAMissingTokenWhenTokenWaitIsZero) {
  const std::string away = dir_ + "/tokens.away";
  std::filesystem::rename(tokens_, away);
  std::filesystem::create_directory(tokens_);
  Pkcs11Options options = Options();
  options.token_wait_ms = 0;
  auto token = Pkcs11Token::Open(options);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, ErrorCode::kNotFound);
  EXPECT_NE(token.error().message.find(kLabel), std::string::npos);
}

TEST_F(SoftHsmTest, MissingPinFileIsNotFound) {
  Pkcs11Options options = Options();
  options.pin_file = dir_ + "/absent.pin";
  auto token = Pkcs11Token::Open(options);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, ErrorCode::kNotFound);
}

TEST_F(SoftHsmTest, WorldReadablePinFileIsRefused) {
  ::chmod(pin_file_.c_str(), 0644);
  auto token = Pkcs11Token::Open(Options());
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, ErrorCode::kPermissionDenied);
}

TEST_F(SoftHsmTest, PinFileWithoutTrailingNewlineWorks) {
  softhsm::WriteFile(pin_file_, kUserPin, 0600);
  EXPECT_TRUE(Pkcs11Token::Open(Options()).ok());
}

TEST_F(SoftHsmTest, OperationsBeforeProvisionNameTheMissingKey) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  auto mac = token->Hmac(Bytes("x"));
  ASSERT_FALSE(mac.ok());
  EXPECT_EQ(mac.error().code, ErrorCode::kNotFound);
  EXPECT_NE(mac.error().message.find(kPkcs11HmacLabel), std::string::npos);
  EXPECT_EQ(token->ServerPublicKey().error().code, ErrorCode::kNotFound);
}

TEST_F(SoftHsmTest, ProvisionRejectsSmallRsaKeys) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  EXPECT_EQ(token->Provision(1024).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(SoftHsmTest, ProvisionIsIdempotent) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  ASSERT_EQ(*token->CountObjects(), 0u);
  ASSERT_TRUE(token->Provision(2048).ok());
  ASSERT_EQ(*token->CountObjects(), 5u);  // HMAC key, RSA pair, TLS EC pair
  auto spki = token->ServerPublicKey();
  auto mac = token->Hmac(Bytes("same"));
  ASSERT_TRUE(spki.ok() && mac.ok());
  ASSERT_TRUE(token->Provision(2048).ok());
  EXPECT_EQ(*token->CountObjects(), 5u);
  token.reset();

  auto again = OpenOrDie();
  ASSERT_NE(again, nullptr);
  ASSERT_TRUE(again->Provision(2048).ok());
  EXPECT_EQ(*again->CountObjects(), 5u);
  EXPECT_EQ(*again->ServerPublicKey(), *spki);
  EXPECT_EQ(*again->Hmac(Bytes("same")), *mac);
}

TEST_F(SoftHsmTest, HmacIsKeyedDeterministicAndPersistent) {
  auto token = OpenProvisioned();
  ASSERT_NE(token, nullptr);
  const std::vector<uint8_t> data = Bytes("alice@example.onion");
  auto a = token->Hmac(data);
  auto b = token->Hmac(data);
  auto other = token->Hmac(Bytes("bob@example.onion"));
  auto empty = token->Hmac({});
  ASSERT_TRUE(a.ok() && b.ok() && other.ok() && empty.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *other);
  EXPECT_NE(*a, *empty);

  // Not a plain hash, nor an HMAC under an all-zero or empty key.
  std::array<uint8_t, 32> sha{};
  SHA256(data.data(), data.size(), sha.data());
  EXPECT_NE(*a, sha);
  for (size_t key_len : {size_t{0}, size_t{32}}) {
    std::vector<uint8_t> key(key_len, 0);
    std::array<uint8_t, 32> guess{};
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(),
         guess.data(), &len);
    EXPECT_NE(*a, guess);
  }

  token.reset();  // close, finalize
  auto reopened = OpenOrDie();
  ASSERT_NE(reopened, nullptr);
  auto c = reopened->Hmac(data);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(*c, *a);
}

TEST_F(SoftHsmTest, ServerPublicKeyIsA2048BitRsaSpki) {
  auto token = OpenProvisioned();
  ASSERT_NE(token, nullptr);
  auto spki = token->ServerPublicKey();
  ASSERT_TRUE(spki.ok()) << spki.error().message;
  PkeyPtr key = ParseSpki(*spki);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(EVP_PKEY_get_base_id(key.get()), EVP_PKEY_RSA);
  EXPECT_EQ(EVP_PKEY_get_bits(key.get()), 2048);
  BIGNUM* e = nullptr;
  ASSERT_EQ(EVP_PKEY_get_bn_param(key.get(), "e", &e), 1);
  EXPECT_EQ(BN_get_word(e), 65537u);
  BN_free(e);
}

TEST_F(SoftHsmTest, RsaPrivateRawInvertsTheOpenSslPublicOperation) {
  auto token = OpenProvisioned();
  ASSERT_NE(token, nullptr);
  PkeyPtr key = ParseSpki(*token->ServerPublicKey());
  ASSERT_NE(key, nullptr);
  for (int i = 0; i < 3; ++i) {
    std::vector<uint8_t> m(256);
    crypto::RandomBytes(m);
    m[0] &= 0x7f;  // m < 2^2047 <= n
    std::vector<uint8_t> c = RawPublic(key.get(), m);
    ASSERT_EQ(c.size(), 256u);
    auto back = token->RsaPrivateRaw(c);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(*back, m);
  }
}

TEST_F(SoftHsmTest, RsaPrivateRawRejectsWrongSizeAndValuesNotBelowModulus) {
  auto token = OpenProvisioned();
  ASSERT_NE(token, nullptr);
  EXPECT_EQ(token->RsaPrivateRaw(std::vector<uint8_t>(255, 1)).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(token->RsaPrivateRaw(std::vector<uint8_t>(256, 0xff)).error().code,
            ErrorCode::kInvalidArgument);
}

TEST_F(SoftHsmTest, OaepSelfTestPicksSha1OnSoftHsm26AndDecryptsOpenSslCiphertext) {
  auto token = OpenProvisioned();
  ASSERT_NE(token, nullptr);
  // SoftHSM2 2.6.1 accepts only CKM_SHA_1 / CKG_MGF1_SHA1 for OAEP.
  EXPECT_EQ(token->oaep_hash(), OaepHash::kSha1);
  PkeyPtr key = ParseSpki(*token->ServerPublicKey());
  ASSERT_NE(key, nullptr);
  std::vector<uint8_t> secret(32);
  crypto::RandomBytes(secret);
  std::vector<uint8_t> ciphertext = OaepEncrypt(key.get(), secret, EVP_sha1());
  auto plain = token->RsaDecryptOaep(ciphertext);
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  auto view = plain->Reveal(SecretAccess::Grant());
  EXPECT_EQ(std::vector<uint8_t>(view.begin(), view.end()), secret);

  // A damaged ciphertext is kDataLoss and does not break the connection.
  ciphertext[100] ^= 0x01;
  auto bad = token->RsaDecryptOaep(ciphertext);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kDataLoss);
  EXPECT_TRUE(token->Probe().ok());

  // Open runs the self-test again when the key exists.
  token.reset();
  auto reopened = OpenOrDie();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->oaep_hash(), OaepHash::kSha1);
}

TEST_F(SoftHsmTest, PrivateKeyMaterialCannotBeExported) {
  auto token = OpenProvisioned();
  ASSERT_NE(token, nullptr);
  auto r = token->AttemptPrivateKeyExport();
  ASSERT_FALSE(r.ok()) << "key material left the token";
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error().message.find("CKR_ATTRIBUTE_SENSITIVE"), std::string::npos);
}

TEST_F(SoftHsmTest, ErasableKeyIsSensitiveAndNeverExtractable) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  auto before = token->CountObjects();
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(token->CreateErasable(3).ok());
  auto with_key = token->CountObjects();
  ASSERT_TRUE(with_key.ok());
  EXPECT_EQ(*with_key, *before + 1) << "one token object per epoch";
  auto audit = token->AuditErasableKey(3);
  ASSERT_TRUE(audit.ok()) << audit.error().message;
  EXPECT_TRUE(audit->sensitive);
  EXPECT_TRUE(audit->always_sensitive);
  EXPECT_FALSE(audit->extractable);
  EXPECT_TRUE(audit->never_extractable);
  EXPECT_FALSE(audit->value_readable) << "CKA_VALUE of the erasable key was readable";
  ASSERT_TRUE(token->EraseErasable(3).ok());
  auto after = token->CountObjects();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, *before) << "C_DestroyObject left the object";
  auto gone = token->AuditErasableKey(3);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
}

TEST_F(SoftHsmTest, ErasableEpochsIgnoreTheOtherSecretKeys) {
  auto token = OpenProvisioned();  // makes the "onionmaild-hmac" secret key
  ASSERT_NE(token, nullptr);
  auto none = token->ErasableEpochs();
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_TRUE(none->empty());
  ASSERT_TRUE(token->CreateErasable(12).ok());
  auto one = token->ErasableEpochs();
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, std::vector<uint64_t>{12});
  // The erasable key is not the HMAC key, and erasing it leaves that alone.
  const std::vector<uint8_t> label = Bytes("x");
  auto derived = token->DeriveErasable(12, label);
  auto mac = token->Hmac(label);
  ASSERT_TRUE(derived.ok() && mac.ok());
  auto raw = derived->Reveal(SecretAccess::Grant());
  EXPECT_FALSE(std::equal(raw.begin(), raw.end(), mac->begin(), mac->end()));
  ASSERT_TRUE(token->EraseErasable(12).ok());
  auto mac_again = token->Hmac(label);
  ASSERT_TRUE(mac_again.ok()) << mac_again.error().message;
  EXPECT_EQ(*mac_again, *mac);
}

TEST_F(SoftHsmTest, OperationsAreCounted) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  EXPECT_EQ(token->operations(), 0u);
  ASSERT_TRUE(token->Provision(2048).ok());
  // 3 key generations (HMAC, RSA, TLS) + the OAEP self-test's successful
  // decrypt.
  const uint64_t after_provision = token->operations();
  EXPECT_EQ(after_provision, 4u);
  ASSERT_TRUE(token->Hmac(Bytes("a")).ok());
  ASSERT_TRUE(token->Hmac(Bytes("b")).ok());
  EXPECT_EQ(token->operations(), after_provision + 2);
  ASSERT_TRUE(token->ServerPublicKey().ok());  // public: no device operation
  ASSERT_TRUE(token->Probe().ok());
  EXPECT_EQ(token->operations(), after_provision + 2);
}

// What this exercises (SoftHSM2 has no hot-plug; the token "vanishes" when
// its directory is moved away): SoftHSM2 keeps the objects in memory but
// re-checks the token files on use, so with the directory gone C_SignInit
// fails with CKR_OBJECT_HANDLE_INVALID and C_GetTokenInfo with
// CKR_GENERAL_ERROR. The backend must turn each into kUnavailable (no crash),
// mark the session broken, fail the reconnect (C_Finalize + C_Initialize
// finds no token, or no token directory at all) with kUnavailable, and once
// the directory is back, reconnect, log in and use the same keys.
TEST_F(SoftHsmTest, TokenRemovedMidRunIsUnavailableThenRecovers) {
  auto token = OpenProvisioned();
  ASSERT_NE(token, nullptr);
  auto before = token->Hmac(Bytes("k"));
  ASSERT_TRUE(before.ok());
  const std::string away = dir_ + "/tokens.away";

  // Round 1: an operation on the live session notices it.
  std::filesystem::rename(tokens_, away);
  std::filesystem::create_directory(tokens_);  // present but empty
  auto mac = token->Hmac(Bytes("k"));
  ASSERT_FALSE(mac.ok()) << "the token's removal went unnoticed";
  EXPECT_EQ(mac.error().code, ErrorCode::kUnavailable) << mac.error().message;
  auto while_gone = token->Probe();  // reconnect: no token with the label
  ASSERT_FALSE(while_gone.ok());
  EXPECT_EQ(while_gone.error().code, ErrorCode::kUnavailable) << while_gone.error().message;
  EXPECT_NE(while_gone.error().message.find(kLabel), std::string::npos);
  std::filesystem::remove(tokens_);
  std::filesystem::rename(away, tokens_);
  auto after = token->Hmac(Bytes("k"));
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ(*after, *before);

  // Round 2: Probe on the live session notices it; the reconnect then finds
  // no token directory at all.
  std::filesystem::rename(tokens_, away);
  auto probe = token->Probe();
  ASSERT_FALSE(probe.ok()) << "the token's removal went unnoticed";
  EXPECT_EQ(probe.error().code, ErrorCode::kUnavailable) << probe.error().message;
  auto raw = token->RsaPrivateRaw(std::vector<uint8_t>(256, 0x01));
  ASSERT_FALSE(raw.ok());
  EXPECT_EQ(raw.error().code, ErrorCode::kUnavailable) << raw.error().message;
  std::filesystem::rename(away, tokens_);
  EXPECT_TRUE(token->Probe().ok());
  auto last = token->Hmac(Bytes("k"));
  ASSERT_TRUE(last.ok()) << last.error().message;
  EXPECT_EQ(*last, *before);
}

TEST_F(SoftHsmTest, ConcurrentCallersAreSerialisedOnOneSession) {
  auto token = OpenProvisioned();
  ASSERT_NE(token, nullptr);
  auto expected = token->Hmac(Bytes("shared"));
  ASSERT_TRUE(expected.ok());
  const uint64_t before = token->operations();
  std::atomic<int> mismatches{0};
  auto worker = [&] {
    for (int i = 0; i < 50; ++i) {
      auto mac = token->Hmac(Bytes("shared"));
      if (!mac.ok() || *mac != *expected) ++mismatches;
    }
  };
  std::thread a(worker);
  std::thread b(worker);
  a.join();
  b.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(token->operations(), before + 100);
}

TEST_F(SoftHsmTest, ChildProcessAfterForkReinitializesAndGetsTheSameHmac) {
  auto token = OpenProvisioned();
  ASSERT_NE(token, nullptr);
  auto parent = token->Hmac(Bytes("fork"));
  ASSERT_TRUE(parent.ok());
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto child = token->Hmac(Bytes("fork"));
    ::_exit(child.ok() && *child == *parent ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // The parent's session is untouched by the child.
  auto again = token->Hmac(Bytes("fork"));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*again, *parent);
}

TEST(SoftHsmInitScript, CreatesAUsableTokenAndIsIdempotent) {
  const std::string module = softhsm::FindSoftHsmModule();
  ASSERT_FALSE(module.empty()) << "SoftHSM2 is not installed";
  char tmpl[] = "/tmp/om-softhsm-init-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string script = std::string(ONIONMAIL_SOURCE_DIR) + "/provisioning/softhsm-init.sh";
  const std::vector<std::string> cmd = {script,    "--dir",     dir,
                                        "--label", "om-script", "--non-interactive"};
  ASSERT_EQ(softhsm::RunQuiet(cmd), 0);
  ASSERT_EQ(softhsm::RunQuiet(cmd), 0);  // already initialised: exit 0
  struct stat st {};
  ASSERT_EQ(::stat((dir + "/user.pin").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::setenv("SOFTHSM2_CONF", (dir + "/softhsm2.conf").c_str(), 1), 0);
  {
    auto token = Pkcs11Token::Open({module, "om-script", dir + "/user.pin"});
    ASSERT_TRUE(token.ok()) << token.error().message;
    EXPECT_TRUE((*token)->Probe().ok());
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace onionmail::hsm
