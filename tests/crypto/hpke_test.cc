// crypto/hpke: RFC 9180 appendix A.1 vectors, round trips, and the single
// kDataLoss error of Open() for every kind of bad input.
#include "crypto/hpke.h"

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "crypto/hex.h"

namespace onionmail::crypto::hpke {
namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

std::vector<uint8_t> Hex(std::string_view hex) {
  auto bytes = FromHex(hex);
  EXPECT_TRUE(bytes.has_value()) << hex;
  return bytes.value_or(std::vector<uint8_t>{});
}

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

SecretBytes Secret(std::span<const uint8_t> bytes) {
  return SecretBytes(SecretAccess::Grant(), bytes);
}

std::vector<uint8_t> Reveal(const SecretBytes& s) {
  auto b = s.Reveal(SecretAccess::Grant());
  return {b.begin(), b.end()};
}

std::vector<uint8_t> RawPublic(const EVP_PKEY* key) {
  std::vector<uint8_t> out(32);
  size_t len = out.size();
  EXPECT_EQ(EVP_PKEY_get_raw_public_key(key, out.data(), &len), 1);
  out.resize(len);
  return out;
}

std::vector<uint8_t> RawPrivate(const EVP_PKEY* key) {
  std::vector<uint8_t> out(32);
  size_t len = out.size();
  EXPECT_EQ(EVP_PKEY_get_raw_private_key(key, out.data(), &len), 1);
  out.resize(len);
  return out;
}

PkeyPtr NewX25519() { return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519")); }

PkeyPtr PublicOnly(const EVP_PKEY* key) {
  const auto pub = RawPublic(key);
  return PkeyPtr(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, pub.data(), pub.size()));
}

// RFC 9180 appendix A.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM,
// mode_base, first encryption (sequence number 0).
constexpr std::string_view kInfo = "4f6465206f6e2061204772656369616e2055726e";
constexpr std::string_view kIkmE =
    "7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234";
constexpr std::string_view kPkEm =
    "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431";
constexpr std::string_view kSkEm =
    "52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736";
constexpr std::string_view kIkmR =
    "6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037";
constexpr std::string_view kPkRm =
    "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d";
constexpr std::string_view kSkRm =
    "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8";
constexpr std::string_view kEnc = kPkEm;
constexpr std::string_view kPt = "4265617574792069732074727574682c20747275746820626561757479";
constexpr std::string_view kAad = "436f756e742d30";  // "Count-0"
constexpr std::string_view kCt =
    "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a9"
    "6d8770ac83d07bea87e13c512a";

TEST(HpkeRfc9180Test, DeriveKeyPairGivesTheVectorsKeyPairs) {
  PkeyPtr e(DeriveKeyPairForTest(Hex(kIkmE)));
  PkeyPtr r(DeriveKeyPairForTest(Hex(kIkmR)));
  ASSERT_NE(e, nullptr);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(ToHex(RawPublic(e.get())), kPkEm);
  EXPECT_EQ(ToHex(RawPrivate(e.get())), kSkEm);
  EXPECT_EQ(ToHex(RawPublic(r.get())), kPkRm);
  EXPECT_EQ(ToHex(RawPrivate(r.get())), kSkRm);
}

TEST(HpkeRfc9180Test, SealWithTheVectorsEphemeralGivesExactlyItsEncAndCiphertext) {
  PkeyPtr e(DeriveKeyPairForTest(Hex(kIkmE)));
  PkeyPtr r(DeriveKeyPairForTest(Hex(kIkmR)));
  ASSERT_NE(e, nullptr);
  ASSERT_NE(r, nullptr);
  PkeyPtr r_public = PublicOnly(r.get());
  ASSERT_NE(r_public, nullptr);
  auto sealed = SealWithEphemeralForTest(Aead::kAes128Gcm, r_public.get(), e.get(), Hex(kInfo),
                                         Hex(kAad), Secret(Hex(kPt)));
  ASSERT_TRUE(sealed.ok()) << sealed.error().message;
  EXPECT_EQ(ToHex(sealed->enc), kEnc);
  EXPECT_EQ(ToHex(sealed->ciphertext), kCt);
}

TEST(HpkeRfc9180Test, OpenWithTheVectorsRecipientKeyRecoversThePlaintext) {
  const auto sk = Hex(kSkRm);
  PkeyPtr r(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, sk.data(), sk.size()));
  ASSERT_NE(r, nullptr);
  auto opened = Open(Aead::kAes128Gcm, r.get(), Hex(kEnc), Hex(kInfo), Hex(kAad), Hex(kCt));
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(ToHex(Reveal(*opened)), kPt);
  // The same bytes under the other AEAD are not a valid message.
  auto other = Open(Aead::kAes256Gcm, r.get(), Hex(kEnc), Hex(kInfo), Hex(kAad), Hex(kCt));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, ErrorCode::kDataLoss);
}

class HpkeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(recipient_, nullptr);
    ASSERT_NE(recipient_public_, nullptr);
    auto sealed = Seal(Aead::kAes256Gcm, recipient_public_.get(), info_, aad_, Secret(msg_));
    ASSERT_TRUE(sealed.ok()) << sealed.error().message;
    sealed_ = std::move(*sealed);
    auto ok =
        Open(Aead::kAes256Gcm, recipient_.get(), sealed_.enc, info_, aad_, sealed_.ciphertext);
    ASSERT_TRUE(ok.ok());  // every failure case below differs in one input only
  }

  // Open() with one input changed fails with the one kDataLoss error.
  void ExpectDataLoss(const EVP_PKEY* key, std::span<const uint8_t> enc,
                      std::span<const uint8_t> info, std::span<const uint8_t> aad,
                      std::span<const uint8_t> ct, const char* what) {
    SCOPED_TRACE(what);
    auto r = Open(Aead::kAes256Gcm, key, enc, info, aad, ct);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
    messages_.push_back(r.error().message);
  }
  void ExpectOneMessage() {
    ASSERT_FALSE(messages_.empty());
    for (const auto& m : messages_) EXPECT_EQ(m, messages_.front());
    EXPECT_FALSE(messages_.front().empty());
  }

  PkeyPtr recipient_ = NewX25519();
  PkeyPtr recipient_public_ = PublicOnly(recipient_.get());
  std::vector<uint8_t> info_ = Bytes("onionmail inbox v1|alice");
  std::vector<uint8_t> aad_ = Bytes("message 42");
  std::vector<uint8_t> msg_ = Bytes("a 32-byte data key goes here....");
  Sealed sealed_;
  std::vector<std::string> messages_;
};

TEST_F(HpkeTest, Aes256GcmRoundTripsThroughAPublicOnlyKey) {
  EXPECT_EQ(sealed_.ciphertext.size(), msg_.size() + kTagBytes);
  EXPECT_EQ(sealed_.ciphertext.end(),
            std::search(sealed_.ciphertext.begin(), sealed_.ciphertext.end(), msg_.begin(),
                        msg_.begin() + 8));
  auto opened =
      Open(Aead::kAes256Gcm, recipient_.get(), sealed_.enc, info_, aad_, sealed_.ciphertext);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(Reveal(*opened), msg_);
}

TEST_F(HpkeTest, SealingToThePrivateKeyWorksToo) {
  auto sealed = Seal(Aead::kAes256Gcm, recipient_.get(), info_, aad_, Secret(msg_));
  ASSERT_TRUE(sealed.ok()) << sealed.error().message;
  auto opened =
      Open(Aead::kAes256Gcm, recipient_.get(), sealed->enc, info_, aad_, sealed->ciphertext);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(Reveal(*opened), msg_);
}

TEST_F(HpkeTest, EmptyPlaintextInfoAndAadRoundTrip) {
  for (Aead aead : {Aead::kAes128Gcm, Aead::kAes256Gcm}) {
    auto sealed = Seal(aead, recipient_public_.get(), {}, {}, SecretBytes());
    ASSERT_TRUE(sealed.ok()) << sealed.error().message;
    EXPECT_EQ(sealed->ciphertext.size(), kTagBytes);
    auto opened = Open(aead, recipient_.get(), sealed->enc, {}, {}, sealed->ciphertext);
    ASSERT_TRUE(opened.ok());
    EXPECT_TRUE(opened->empty());
  }
}

TEST_F(HpkeTest, SealIsRandomisedByAFreshEphemeralKey) {
  auto again = Seal(Aead::kAes256Gcm, recipient_public_.get(), info_, aad_, Secret(msg_));
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->enc, sealed_.enc);
  EXPECT_NE(again->ciphertext, sealed_.ciphertext);
  auto opened =
      Open(Aead::kAes256Gcm, recipient_.get(), again->enc, info_, aad_, again->ciphertext);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(Reveal(*opened), msg_);
}

TEST_F(HpkeTest, WrongKeyInfoAadOrAeadIsDataLoss) {
  PkeyPtr other = NewX25519();
  ASSERT_NE(other, nullptr);
  const auto& enc = sealed_.enc;
  const auto& ct = sealed_.ciphertext;
  ExpectDataLoss(other.get(), enc, info_, aad_, ct, "wrong private key");
  ExpectDataLoss(recipient_.get(), enc, Bytes("onionmail inbox v1|bob"), aad_, ct, "wrong info");
  ExpectDataLoss(recipient_.get(), enc, {}, aad_, ct, "empty info");
  ExpectDataLoss(recipient_.get(), enc, info_, Bytes("message 43"), ct, "wrong aad");
  ExpectDataLoss(recipient_.get(), enc, info_, {}, ct, "empty aad");
  auto r = Open(Aead::kAes128Gcm, recipient_.get(), enc, info_, aad_, ct);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
  messages_.push_back(r.error().message);
  ExpectOneMessage();
}

TEST_F(HpkeTest, AnyFlippedBitInEncCiphertextOrTagIsDataLoss) {
  for (size_t i : {size_t{0}, size_t{13}, kEncBytes - 1}) {
    for (uint8_t bit : {uint8_t{0x01}, uint8_t{0x80}}) {
      auto enc = sealed_.enc;
      enc[i] ^= bit;
      ExpectDataLoss(recipient_.get(), enc, info_, aad_, sealed_.ciphertext, "enc bit");
    }
  }
  const size_t n = sealed_.ciphertext.size();
  for (size_t i : {size_t{0}, msg_.size() - 1, msg_.size(), n - 1}) {  // ct, ct, tag, tag
    auto ct = sealed_.ciphertext;
    ct[i] ^= 0x04;
    ExpectDataLoss(recipient_.get(), sealed_.enc, info_, aad_, ct, "ciphertext or tag bit");
  }
  ExpectOneMessage();
}

TEST_F(HpkeTest, TruncatedOrExtendedCiphertextIsDataLoss) {
  const auto& ct = sealed_.ciphertext;
  const std::span<const uint8_t> all(ct);
  ExpectDataLoss(recipient_.get(), sealed_.enc, info_, aad_, all.first(ct.size() - 1),
                 "last byte cut");
  ExpectDataLoss(recipient_.get(), sealed_.enc, info_, aad_, all.first(kTagBytes), "tag only");
  ExpectDataLoss(recipient_.get(), sealed_.enc, info_, aad_, all.first(kTagBytes - 1),
                 "shorter than a tag");
  ExpectDataLoss(recipient_.get(), sealed_.enc, info_, aad_, {}, "empty");
  ExpectDataLoss(recipient_.get(), sealed_.enc, info_, aad_, all.subspan(1), "first byte cut");
  auto longer = ct;
  longer.push_back(0);
  ExpectDataLoss(recipient_.get(), sealed_.enc, info_, aad_, longer, "byte appended");
  ExpectOneMessage();
}

TEST_F(HpkeTest, EncOfTheWrongSizeIsDataLoss) {
  std::vector<uint8_t> enc(sealed_.enc.begin(), sealed_.enc.end());
  const std::span<const uint8_t> all(enc);
  ExpectDataLoss(recipient_.get(), all.first(kEncBytes - 1), info_, aad_, sealed_.ciphertext,
                 "31 bytes");
  ExpectDataLoss(recipient_.get(), {}, info_, aad_, sealed_.ciphertext, "empty");
  enc.push_back(0);
  ExpectDataLoss(recipient_.get(), enc, info_, aad_, sealed_.ciphertext, "33 bytes");
  ExpectOneMessage();
}

// Points of small order: X25519 with them gives the all-zero shared secret
// (RFC 7748 section 6.1), which RFC 9180 section 7.1.4 says to reject.
const std::vector<std::string_view> kLowOrderPoints = {
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
};

TEST_F(HpkeTest, LowOrderEncIsDataLoss) {
  for (auto point : kLowOrderPoints) {
    ExpectDataLoss(recipient_.get(), Hex(point), info_, aad_, sealed_.ciphertext, "low order");
  }
  ExpectOneMessage();
}

TEST_F(HpkeTest, SealToALowOrderRecipientKeyIsRefused) {
  for (auto point : kLowOrderPoints) {
    const auto pub = Hex(point);
    PkeyPtr low(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, pub.data(), pub.size()));
    ASSERT_NE(low, nullptr);
    auto r = Seal(Aead::kAes256Gcm, low.get(), info_, aad_, Secret(msg_));
    ASSERT_FALSE(r.ok()) << point;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST_F(HpkeTest, RecipientKeyThatIsNotAnX25519PrivateKeyIsDataLoss) {
  PkeyPtr p256(EVP_EC_gen("prime256v1"));
  PkeyPtr ed25519(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  ASSERT_NE(p256, nullptr);
  ASSERT_NE(ed25519, nullptr);
  const auto& enc = sealed_.enc;
  const auto& ct = sealed_.ciphertext;
  ExpectDataLoss(p256.get(), enc, info_, aad_, ct, "P-256 key");
  ExpectDataLoss(ed25519.get(), enc, info_, aad_, ct, "Ed25519 key");
  ExpectDataLoss(nullptr, enc, info_, aad_, ct, "no key");
  ExpectDataLoss(recipient_public_.get(), enc, info_, aad_, ct, "public half only");
  ExpectOneMessage();
}

TEST_F(HpkeTest, SealToAKeyThatIsNotX25519IsInvalidArgument) {
  PkeyPtr p256(EVP_EC_gen("prime256v1"));
  PkeyPtr ed25519(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  ASSERT_NE(p256, nullptr);
  ASSERT_NE(ed25519, nullptr);
  for (const EVP_PKEY* key :
       {static_cast<const EVP_PKEY*>(p256.get()), static_cast<const EVP_PKEY*>(ed25519.get()),
        static_cast<const EVP_PKEY*>(nullptr)}) {
    auto r = Seal(Aead::kAes256Gcm, key, info_, aad_, Secret(msg_));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  // Nor may the test hook's ephemeral key be of another type.
  auto r = SealWithEphemeralForTest(Aead::kAes256Gcm, recipient_public_.get(), ed25519.get(), info_,
                                    aad_, Secret(msg_));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(HpkeTest, ConcurrentSealsAndOpensWithOneKeyAllSucceed) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 50;
  std::atomic<int> opened{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRounds; ++i) {
        auto sealed = Seal(Aead::kAes256Gcm, recipient_public_.get(), info_, aad_, Secret(msg_));
        if (!sealed.ok()) continue;
        auto r =
            Open(Aead::kAes256Gcm, recipient_.get(), sealed->enc, info_, aad_, sealed->ciphertext);
        if (r.ok() && Reveal(*r) == msg_) opened.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(opened.load(), kThreads * kRounds);
}

// Not a pass/fail check: prints what Open() costs next to a bare X25519
// derive (context, peer already parsed, no peer validation), timed in turn
// within each round so that load on the machine hits both alike.
TEST_F(HpkeTest, ReportsTheMeanCostOfOpen) {
  constexpr int kRounds = 2000;
  using Clock = std::chrono::steady_clock;
  PkeyPtr peer = PublicOnly(NewX25519().get());
  ASSERT_NE(peer, nullptr);
  std::vector<double> derive_us, open_us, seal_us;
  auto us = [](Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); };
  for (int i = 0; i < kRounds; ++i) {
    auto t0 = Clock::now();
    {
      std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
          EVP_PKEY_CTX_new(recipient_.get(), nullptr), EVP_PKEY_CTX_free);
      uint8_t out[32];
      size_t len = sizeof(out);
      ASSERT_TRUE(ctx && EVP_PKEY_derive_init(ctx.get()) == 1 &&
                  EVP_PKEY_derive_set_peer_ex(ctx.get(), peer.get(), 0) == 1 &&
                  EVP_PKEY_derive(ctx.get(), out, &len) == 1);
    }
    auto t1 = Clock::now();
    {
      auto r =
          Open(Aead::kAes256Gcm, recipient_.get(), sealed_.enc, info_, aad_, sealed_.ciphertext);
      ASSERT_TRUE(r.ok());
    }
    auto t2 = Clock::now();
    {
      auto r = Seal(Aead::kAes256Gcm, recipient_public_.get(), info_, aad_, Secret(msg_));
      ASSERT_TRUE(r.ok());
    }
    auto t3 = Clock::now();
    derive_us.push_back(us(t1 - t0));
    open_us.push_back(us(t2 - t1));
    seal_us.push_back(us(t3 - t2));
  }
  auto mean = [](const std::vector<double>& v) {
    double sum = 0;
    for (double x : v) sum += x;
    return sum / static_cast<double>(v.size());
  };
  auto median = [](std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
  };
  std::printf(
      "[ hpke     ] %d rounds, mean (median): Open %.1f (%.1f) us; bare X25519 derive %.1f "
      "(%.1f) us; Open overhead %.1f (%.1f) us; Seal %.1f (%.1f) us\n",
      kRounds, mean(open_us), median(open_us), mean(derive_us), median(derive_us),
      mean(open_us) - mean(derive_us), median(open_us) - median(derive_us), mean(seal_us),
      median(seal_us));
}

}  // namespace
}  // namespace onionmail::crypto::hpke
