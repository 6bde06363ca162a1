// Conformance suite for hsm::Token (hsm/token.h) and the KeyStore built on it
// (hsm/token_key_store.h): the same assertions run against every real
// backend (SoftHSM2 over pkcs11, swtpm over tpm2). A missing SoftHSM2 or
// swtpm is a failure, never a skip.
//
// Each backend's device 0 is created and provisioned once per suite (RSA
// keygen on swtpm takes seconds); each test opens its own Token on it and
// closes it afterwards (swtpm serves one client at a time). Device 1, a
// second fresh device of the same backend, is provisioned only by the test
// that needs it.
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "hsm/key_store.h"
#include "hsm/token.h"
#include "hsm/token_key_store.h"
#include "tests/crypto/ecdsa_test_util.h"
#include "tests/hsm/conformance/token_backends.h"

namespace onionmail::hsm::conformance {
namespace {

using Mac = std::array<uint8_t, 32>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

constexpr int kRsaBits = 2048;
constexpr size_t kModulusBytes = kRsaBits / 8;

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

std::vector<uint8_t> Reveal(const SecretBytes& s) {
  auto r = s.Reveal(SecretAccess::Grant());
  return {r.begin(), r.end()};
}

PkeyPtr ParseSpki(const std::vector<uint8_t>& der) {
  const uint8_t* p = der.data();
  return PkeyPtr(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())), &EVP_PKEY_free);
}

// Public-key operation in software: OAEP with `md` for OAEP and MGF1, or raw
// m^e mod n when md is nullptr.
std::vector<uint8_t> SoftwareEncrypt(EVP_PKEY* key, std::span<const uint8_t> in, const EVP_MD* md) {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(key, nullptr),
                                                                  &EVP_PKEY_CTX_free);
  EXPECT_EQ(EVP_PKEY_encrypt_init(ctx.get()), 1);
  if (md != nullptr) {
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING), 1);
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), md), 1);
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md), 1);
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

Mac Sha256(std::span<const uint8_t> data) {
  Mac out{};
  unsigned int len = 0;
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr), 1);
  return out;
}

Mac SoftwareHmac(std::span<const uint8_t> key, std::span<const uint8_t> data) {
  Mac out{};
  size_t len = 0;
  EXPECT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                      data.data(), data.size(), out.data(), out.size(), &len),
            nullptr);
  EXPECT_EQ(len, out.size());
  return out;
}

const std::vector<uint8_t> kReferenceInput = Bytes("conformance reference label");

template <typename Backend>
class TokenConformanceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    backend_ = new Backend();
    setup_error_ = SetUpDevice(0);
  }
  static void TearDownTestSuite() {
    delete backend_;
    backend_ = nullptr;
    setup_error_.clear();
    references_[0].reset();
    references_[1].reset();
  }

  void SetUp() override {
    ASSERT_TRUE(setup_error_.empty()) << Backend::kName << ": " << setup_error_;
    token_ = OpenDevice(0);
    ASSERT_NE(token_, nullptr);
  }
  void TearDown() override { token_.reset(); }

  struct Reference {
    Mac mac;                        // Hmac(kReferenceInput) right after provisioning
    std::vector<uint8_t> spki;      // ServerPublicKey() right after provisioning
    std::vector<uint8_t> tls_spki;  // TlsPublicKey() right after provisioning
  };

  // Creates (device 0: the whole backend), opens and provisions a device and
  // records its reference values; an error text, empty on success.
  static std::string SetUpDevice(int index) {
    std::string err = index == 0 ? backend_->Create() : backend_->PrepareDevice(index);
    if (!err.empty()) return err;
    auto token = backend_->Open(index);
    if (!token.ok()) return "Open: " + token.error().message;
    auto provisioned = (*token)->Provision(kRsaBits);
    if (!provisioned.ok()) return "Provision: " + provisioned.error().message;
    auto mac = (*token)->Hmac(kReferenceInput);
    if (!mac.ok()) return "Hmac: " + mac.error().message;
    auto spki = (*token)->ServerPublicKey();
    if (!spki.ok()) return "ServerPublicKey: " + spki.error().message;
    auto tls_spki = (*token)->TlsPublicKey();
    if (!tls_spki.ok()) return "TlsPublicKey: " + tls_spki.error().message;
    references_[index] = Reference{*mac, *spki, *tls_spki};
    return "";
  }

  static std::shared_ptr<Token> OpenDevice(int index) {
    auto token = backend_->Open(index);
    EXPECT_TRUE(token.ok()) << Backend::kName << " device " << index << ": "
                            << token.error().message;
    if (!token.ok()) return nullptr;
    return std::shared_ptr<Token>(std::move(*token));
  }

  static std::unique_ptr<KeyStore> OpenStore(std::shared_ptr<Token> token) {
    auto store = OpenTokenKeyStore(std::move(token));
    EXPECT_TRUE(store.ok()) << store.error().message;
    return store.ok() ? std::move(*store) : nullptr;
  }

  PkeyPtr PublicKey() {
    auto der = token_->ServerPublicKey();
    EXPECT_TRUE(der.ok()) << der.error().message;
    return der.ok() ? ParseSpki(*der) : PkeyPtr(nullptr, &EVP_PKEY_free);
  }

  const EVP_MD* OaepMd() const {
    return token_->oaep_hash() == OaepHash::kSha256 ? EVP_sha256() : EVP_sha1();
  }

  static inline Backend* backend_ = nullptr;
  static inline std::string setup_error_;
  static inline std::array<std::optional<Reference>, 2> references_;
  std::shared_ptr<Token> token_;
};

struct BackendNames {
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};

using Backends = ::testing::Types<SoftHsm2Backend, SwtpmBackend>;
TYPED_TEST_SUITE(TokenConformanceTest, Backends, BackendNames);

TYPED_TEST(TokenConformanceTest, ProvisionIsIdempotentAndKeysPersistAcrossReopen) {
  const auto& ref = *this->references_[0];
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "first open" : "after reopen");
    const uint64_t ops = this->token_->operations();
    ASSERT_TRUE(this->token_->Provision(kRsaBits).ok());
    EXPECT_EQ(this->token_->operations(), ops) << "Provision created a key again";
    auto mac = this->token_->Hmac(kReferenceInput);
    ASSERT_TRUE(mac.ok()) << mac.error().message;
    EXPECT_EQ(*mac, ref.mac);
    auto spki = this->token_->ServerPublicKey();
    ASSERT_TRUE(spki.ok()) << spki.error().message;
    EXPECT_EQ(*spki, ref.spki);
    auto tls_spki = this->token_->TlsPublicKey();
    ASSERT_TRUE(tls_spki.ok()) << tls_spki.error().message;
    EXPECT_EQ(*tls_spki, ref.tls_spki);
    this->token_.reset();  // close before reopening (swtpm: one client)
    this->token_ = this->OpenDevice(0);
    ASSERT_NE(this->token_, nullptr);
  }
}

TYPED_TEST(TokenConformanceTest, TlsKeyIsAnEcdsaP256KeyApartFromTheServerKey) {
  const auto& ref = *this->references_[0];
  PkeyPtr key = ParseSpki(ref.tls_spki);
  ASSERT_NE(key, nullptr) << "TlsPublicKey is not a DER SubjectPublicKeyInfo";
  ASSERT_EQ(EVP_PKEY_get_base_id(key.get()), EVP_PKEY_EC);
  char group[64] = {};
  size_t group_len = 0;
  ASSERT_EQ(EVP_PKEY_get_utf8_string_param(key.get(), "group", group, sizeof(group), &group_len),
            1);
  EXPECT_EQ(std::string(group), "prime256v1");
  EXPECT_NE(ref.tls_spki, ref.spki);
}

TYPED_TEST(TokenConformanceTest, TlsSignIsAnEcdsaSignatureOfTheDigestMadeInTheDevice) {
  PkeyPtr key = ParseSpki(this->references_[0]->tls_spki);
  ASSERT_NE(key, nullptr);
  std::vector<uint8_t> digest(32);
  for (size_t i = 0; i < digest.size(); ++i) digest[i] = static_cast<uint8_t>(i * 7 + 1);
  std::vector<uint8_t> previous;
  for (int round = 0; round < 2; ++round) {
    const uint64_t ops = this->token_->operations();
    auto sig = this->token_->TlsSign(digest);
    ASSERT_TRUE(sig.ok()) << sig.error().message;
    EXPECT_EQ(this->token_->operations(), ops + 1);
    ASSERT_EQ(sig->size(), 64u);
    EXPECT_NE(*sig, previous) << "ECDSA must use a fresh nonce per signature";
    previous = *sig;
    const std::vector<uint8_t>& spki = this->references_[0]->tls_spki;
    EXPECT_TRUE(onionmail::testing::VerifyP256RawSignature(spki, digest, *sig));
    std::vector<uint8_t> other = digest;
    other[31] ^= 1;
    EXPECT_FALSE(onionmail::testing::VerifyP256RawSignature(spki, other, *sig));
  }
}

TYPED_TEST(TokenConformanceTest, TlsSignRefusesADigestThatIsNot32Bytes) {
  for (size_t n : {0u, 20u, 31u, 33u, 48u, 64u}) {
    const uint64_t ops = this->token_->operations();
    auto sig = this->token_->TlsSign(std::vector<uint8_t>(n, 1));
    ASSERT_FALSE(sig.ok()) << n;
    EXPECT_EQ(sig.error().code, ErrorCode::kInvalidArgument) << n;
    EXPECT_EQ(this->token_->operations(), ops) << n;
  }
}

TYPED_TEST(TokenConformanceTest, HmacIsDeterministicAndSeparatesInputs) {
  const std::vector<std::vector<uint8_t>> inputs = {{},
                                                    {0x00},
                                                    {0x00, 0x00},
                                                    Bytes("label"),
                                                    Bytes(std::string_view("label\0", 6)),
                                                    Bytes("lab"),
                                                    Bytes("Label"),
                                                    std::vector<uint8_t>(1000, 0x5a)};
  std::vector<Mac> macs;
  for (const auto& in : inputs) {
    auto a = this->token_->Hmac(in);
    auto b = this->token_->Hmac(in);
    ASSERT_TRUE(a.ok() && b.ok()) << "input of " << in.size() << " bytes";
    EXPECT_EQ(*a, *b) << "input of " << in.size() << " bytes";
    macs.push_back(*a);
  }
  for (size_t i = 0; i < macs.size(); ++i) {
    for (size_t j = i + 1; j < macs.size(); ++j) EXPECT_NE(macs[i], macs[j]) << i << " vs " << j;
  }
}

TYPED_TEST(TokenConformanceTest, HmacIsNotAKeylessHash) {
  for (const auto& in : {kReferenceInput, std::vector<uint8_t>{}}) {
    auto mac = this->token_->Hmac(in);
    ASSERT_TRUE(mac.ok()) << mac.error().message;
    EXPECT_NE(*mac, Sha256(in));
    const std::array<uint8_t, 32> zero_key{};
    EXPECT_NE(*mac, SoftwareHmac(zero_key, in));
    EXPECT_NE(*mac, Mac{});
  }
  // The helper is a real HMAC: keys are zero-padded to the block size, so a
  // one-byte zero key equals the all-zero key, while a non-zero key differs.
  const std::array<uint8_t, 32> zero_key{};
  const std::array<uint8_t, 1> one_zero{};
  const std::array<uint8_t, 1> one{0x01};
  EXPECT_EQ(SoftwareHmac(zero_key, kReferenceInput), SoftwareHmac(one_zero, kReferenceInput));
  EXPECT_NE(SoftwareHmac(zero_key, kReferenceInput), SoftwareHmac(one, kReferenceInput));
}

TYPED_TEST(TokenConformanceTest, ServerPublicKeyIsRsa2048WithExponent65537) {
  PkeyPtr key = this->PublicKey();
  ASSERT_NE(key, nullptr) << "ServerPublicKey is not a DER SubjectPublicKeyInfo";
  EXPECT_EQ(EVP_PKEY_get_base_id(key.get()), EVP_PKEY_RSA);
  EXPECT_EQ(EVP_PKEY_get_bits(key.get()), kRsaBits);
  BIGNUM* e = nullptr;
  ASSERT_EQ(EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_RSA_E, &e), 1);
  EXPECT_TRUE(BN_is_word(e, 65537));
  BN_free(e);
}

TYPED_TEST(TokenConformanceTest, RsaPrivateRawInvertsThePublicOperation) {
  PkeyPtr key = this->PublicKey();
  ASSERT_NE(key, nullptr);
  // Top byte 0x01 keeps m below n (whose top bit is set); the second case
  // has leading zero bytes, so the result must come back left-padded.
  for (int leading_zeros : {0, 1, 2}) {
    SCOPED_TRACE(leading_zeros);
    std::vector<uint8_t> m(kModulusBytes);
    ASSERT_EQ(RAND_bytes(m.data(), static_cast<int>(m.size())), 1);
    m[0] = 0x01;
    for (int i = 0; i < leading_zeros; ++i) m[static_cast<size_t>(i)] = 0;
    const std::vector<uint8_t> c = SoftwareEncrypt(key.get(), m, nullptr);
    ASSERT_EQ(c.size(), kModulusBytes);
    auto back = this->token_->RsaPrivateRaw(c);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(*back, m);
  }
  for (size_t size : {kModulusBytes - 1, kModulusBytes + 1, size_t{0}}) {
    auto wrong = this->token_->RsaPrivateRaw(std::vector<uint8_t>(size, 0x01));
    ASSERT_FALSE(wrong.ok()) << size << " bytes accepted";
    EXPECT_EQ(wrong.error().code, ErrorCode::kInvalidArgument) << wrong.error().message;
  }
}

TYPED_TEST(TokenConformanceTest, RsaDecryptOaepRoundTripsWithTheProbedHash) {
  PkeyPtr key = this->PublicKey();
  ASSERT_NE(key, nullptr);
  const EVP_MD* md = this->OaepMd();
  for (size_t size : {size_t{1}, size_t{32}, size_t{190}}) {
    SCOPED_TRACE(size);
    std::vector<uint8_t> plain(size);
    ASSERT_EQ(RAND_bytes(plain.data(), static_cast<int>(size)), 1);
    std::vector<uint8_t> ct = SoftwareEncrypt(key.get(), plain, md);
    ASSERT_EQ(ct.size(), kModulusBytes);
    auto pt = this->token_->RsaDecryptOaep(ct);
    ASSERT_TRUE(pt.ok()) << pt.error().message;
    EXPECT_EQ(Reveal(*pt), plain);
    ct[kModulusBytes - 1] ^= 0x01;  // a damaged ciphertext never decrypts
    EXPECT_FALSE(this->token_->RsaDecryptOaep(ct).ok());
  }
  // The probed hash is what the device really uses: the other one fails.
  const EVP_MD* other = md == EVP_sha256() ? EVP_sha1() : EVP_sha256();
  const std::vector<uint8_t> plain = Bytes("thirty-two bytes of inbox key!!!");
  EXPECT_FALSE(this->token_->RsaDecryptOaep(SoftwareEncrypt(key.get(), plain, other)).ok());
}

TYPED_TEST(TokenConformanceTest, ProbeSucceedsWithoutCountingAnOperation) {
  const uint64_t ops = this->token_->operations();
  for (int i = 0; i < 5; ++i) {
    auto probe = this->token_->Probe();
    ASSERT_TRUE(probe.ok()) << probe.error().message;
  }
  EXPECT_EQ(this->token_->operations(), ops);
}

TYPED_TEST(TokenConformanceTest, OperationsCountEachCryptographicCall) {
  PkeyPtr key = this->PublicKey();
  ASSERT_NE(key, nullptr);
  std::vector<uint8_t> m(kModulusBytes, 0x22);
  const std::vector<uint8_t> raw_input = SoftwareEncrypt(key.get(), m, nullptr);
  const std::vector<uint8_t> oaep_input =
      SoftwareEncrypt(key.get(), Bytes("counted"), this->OaepMd());

  const uint64_t start = this->token_->operations();
  ASSERT_TRUE(this->token_->Hmac(Bytes("a")).ok());
  EXPECT_EQ(this->token_->operations(), start + 1) << "Hmac";
  ASSERT_TRUE(this->token_->RsaPrivateRaw(raw_input).ok());
  EXPECT_EQ(this->token_->operations(), start + 2) << "RsaPrivateRaw";
  ASSERT_TRUE(this->token_->RsaDecryptOaep(oaep_input).ok());
  EXPECT_EQ(this->token_->operations(), start + 3) << "RsaDecryptOaep";
  ASSERT_TRUE(this->token_->ServerPublicKey().ok());  // public data, no crypto
  EXPECT_EQ(this->token_->operations(), start + 3) << "ServerPublicKey";
}

TYPED_TEST(TokenConformanceTest, KeyStoreOverTheTokenCostsNoDeviceOperationPerKeyedHashOrRecord) {
  std::unique_ptr<KeyStore> store = this->OpenStore(this->token_);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->device_operations(), this->token_->operations());
  const uint64_t after_creation = store->device_operations();

  auto first = store->KeyedHash("maildir", Bytes("alice"));
  ASSERT_TRUE(first.ok()) << first.error().message;
  std::vector<uint8_t> sealed_record;
  for (int i = 0; i < 50; ++i) {
    const std::vector<uint8_t> data = Bytes("user " + std::to_string(i));
    auto h1 = store->KeyedHash("maildir", data);
    auto h2 = store->KeyedHash("maildir", data);
    auto other_purpose = store->KeyedHash("pop3-user", data);
    ASSERT_TRUE(h1.ok() && h2.ok() && other_purpose.ok());
    EXPECT_EQ(*h1, *h2);
    EXPECT_NE(*h1, *other_purpose);
    auto sealed = store->SealRecord(data, Bytes("aad"));
    ASSERT_TRUE(sealed.ok()) << sealed.error().message;
    auto opened = store->OpenRecord(*sealed, Bytes("aad"));
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    EXPECT_EQ(Reveal(*opened), data);
    sealed_record = *sealed;
  }
  EXPECT_EQ(store->device_operations(), after_creation);
  EXPECT_EQ(this->token_->operations(), after_creation);

  // Exactly one device operation per InboxWrapSecret; deterministic per salt.
  const std::vector<uint8_t> salt_a(16, 0xa1), salt_b(16, 0xb2);
  auto a1 = store->InboxWrapSecret(salt_a);
  ASSERT_TRUE(a1.ok()) << a1.error().message;
  EXPECT_EQ(store->device_operations(), after_creation + 1);
  auto a2 = store->InboxWrapSecret(salt_a);
  ASSERT_TRUE(a2.ok());
  EXPECT_EQ(store->device_operations(), after_creation + 2);
  auto b = store->InboxWrapSecret(salt_b);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(store->device_operations(), after_creation + 3);
  EXPECT_EQ(a1->size(), 32u);
  EXPECT_TRUE(a1->Equals(*a2));
  EXPECT_FALSE(a1->Equals(*b));
  // Records of version 2 give the device salt || Argon2id output (48 bytes):
  // one operation each, a different secret per password factor.
  std::vector<uint8_t> with_p1 = salt_a, with_p2 = salt_a;
  with_p1.insert(with_p1.end(), 32, 0x01);
  with_p2.insert(with_p2.end(), 32, 0x02);
  auto p1 = store->InboxWrapSecret(with_p1);
  auto p2 = store->InboxWrapSecret(with_p2);
  ASSERT_TRUE(p1.ok() && p2.ok());
  EXPECT_EQ(store->device_operations(), after_creation + 5);
  EXPECT_FALSE(p1->Equals(*p2));
  EXPECT_FALSE(p1->Equals(*a1));

  // Tampering (any byte, or the aad) is kDataLoss.
  for (size_t pos : {size_t{0}, sealed_record.size() / 2, sealed_record.size() - 1}) {
    std::vector<uint8_t> tampered = sealed_record;
    tampered[pos] ^= 0x80;
    auto r = store->OpenRecord(tampered, Bytes("aad"));
    ASSERT_FALSE(r.ok()) << "byte " << pos;
    EXPECT_EQ(r.error().code, ErrorCode::kDataLoss) << "byte " << pos;
  }
  auto wrong_aad = store->OpenRecord(sealed_record, Bytes("aae"));
  ASSERT_FALSE(wrong_aad.ok());
  EXPECT_EQ(wrong_aad.error().code, ErrorCode::kDataLoss);

  // A new KeyStore over the same device (a restart) derives the same roots.
  std::unique_ptr<KeyStore> again = this->OpenStore(this->token_);
  ASSERT_NE(again, nullptr);
  auto first_again = again->KeyedHash("maildir", Bytes("alice"));
  ASSERT_TRUE(first_again.ok());
  EXPECT_EQ(*first_again, *first);
  auto reopened = again->OpenRecord(sealed_record, Bytes("aad"));
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  EXPECT_EQ(Reveal(*reopened), Bytes("user 49"));
}

TYPED_TEST(TokenConformanceTest, TwoDevicesDeriveDifferentSecrets) {
  const std::string err = this->SetUpDevice(1);
  ASSERT_TRUE(err.empty()) << "second device: " << err;
  std::shared_ptr<Token> other = this->OpenDevice(1);
  ASSERT_NE(other, nullptr);

  auto mine = this->token_->Hmac(kReferenceInput);
  auto theirs = other->Hmac(kReferenceInput);
  ASSERT_TRUE(mine.ok() && theirs.ok());
  EXPECT_EQ(*mine, this->references_[0]->mac);
  EXPECT_NE(*mine, *theirs);
  EXPECT_NE(this->references_[0]->spki, this->references_[1]->spki);
  EXPECT_NE(this->references_[0]->tls_spki, this->references_[1]->tls_spki);

  std::unique_ptr<KeyStore> my_store = this->OpenStore(this->token_);
  std::unique_ptr<KeyStore> their_store = this->OpenStore(other);
  ASSERT_NE(my_store, nullptr);
  ASSERT_NE(their_store, nullptr);
  const std::vector<uint8_t> salt(16, 0x5c);
  auto my_wrap = my_store->InboxWrapSecret(salt);
  auto their_wrap = their_store->InboxWrapSecret(salt);
  ASSERT_TRUE(my_wrap.ok() && their_wrap.ok());
  EXPECT_FALSE(my_wrap->Equals(*their_wrap));
  auto my_hash = my_store->KeyedHash("maildir", Bytes("alice"));
  auto their_hash = their_store->KeyedHash("maildir", Bytes("alice"));
  ASSERT_TRUE(my_hash.ok() && their_hash.ok());
  EXPECT_NE(*my_hash, *their_hash);
  // A record from this device's disk does not open with the other token.
  auto sealed = my_store->SealRecord(Bytes("inbox key record"), Bytes("aad"));
  ASSERT_TRUE(sealed.ok());
  auto stolen = their_store->OpenRecord(*sealed, Bytes("aad"));
  ASSERT_FALSE(stolen.ok());
  EXPECT_EQ(stolen.error().code, ErrorCode::kDataLoss);
}

TYPED_TEST(TokenConformanceTest, ConcurrentCallsAreSerialisedSafely) {
  auto expected = this->token_->Hmac(kReferenceInput);
  ASSERT_TRUE(expected.ok()) << expected.error().message;
  constexpr int kThreads = 4;
  constexpr int kCalls = 10;
  std::atomic<int> good{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  Token* token = this->token_.get();
  const Mac want = *expected;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCalls; ++i) {
        auto mac = token->Hmac(kReferenceInput);
        if (!mac.ok()) {
          ++failed;
        } else if (*mac == want) {
          ++good;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(good.load(), kThreads * kCalls);
}

}  // namespace
}  // namespace onionmail::hsm::conformance
