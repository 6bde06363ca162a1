#include "unseal/kctl.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <string>
#include <vector>

#include "crypto/random.h"

namespace onionmail::unseal {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint64_t kNotBefore = 1767225600;  // 2026-01-01T00:00:00Z
constexpr uint64_t kDay = 86400;

KctlKeyPair Key() {
  auto key = GenerateKctlKey();
  EXPECT_TRUE(key.ok());
  return std::move(*key);
}

KctlCert Fields(KctlAction action = KctlAction::kDisable) {
  KctlCert cert;
  cert.server_id.fill(0xa5);
  cert.action = action;
  cert.serial = 10;
  cert.not_before = kNotBefore;
  cert.not_after = kNotBefore + 7 * kDay;
  cert.credits = action == KctlAction::kResetCredits ? 250 : 0;
  return cert;
}

KctlCert Signed(const KctlKeyPair& key, const KctlCert& fields) {
  auto cert = SignKctl(key.seed, fields);
  EXPECT_TRUE(cert.ok()) << cert.error().message;
  return cert.ok() ? *cert : KctlCert{};
}

void ExpectError(const Result<void>& r, ErrorCode code, const std::string& message) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, code) << r.error().message;
  EXPECT_EQ(r.error().message, message);
}

void ExpectInvalid(const Error& e) { EXPECT_EQ(e.code, ErrorCode::kInvalidArgument) << e.message; }

TEST(KctlTest, EveryActionRoundTripsAndVerifies) {
  const KctlKeyPair key = Key();
  for (KctlAction action : {KctlAction::kDisable, KctlAction::kEnable, KctlAction::kResetCredits,
                            KctlAction::kDestroy}) {
    const KctlCert cert = Signed(key, Fields(action));
    auto wire = EncodeKctl(cert);
    ASSERT_TRUE(wire.ok()) << wire.error().message;
    ASSERT_EQ(wire->size(), kKctlCertSize);
    EXPECT_EQ((*wire)[0], kKctlVersion);
    EXPECT_EQ((*wire)[33], static_cast<uint8_t>(action));
    auto parsed = ParseKctl(*wire);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(*parsed, cert);
    EXPECT_TRUE(VerifyKctl(*parsed, key.pub, kNotBefore + kDay, 9).ok());
  }
}

TEST(KctlTest, SigningInputIsLabelThenTheCertificateWithoutSignature) {
  const KctlKeyPair key = Key();
  const KctlCert cert = Signed(key, Fields(KctlAction::kResetCredits));
  auto input = KctlSigningInput(cert);
  auto wire = EncodeKctl(cert);
  ASSERT_TRUE(input.ok() && wire.ok());
  Bytes expected;
  expected.reserve(128);  // (also avoids a GCC 12 -Wstringop-overflow false positive)
  expected.insert(expected.end(), kKctlSigningLabel.begin(), kKctlSigningLabel.end());
  expected.push_back(0x00);
  expected.insert(expected.end(), wire->begin(), wire->begin() + kKctlSignedSize);
  EXPECT_EQ(*input, expected);
}

TEST(KctlTest, SigningIsDeterministic) {
  const KctlKeyPair key = Key();
  EXPECT_EQ(Signed(key, Fields()).signature, Signed(key, Fields()).signature);
}

TEST(KctlTest, CertificateSignedByAnotherKeyIsRejected) {
  const KctlKeyPair operator_key = Key();
  const KctlKeyPair forger = Key();
  const KctlCert forged = Signed(forger, Fields());
  ExpectError(VerifyKctl(forged, operator_key.pub, kNotBefore + 1, 0), ErrorCode::kUnauthenticated,
              "kctl: bad signature");
}

TEST(KctlTest, ModifiedCertificateIsRejected) {
  const KctlKeyPair key = Key();
  const KctlCert cert = Signed(key, Fields(KctlAction::kResetCredits));
  KctlCert changed = cert;
  changed.serial += 1;
  ExpectError(VerifyKctl(changed, key.pub, kNotBefore + 1, 0), ErrorCode::kUnauthenticated,
              "kctl: bad signature");
  changed = cert;
  changed.credits = 100000;
  ExpectError(VerifyKctl(changed, key.pub, kNotBefore + 1, 0), ErrorCode::kUnauthenticated,
              "kctl: bad signature");
  changed = cert;
  changed.server_id[0] ^= 1;
  ExpectError(VerifyKctl(changed, key.pub, kNotBefore + 1, 0), ErrorCode::kUnauthenticated,
              "kctl: bad signature");
  changed = cert;
  changed.not_after += 1;
  ExpectError(VerifyKctl(changed, key.pub, kNotBefore + 1, 0), ErrorCode::kUnauthenticated,
              "kctl: bad signature");
  changed = cert;
  changed.signature[63] ^= 0x40;
  ExpectError(VerifyKctl(changed, key.pub, kNotBefore + 1, 0), ErrorCode::kUnauthenticated,
              "kctl: bad signature");
  // The action byte changed on the wire (credits stay valid for disable only
  // when zero, so use a disable/enable pair).
  const KctlCert disable = Signed(key, Fields(KctlAction::kDisable));
  changed = disable;
  changed.action = KctlAction::kEnable;
  ExpectError(VerifyKctl(changed, key.pub, kNotBefore + 1, 0), ErrorCode::kUnauthenticated,
              "kctl: bad signature");
}

TEST(KctlTest, ReplayedSerialIsRejected) {
  const KctlKeyPair key = Key();
  const KctlCert cert = Signed(key, Fields());  // serial 10
  EXPECT_TRUE(VerifyKctl(cert, key.pub, kNotBefore + 1, 9).ok());
  ExpectError(VerifyKctl(cert, key.pub, kNotBefore + 1, 10), ErrorCode::kAlreadyExists,
              "kctl: replayed serial");
  ExpectError(VerifyKctl(cert, key.pub, kNotBefore + 1, 11), ErrorCode::kAlreadyExists,
              "kctl: replayed serial");
  ExpectError(VerifyKctl(cert, key.pub, kNotBefore + 1, UINT64_MAX), ErrorCode::kAlreadyExists,
              "kctl: replayed serial");
}

TEST(KctlTest, NotYetValidCertificateIsRejected) {
  const KctlKeyPair key = Key();
  const KctlCert cert = Signed(key, Fields());
  ExpectError(VerifyKctl(cert, key.pub, kNotBefore - 1, 0), ErrorCode::kFailedPrecondition,
              "kctl: not yet valid");
  ExpectError(VerifyKctl(cert, key.pub, 0, 0), ErrorCode::kFailedPrecondition,
              "kctl: not yet valid");
  EXPECT_TRUE(VerifyKctl(cert, key.pub, kNotBefore, 0).ok());
}

TEST(KctlTest, ExpiredCertificateIsRejected) {
  const KctlKeyPair key = Key();
  const KctlCert cert = Signed(key, Fields());
  EXPECT_TRUE(VerifyKctl(cert, key.pub, cert.not_after, 0).ok());
  ExpectError(VerifyKctl(cert, key.pub, cert.not_after + 1, 0), ErrorCode::kDeadlineExceeded,
              "kctl: expired");
  ExpectError(VerifyKctl(cert, key.pub, UINT64_MAX, 0), ErrorCode::kDeadlineExceeded,
              "kctl: expired");
}

TEST(KctlTest, ValidityWindowLongerThan30DaysIsRejected) {
  const KctlKeyPair key = Key();
  KctlCert fields = Fields();
  fields.not_after = fields.not_before + 30 * kDay;
  EXPECT_TRUE(VerifyKctl(Signed(key, fields), key.pub, kNotBefore + 1, 0).ok());
  fields.not_after += 1;
  ExpectError(VerifyKctl(Signed(key, fields), key.pub, kNotBefore + 1, 0),
              ErrorCode::kInvalidArgument, "kctl: validity window longer than 30 days");
  fields.not_before = 0;
  fields.not_after = UINT64_MAX;
  ExpectError(VerifyKctl(Signed(key, fields), key.pub, kNotBefore + 1, 0),
              ErrorCode::kInvalidArgument, "kctl: validity window longer than 30 days");
}

TEST(KctlTest, ZeroLengthWindowIsValidAtThatSecondOnly) {
  const KctlKeyPair key = Key();
  KctlCert fields = Fields();
  fields.not_after = fields.not_before;
  const KctlCert cert = Signed(key, fields);
  EXPECT_TRUE(VerifyKctl(cert, key.pub, kNotBefore, 0).ok());
  EXPECT_FALSE(VerifyKctl(cert, key.pub, kNotBefore + 1, 0).ok());
  EXPECT_FALSE(VerifyKctl(cert, key.pub, kNotBefore - 1, 0).ok());
}

// ------------------------------------------------------------------ encoding

Bytes SampleWire() {
  const KctlKeyPair key = Key();
  auto wire = EncodeKctl(Signed(key, Fields(KctlAction::kResetCredits)));
  EXPECT_TRUE(wire.ok());
  return *wire;
}

TEST(KctlEncodingTest, EveryOtherLengthIsRefused) {
  const Bytes wire = SampleWire();
  for (size_t len = 0; len < wire.size(); ++len) {
    ExpectInvalid(ParseKctl(std::span<const uint8_t>(wire.data(), len)).error());
  }
  Bytes longer = wire;
  longer.push_back(0);
  ExpectInvalid(ParseKctl(longer).error());
  EXPECT_TRUE(ParseKctl(wire).ok());
}

TEST(KctlEncodingTest, WrongVersionIsRefused) {
  Bytes wire = SampleWire();
  for (uint8_t version : {0x00, 0x02, 0xff}) {
    wire[0] = version;
    auto r = ParseKctl(wire);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "kctl: unsupported version");
  }
}

TEST(KctlEncodingTest, UnknownActionIsRefused) {
  Bytes wire = SampleWire();
  for (uint8_t action : {0x00, 0x06, 0xff}) {
    wire[33] = action;
    auto r = ParseKctl(wire);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "kctl: unknown action");
    KctlCert fields = Fields();
    fields.action = static_cast<KctlAction>(action);
    ExpectInvalid(EncodeKctl(fields).error());
    ExpectInvalid(SignKctl(Key().seed, fields).error());
  }
}

TEST(KctlEncodingTest, CreditsOnAnActionOtherThanResetAreRefused) {
  Bytes wire = SampleWire();  // reset-credits, credits 250
  EXPECT_TRUE(ParseKctl(wire).ok());
  for (KctlAction action : {KctlAction::kDisable, KctlAction::kEnable, KctlAction::kDestroy}) {
    wire[33] = static_cast<uint8_t>(action);
    ExpectInvalid(ParseKctl(wire).error());
    KctlCert fields = Fields(action);
    fields.credits = 1;
    ExpectInvalid(EncodeKctl(fields).error());
  }
}

TEST(KctlEncodingTest, NotBeforeAfterNotAfterIsRefused) {
  KctlCert fields = Fields();
  fields.not_after = fields.not_before - 1;
  ExpectInvalid(EncodeKctl(fields).error());
  ExpectInvalid(SignKctl(Key().seed, fields).error());
  ExpectInvalid(VerifyKctl(fields, Key().pub, kNotBefore, 0).error());
  // Layout: version 0, server_id 1..32, action 33, serial 34..41, not_before 42..49.
  Bytes wire = SampleWire();
  wire[42] = 0xff;  // not_before far past not_after
  ExpectInvalid(ParseKctl(wire).error());
}

TEST(KctlEncodingTest, FieldsAreBigEndianAtTheDocumentedOffsets) {
  KctlCert cert = Fields(KctlAction::kResetCredits);
  cert.serial = 0x0102030405060708;
  cert.not_before = 0x1112131415161718;
  cert.not_after = cert.not_before + 1;
  cert.credits = 0x21222324;
  cert.signature.fill(0xee);
  auto wire = EncodeKctl(cert);
  ASSERT_TRUE(wire.ok());
  EXPECT_EQ(Bytes(wire->begin() + 34, wire->begin() + 42), (Bytes{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(Bytes(wire->begin() + 42, wire->begin() + 50),
            (Bytes{0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18}));
  EXPECT_EQ(Bytes(wire->begin() + 50, wire->begin() + 58),
            (Bytes{0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x19}));
  EXPECT_EQ(Bytes(wire->begin() + 58, wire->begin() + 62), (Bytes{0x21, 0x22, 0x23, 0x24}));
  EXPECT_EQ(Bytes(wire->begin() + 62, wire->end()), Bytes(64, 0xee));
}

// ---------------------------------------------------------------------- keys

TEST(KctlKeyTest, GeneratedKeysAreDistinctAndMatchTheirSeed) {
  const KctlKeyPair a = Key();
  const KctlKeyPair b = Key();
  EXPECT_EQ(a.seed.size(), kKctlSeedSize);
  EXPECT_FALSE(a.seed.Equals(b.seed));
  EXPECT_NE(a.pub, b.pub);
  auto pub = KctlPublicKeyOf(a.seed);
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(*pub, a.pub);
}

TEST(KctlKeyTest, SeedOfWrongSizeIsRefused) {
  for (size_t size : {0, 31, 33, 64}) {
    const SecretBytes seed(size);
    ExpectInvalid(KctlPublicKeyOf(seed).error());
    ExpectInvalid(SignKctl(seed, Fields()).error());
    ExpectInvalid(KctlPrivateKeyToPem(seed).error());
  }
}

TEST(KctlKeyTest, PemRoundTripsTheSeed) {
  const KctlKeyPair key = Key();
  auto pem = KctlPrivateKeyToPem(key.seed);
  ASSERT_TRUE(pem.ok()) << pem.error().message;
  const std::string_view text = pem->RevealString(SecretAccess::Grant());
  EXPECT_EQ(text.substr(0, 28), "-----BEGIN PRIVATE KEY-----\n");
  auto seed = KctlPrivateKeyFromPem(*pem);
  ASSERT_TRUE(seed.ok()) << seed.error().message;
  EXPECT_TRUE(seed->Equals(key.seed));
  // The reloaded key signs certificates the public key accepts.
  KctlKeyPair reloaded{std::move(*seed), key.pub};
  EXPECT_TRUE(VerifyKctl(Signed(reloaded, Fields()), key.pub, kNotBefore, 0).ok());
}

// A PKCS#8 PEM private key of another type (P-256).
std::string EcPrivateKeyPem() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  EXPECT_TRUE(key && bio);
  EXPECT_EQ(PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr),
            1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  std::string pem(data, static_cast<size_t>(len));
  EXPECT_EQ(pem.substr(0, 27), "-----BEGIN PRIVATE KEY-----");
  return pem;
}

TEST(KctlKeyTest, PemThatIsNotAnEd25519PrivateKeyIsRefused) {
  const std::string ed25519_public_pem =
      "-----BEGIN PUBLIC KEY-----\n"
      "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n"
      "-----END PUBLIC KEY-----\n";
  for (const std::string& bad :
       {std::string(), std::string("not a key"), ed25519_public_pem, EcPrivateKeyPem(),
        std::string("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")}) {
    const SecretBytes pem(SecretAccess::Grant(), bad);
    auto r = KctlPrivateKeyFromPem(pem);
    ASSERT_FALSE(r.ok()) << bad;
    ExpectInvalid(r.error());
  }
}

}  // namespace
}  // namespace onionmail::unseal
