// EsysLibCtxPool (hsm/tpm2/esys_libctx_pool.h) in a process that links the
// tpm2 backend the way the key role does, against a real swtpm: tss2-esys's
// library contexts are reused across TPM operations, the operations still
// give correct results, and contexts that anything else creates are left to
// libcrypto.
#include "hsm/tpm2/esys_libctx_pool.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <string>
#include <vector>

#include "hsm/tpm2/tpm2_token.h"
#include "tests/crypto/ecdsa_test_util.h"
#include "tests/hsm/tpm2/swtpm_harness.h"
#include "tests/hsm/tpm2/swtpm_suite.h"

namespace onionmail::hsm::tpm2 {
namespace {

using onionmail::testing::Sha256Digest;

class EsysLibCtxPoolTest : public testing::SwtpmSuite<EsysLibCtxPoolTest> {
 protected:
  static void SetUpTestSuite() {
    setup_error_ = StartSwtpm("pool\n");
    if (setup_error_.empty()) setup_error_ = OpenAndProvision(Options(), 1024);
  }
};

TEST_F(EsysLibCtxPoolTest, InterpositionIsInEffectInAnExecutableThatLinksTheBackend) {
  EXPECT_EQ(::dlsym(RTLD_DEFAULT, "OSSL_LIB_CTX_new"), reinterpret_cast<void*>(&OSSL_LIB_CTX_new));
  EXPECT_EQ(::dlsym(RTLD_DEFAULT, "OSSL_LIB_CTX_free"),
            reinterpret_cast<void*>(&OSSL_LIB_CTX_free));
  ASSERT_TRUE(EnableEsysLibCtxPool());
  EXPECT_TRUE(EsysLibCtxPoolStats().enabled);
}

TEST_F(EsysLibCtxPoolTest, RepeatedSignaturesAndHmacsCreateNoNewContexts) {
  auto token = OpenOrDie();  // Open enables the pool
  ASSERT_NE(token, nullptr);
  auto spki = token->TlsPublicKey();
  ASSERT_TRUE(spki.ok());
  const std::vector<uint8_t> label = {'l', 'a', 'b', 'e', 'l'};
  // Warm-up: the resident keys get loaded, the pool gets its contexts.
  ASSERT_TRUE(token->TlsSign(Sha256Digest("warm-up")).ok());
  auto reference = token->Hmac(label);
  ASSERT_TRUE(reference.ok()) << reference.error().message;
  const LibCtxPoolStats before = EsysLibCtxPoolStats();
  ASSERT_TRUE(before.enabled);

  constexpr int kRounds = 20;
  for (int i = 0; i < kRounds; ++i) {
    std::vector<uint8_t> digest = Sha256Digest("handshake " + std::to_string(i));
    auto sig = token->TlsSign(digest);
    ASSERT_TRUE(sig.ok()) << i << ": " << sig.error().message;
    EXPECT_TRUE(onionmail::testing::VerifyP256RawSignature(*spki, digest, *sig)) << i;
    auto mac = token->Hmac(label);
    ASSERT_TRUE(mac.ok()) << i << ": " << mac.error().message;
    EXPECT_EQ(*mac, *reference) << i;
  }
  const LibCtxPoolStats after = EsysLibCtxPoolStats();
  EXPECT_EQ(after.created, before.created);
  EXPECT_EQ(after.freed, before.freed);
  // Each operation's session protocol needs several contexts (caller nonce,
  // parameter hashes, HMACs): every one of them came from the pool.
  EXPECT_GE(after.reused - before.reused, uint64_t{2} * 2 * kRounds);
  EXPECT_EQ(after.lent, 0u);  // tss2-esys gave every one back
  EXPECT_GE(after.idle, 1u);
  EXPECT_LE(after.idle, kMaxIdle);
}

TEST_F(EsysLibCtxPoolTest, ContextsThatOtherCodeCreatesAreLeftToLibcrypto) {
  {
    auto token = OpenOrDie();  // the pool is on for the rest of the process
    ASSERT_NE(token, nullptr);
    ASSERT_TRUE(token->TlsSign(Sha256Digest("on")).ok());
  }
  const LibCtxPoolStats before = EsysLibCtxPoolStats();
  ASSERT_TRUE(before.enabled);
  ASSERT_GE(before.idle, 1u);
  // Called from here, not from libtss2-esys: a context of libcrypto's own.
  OSSL_LIB_CTX* ctx = OSSL_LIB_CTX_new();
  ASSERT_NE(ctx, nullptr);
  EVP_MD* md = EVP_MD_fetch(ctx, "SHA256", nullptr);
  EXPECT_NE(md, nullptr);
  EVP_MD_free(md);
  LibCtxPoolStats during = EsysLibCtxPoolStats();
  EXPECT_EQ(during.created, before.created);
  EXPECT_EQ(during.reused, before.reused);
  EXPECT_EQ(during.lent, 0u);
  EXPECT_EQ(during.idle, before.idle);
  OSSL_LIB_CTX_free(ctx);
  LibCtxPoolStats after = EsysLibCtxPoolStats();
  EXPECT_EQ(after.idle, before.idle);  // not taken into the pool
  EXPECT_EQ(after.freed, before.freed);
  OSSL_LIB_CTX_free(nullptr);  // libcrypto's no-op
  EXPECT_EQ(EsysLibCtxPoolStats().idle, before.idle);
}

TEST_F(EsysLibCtxPoolTest, ATokenOpenedAgainStillWorksWithTheContextsOfThePreviousOne) {
  const std::vector<uint8_t> label = {'x'};
  std::array<uint8_t, 32> first{};
  {
    auto token = OpenOrDie();
    ASSERT_NE(token, nullptr);
    auto mac = token->Hmac(label);
    ASSERT_TRUE(mac.ok()) << mac.error().message;
    first = *mac;
  }
  const uint64_t created = EsysLibCtxPoolStats().created;
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  auto mac = token->Hmac(label);
  ASSERT_TRUE(mac.ok()) << mac.error().message;
  EXPECT_EQ(*mac, first);
  // 1024-bit key: a block below the modulus (top byte zero); an RSA
  // operation loads a key under a salted session of its own.
  std::vector<uint8_t> block(128, 0x42);
  block[0] = 0;
  auto raw = token->RsaPrivateRaw(block);
  ASSERT_TRUE(raw.ok()) << raw.error().message;
  EXPECT_EQ(EsysLibCtxPoolStats().created, created);
}

}  // namespace
}  // namespace onionmail::hsm::tpm2
