#include "crypto/algorithms.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/provider.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "crypto/aead.h"
#include "crypto/hex.h"
#include "crypto/kdf.h"
#include "crypto/segment_stream.h"

namespace onionmail::crypto {
namespace {

TEST(AlgorithmsTest, EveryAccessorReturnsTheSameObjectOnEveryCall) {
  EXPECT_NE(Aes256Gcm(), nullptr);
  EXPECT_EQ(Aes256Gcm(), Aes256Gcm());
  EXPECT_EQ(Aes128Gcm(), Aes128Gcm());
  EXPECT_NE(Aes128Gcm(), Aes256Gcm());
  EXPECT_EQ(HmacAlgorithm(), HmacAlgorithm());
  EXPECT_EQ(HmacSha256Template(), HmacSha256Template());
  EXPECT_EQ(HkdfAlgorithm(), HkdfAlgorithm());
  EXPECT_EQ(Sha256Md(), Sha256Md());
}

TEST(AlgorithmsTest, TheFetchedObjectsAreTheNamedAlgorithms) {
  EXPECT_EQ(EVP_CIPHER_get_key_length(Aes256Gcm()), 32);
  EXPECT_EQ(EVP_CIPHER_get_key_length(Aes128Gcm()), 16);
  EXPECT_EQ(EVP_CIPHER_get_mode(Aes256Gcm()), EVP_CIPH_GCM_MODE);
  EXPECT_TRUE(EVP_MAC_is_a(HmacAlgorithm(), "HMAC"));
  EXPECT_TRUE(EVP_KDF_is_a(HkdfAlgorithm(), "HKDF"));
  EXPECT_EQ(EVP_MD_get_size(Sha256Md()), 32);
}

// The template is shared: keying a copy must leave it unkeyed, so that MACs in
// turn under different keys (one of them empty) each match their own vector.
TEST(AlgorithmsTest, MacsUnderDifferentKeysInTurnEachMatchTheirVectors) {
  const std::string_view data = "what do ya want for nothing?";
  const std::vector<uint8_t> bytes(data.begin(), data.end());
  for (int round = 0; round < 2; ++round) {
    auto jefe = HmacSha256(SecretBytes(SecretAccess::Grant(), std::string_view("Jefe")), bytes);
    auto empty = HmacSha256(SecretBytes(), {});
    ASSERT_TRUE(jefe.ok() && empty.ok());
    // RFC 4231, test case 2; HMAC-SHA256("", "") as `openssl dgst -sha256 -hmac ''` gives it.
    EXPECT_EQ(ToHex(*jefe), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    EXPECT_EQ(ToHex(*empty), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  }
}

// The key role hashes names and verifies MACs from one thread per session.
TEST(AlgorithmsTest, ConcurrentHmacsFromManyThreadsAllMatchTheSingleThreadedResult) {
  std::vector<std::string> keys;
  std::vector<std::string> expected;
  for (int i = 0; i < 8; ++i) {
    keys.push_back("key-" + std::to_string(i));
    auto mac = HmacSha256(SecretBytes(SecretAccess::Grant(), std::string_view(keys.back())), {});
    ASSERT_TRUE(mac.ok());
    expected.push_back(ToHex(*mac));
  }
  std::vector<int> mismatches(8, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        const int k = (t + i) % 8;
        auto mac = HmacSha256(SecretBytes(SecretAccess::Grant(), std::string_view(keys[k])), {});
        if (!mac.ok() || ToHex(*mac) != expected[k]) ++mismatches[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 8; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

// OpenSSL with only its "null" provider (no algorithms): a misconfigured
// host. Every accessor stays null, and each operation fails with an error
// instead of crashing or aborting. Run in a child process, where no fetch
// has happened yet; it returns the exit code (0: all as expected).
int CheckOperationsFailWithoutAlgorithms() {
  if (OSSL_PROVIDER_load(nullptr, "null") == nullptr) return 10;
  if (Aes256Gcm() != nullptr || Aes128Gcm() != nullptr || HmacAlgorithm() != nullptr ||
      HmacSha256Template() != nullptr || HkdfAlgorithm() != nullptr) {
    return 11;
  }
  const SecretBytes key(32);
  auto mac = HmacSha256(key, std::vector<uint8_t>{'x'});
  if (mac.ok() || mac.error().code != ErrorCode::kInternal) return 12;
  auto hkdf = HkdfSha256(key, {}, "info", 32);
  if (hkdf.ok() || hkdf.error().code != ErrorCode::kInternal) return 13;
  // (AeadSeal is left out: its nonce comes from RAND_bytes, whose failure
  // aborts, crypto/random.h.)
  auto opened = AeadOpen(key, std::vector<uint8_t>(kAeadNonceBytes + kAeadTagBytes + 1, 0), {});
  if (opened.ok() || opened.error().code != ErrorCode::kInternal) return 14;
  auto enc = SegmentEncryptor::Create(key, {});
  if (enc.ok() || enc.error().code != ErrorCode::kInternal) return 15;
  const std::vector<uint8_t> prefix(kNoncePrefixBytes, 0);
  auto dec = SegmentDecryptor::Create(key, prefix, {});
  if (dec.ok() || dec.error().code != ErrorCode::kInternal) return 16;
  return 0;
}

TEST(AlgorithmsDeathTest, WithoutAProviderEveryOperationFailsWithAnInternalError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // _exit: the child's loaded provider is not unloaded, and LeakSanitizer's
  // exit-time check (ASan builds) must not turn that into a failure.
  EXPECT_EXIT(_exit(CheckOperationsFailWithoutAlgorithms()), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace onionmail::crypto
