// The key role's crypto in a process whose OpenSSL is initialised as
// onionmail-key's is (server/key_role_openssl.h: no legacy name tables).
// This binary has its own main, which calls InitKeyRoleOpenSsl() before
// anything else, as key_main.cc does. A lookup by name that only the legacy
// tables answer fails here, as it would in the key role.
#include "server/key_role_openssl.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "base/secret_bytes.h"
#include "crypto/aead.h"
#include "crypto/ec_p256.h"
#include "crypto/inbox_key.h"
#include "crypto/kdf.h"
#include "ctl/tls_cert.h"
#include "net/remote_key.h"
#include "server/session_tls.h"
#include "unseal/torm_wire.h"

namespace onionmail::server {
namespace {

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

SecretBytes Secret(std::string_view s) { return SecretBytes(SecretAccess::Grant(), s); }

bool Same(const SecretBytes& a, const SecretBytes& b) {
  auto x = a.Reveal(SecretAccess::Grant());
  auto y = b.Reveal(SecretAccess::Grant());
  return std::equal(x.begin(), x.end(), y.begin(), y.end());
}

std::vector<uint8_t> PublicDer(EVP_PKEY* key) {
  int n = i2d_PUBKEY(key, nullptr);
  std::vector<uint8_t> der(static_cast<size_t>(n > 0 ? n : 0));
  uint8_t* p = der.data();
  EXPECT_EQ(i2d_PUBKEY(key, &p), n);
  return der;
}

TEST(KeyRoleOpenSslTest, LegacyNameTablesAreEmptyButProviderNamesWork) {
  EXPECT_EQ(EVP_get_digestbyname("SHA256"), nullptr);
  EXPECT_EQ(EVP_get_cipherbyname("AES-256-GCM"), nullptr);
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EXPECT_NE(md, nullptr);
  EVP_MD_free(md);
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  EXPECT_NE(cipher, nullptr);
  EVP_CIPHER_free(cipher);
}

// The regression the integration tests found: a PSS signature with the
// token-backed RSA key (a legacy RSA_METHOD key) named its digest.
TEST(KeyRoleOpenSslTest, UnsealRequestSignedWithATokenBackedRsaKeyVerifies) {
  PkeyPtr soft(EVP_RSA_gen(2048), &EVP_PKEY_free);
  ASSERT_NE(soft, nullptr);
  auto remote = net::MakeRemoteRsaKey(
      PublicDer(soft.get()), [&](std::span<const uint8_t> in) -> Result<std::vector<uint8_t>> {
        // The token's raw private operation, here in software.
        std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
            EVP_PKEY_CTX_new(soft.get(), nullptr), &EVP_PKEY_CTX_free);
        size_t len = in.size();
        std::vector<uint8_t> out(len);
        if (EVP_PKEY_decrypt_init(ctx.get()) != 1 ||
            EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_NO_PADDING) != 1 ||
            EVP_PKEY_decrypt(ctx.get(), out.data(), &len, in.data(), in.size()) != 1) {
          return MakeError(ErrorCode::kInternal, "raw RSA failed");
        }
        out.resize(len);
        return out;
      });
  ASSERT_TRUE(remote.ok()) << remote.error().message;
  PkeyPtr key(*remote, &EVP_PKEY_free);
  std::array<uint8_t, unseal::kChannelBindingSize> cb{};
  cb.fill(0x42);
  const std::vector<uint8_t> body = {1, 2, 3};
  auto request = unseal::SignRequestWithKey(key.get(), unseal::Verb::kDerk, cb, body);
  ASSERT_TRUE(request.ok()) << request.error().message;
  EXPECT_TRUE(unseal::VerifyRequest(*request, cb).ok());
}

// Session TLS keys ([tls] session_key_hours): the key role makes the issuing
// certificate and each session key's certificate (X509_sign through the
// token-backed key) and signs handshakes. The chains as clients check them:
// session_tls_test (a process that can verify certificates).
TEST(KeyRoleOpenSslTest, SessionTlsKeysAreCertifiedRotatedAndSign) {
  PkeyPtr token(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  ASSERT_NE(token, nullptr);
  char dir[] = "/tmp/om-krossl-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/cert.pem";
  ASSERT_TRUE(ctl::CreateCertificateForKey("abc.onion", path, token.get()).ok());
  FILE* f = std::fopen(path.c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::string pem(8192, '\0');
  pem.resize(std::fread(pem.data(), 1, pem.size(), f));
  std::fclose(f);
  std::remove(path.c_str());
  rmdir(dir);
  auto now = std::chrono::system_clock::now();
  auto keys = SessionTlsKeys::Create(
      pem, PublicDer(token.get()),
      [&](std::span<const uint8_t> d) { return crypto::EcdsaP256SignRaw(token.get(), d); },
      std::chrono::hours(1), [&] { return now; });
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  const uint32_t first = (*keys)->Current()->generation;
  now += std::chrono::hours(1);
  auto current = (*keys)->Current();
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(current->generation, first + 1);
  size_t certs = 0;
  for (size_t at = 0; (at = current->chain_pem.find("BEGIN CERTIFICATE", at)) != std::string::npos;
       ++at) {
    ++certs;
  }
  EXPECT_EQ(certs, 2u);
  auto sig = (*keys)->Sign(first + 1, std::vector<uint8_t>(32, 3));
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  EXPECT_EQ(sig->size(), 64u);
}

TEST(KeyRoleOpenSslTest, InboxKeysWrapAndUnwrap) {
  auto x25519 = crypto::InboxPrivateKey::GenerateX25519();
  ASSERT_TRUE(x25519.ok()) << x25519.error().message;
  auto rsa = crypto::InboxPrivateKey::GenerateRsa(2048);
  ASSERT_TRUE(rsa.ok()) << rsa.error().message;
  for (const crypto::InboxPrivateKey* key : {&*x25519, &*rsa}) {
    const SecretBytes dek = Secret("0123456789abcdef0123456789abcdef");
    auto wrapped = key->Public().Wrap(dek);
    ASSERT_TRUE(wrapped.ok()) << wrapped.error().message;
    auto unwrapped = key->Unwrap(*wrapped);
    ASSERT_TRUE(unwrapped.ok()) << unwrapped.error().message;
    EXPECT_TRUE(Same(*unwrapped, dek));
    auto der = key->ToDer();
    ASSERT_TRUE(der.ok()) << der.error().message;
    EXPECT_TRUE(crypto::InboxPrivateKey::FromDer(*der).ok());
  }
}

TEST(KeyRoleOpenSslTest, RecordCryptoWorks) {
  const SecretBytes key = Secret("record key record key record key");
  const std::vector<uint8_t> aad = {9, 9};
  const std::string text = "a user record";
  auto sealed = crypto::AeadSeal(
      key, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
      aad);
  ASSERT_TRUE(sealed.ok()) << sealed.error().message;
  auto opened = crypto::AeadOpen(key, *sealed, aad);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_TRUE(Same(*opened, Secret(text)));
  auto okm = crypto::HkdfSha256(key, aad, "info", 32);
  ASSERT_TRUE(okm.ok()) << okm.error().message;
  auto mac = crypto::HmacSha256(key, aad);
  ASSERT_TRUE(mac.ok()) << mac.error().message;
}

// The file backend's keys are PEM files (server/state.cc reads them).
TEST(KeyRoleOpenSslTest, PemPrivateKeysReadBack) {
  PkeyPtr ec(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  ASSERT_NE(ec, nullptr);
  FILE* f = tmpfile();
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(PEM_write_PrivateKey(f, ec.get(), nullptr, nullptr, 0, nullptr, nullptr), 1);
  rewind(f);
  PkeyPtr read(PEM_read_PrivateKey(f, nullptr, nullptr, nullptr), &EVP_PKEY_free);
  fclose(f);
  ASSERT_NE(read, nullptr);
  EXPECT_EQ(EVP_PKEY_eq(ec.get(), read.get()), 1);
}

}  // namespace
}  // namespace onionmail::server

int main(int argc, char** argv) {
  if (!onionmail::server::InitKeyRoleOpenSsl()) return 1;  // first, as in key_main.cc
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
