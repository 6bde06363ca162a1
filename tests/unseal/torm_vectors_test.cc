// Fixed interoperability vectors of docs/PROTOCOL.md ("TORM requests" and "KCTL
// certificates"). The expected bytes were computed independently of this code base
// by tests/unseal/gen_torm_vectors.py (struct.pack encodings, Ed25519, RSA-PSS and
// SHA-256 from the Python `cryptography` package). If a test here fails, the
// implementation changed the protocol.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crypto/hex.h"
#include "tests/unseal/torm_test_keys.h"
#include "unseal/kctl.h"
#include "unseal/torm_wire.h"

namespace onionmail::unseal {
namespace {

using Bytes = std::vector<uint8_t>;

// kSpki, kPartnerId and kCb: torm_test_keys.h.
constexpr char kKctlSeed[] = "52bfee3716c1c0ae347e0583cf94f1877e378bab5f6a1391538a66794323983e";
constexpr char kKctlPub[] = "5d5de0bb1d7f15cfa2e3e1248bfc5c6e30b3dc55658b735cff28451ae63179db";
constexpr char kPin2[] = "a54313d7695324508c0792b106e6dd4e9638642b407cfea921b3bd46a2cd7b42";
constexpr char kPin3[] = "9c2ec03518c244862e590d7eee0181e61485588c18a3dfd8d1b5eab6b7a08d2d";
constexpr char kPushBody[] =
    "020406706565722d315d5de0bb1d7f15cfa2e3e1248bfc5c6e30b3dc55658b73"
    "5cff28451ae63179db000003e80211706565722d322e6578616d706c653a3235"
    "a54313d7695324508c0792b106e6dd4e9638642b407cfea921b3bd46a2cd7b42"
    "11706565722d332e6578616d706c653a32359c2ec03518c244862e590d7eee01"
    "81e61485588c18a3dfd8d1b5eab6b7a08d2d";
constexpr char kPushReply[] =
    "042e4c366a5458191a62801ac2bcc629ef644faee1400d6f9caca1ede638042f"
    "c519878ebe7180eff5451e06724a65336be7d315e883b9f56be42b3f2ac1779f"
    "f4000003e8";
constexpr char kDerkBody[] =
    "04a5d8ae2065f2a172b237529c25a188e55599628bb434545618ab76fc1249a5"
    "2a8706ba479300fc8f5e3e6bb98ded036dd9c6641db72ee054d16af7771319eb"
    "54";
constexpr char kDerkReply[] =
    "040081b3701c2a47005880ccd3cec096dbdefd1b7fc0e2724d334f502b0998e3"
    "4bebb2c068d7e78e9488ca9834638e4b82e8b23e57811c246a642be51a46b3d3"
    "86000003e70000000000000001";
constexpr char kStatReply[] = "01000003e70000000000000001000000006955b900";
constexpr char kSigningInput[] =
    "6f6e696f6e6d61696c2d746f726d2d76310002c1887c1e073b7757dec6cbeab1"
    "ddb3cafc6bf85bc0e737b3151448802eb0dc8e04a5d8ae2065f2a172b237529c"
    "25a188e55599628bb434545618ab76fc1249a52a8706ba479300fc8f5e3e6bb9"
    "8ded036dd9c6641db72ee054d16af7771319eb54";
constexpr char kSignature[] =
    "9888ba01e7a08919fa7907b5e2c1fe007a75e5c3e82fb85299114dd9579495f8"
    "bd95bead3f995f84d4548db967b2e6afee836667afa72742ff317cc49fe4e2bd"
    "09694c0f4d58e78aba12d9d516fd8d3e92ecfae4090519165fa0e25cb0ab6357"
    "ffb8c3886fe00d45e3dc97e9aa250a35c21feeafb2417b246a1f2ce86f51b22f"
    "23ecc45a8be031a64bd7246aaf93555dc5a7fa15a6f9983a3dd376604bb16027"
    "60f18f12f1938ed284d9aac72d770ed09eb6aedec79003d5e67909f996112158"
    "461074d72fa7d7bae5643b32d24c1f0e551aa11538d7d5c41898747c5acc9e24"
    "ba458c749c650f0c6278e47dae3528ad56c2d7ac981985237747a0546cf60f9c";
constexpr char kKctlCert[] =
    "015c290f78ca8e75828e072328c97c49b4baf3e20be65daeb2bf1903f006122b"
    "c4030000000000000007000000006955b90000000000695ef380000001f4681f"
    "e868514b3784c97165e8eb37399ad953a9340db7100a92c699a5c7352a3885bc"
    "e1855aedbb0fcbde2caa773c6a4f6ec789c46ef2a3a56e3a722eaac10208";
constexpr char kKctlPem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIFK/7jcWwcCuNH4Fg8+U8Yd+N4urX2oTkVOKZnlDI5g+\n"
    "-----END PRIVATE KEY-----\n";

constexpr uint64_t kKctlNotBefore = 1767225600;  // 2026-01-01T00:00:00Z
constexpr uint64_t kKctlNotAfter = kKctlNotBefore + 7 * 86400;

Bytes Hex(std::string_view h) { return crypto::FromHex(h).value(); }

template <size_t N>
std::array<uint8_t, N> Array(std::string_view h) {
  const Bytes b = Hex(h);
  EXPECT_EQ(b.size(), N);
  std::array<uint8_t, N> out{};
  std::copy_n(b.begin(), std::min(N, b.size()), out.begin());
  return out;
}

Point PointAt(std::string_view hex, size_t offset) {
  auto p = ParsePoint(std::span<const uint8_t>(Hex(hex)).subspan(offset, kPointSize));
  EXPECT_TRUE(p.ok());
  return p.ok() ? *p : Point{};
}

SecretBytes SecretHex(std::string_view h) {
  const Bytes b = Hex(h);
  return SecretBytes(SecretAccess::Grant(), std::span<const uint8_t>(b));
}

// The signed DERK request, assembled from the documented parts.
Bytes DerkRequest() {
  return Hex(std::string("0102") + "00000041" + kDerkBody + "0126" + kSpki + "0100" + kSignature);
}

TEST(TormVectorsTest, PushBodyEncodesToTheDocumentedBytes) {
  PushBody body;
  body.t = 2;
  body.n = 4;
  body.peer_id = "peer-1";
  body.kctl_pub = Array<32>(kKctlPub);
  body.credits_requested = 1000;
  body.forward_peers = {{"peer-2.example:25", Array<32>(kPin2)},
                        {"peer-3.example:25", Array<32>(kPin3)}};
  auto wire = EncodePushBody(body);
  ASSERT_TRUE(wire.ok()) << wire.error().message;
  EXPECT_EQ(crypto::ToHex(*wire), kPushBody);
  auto parsed = ParsePushBody(Hex(kPushBody));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, body);
}

TEST(TormVectorsTest, RepliesAndDerkBodyEncodeToTheDocumentedBytes) {
  const PushReply push{PointAt(kPushReply, 0), 1000};
  EXPECT_EQ(crypto::ToHex(EncodePushReply(push).value()), kPushReply);
  EXPECT_EQ(ParsePushReply(Hex(kPushReply)).value(), push);

  const DerkBody derk{PointAt(kDerkBody, 0)};
  EXPECT_EQ(crypto::ToHex(EncodeDerkBody(derk).value()), kDerkBody);
  EXPECT_EQ(ParseDerkBody(Hex(kDerkBody)).value(), derk);

  const DerkReply reply{PointAt(kDerkReply, 0), 999, 1};
  EXPECT_EQ(crypto::ToHex(EncodeDerkReply(reply).value()), kDerkReply);
  EXPECT_EQ(ParseDerkReply(Hex(kDerkReply)).value(), reply);

  const StatReply stat{true, 999, 1, 1767225600};
  EXPECT_EQ(crypto::ToHex(EncodeStatReply(stat)), kStatReply);
  EXPECT_EQ(ParseStatReply(Hex(kStatReply)).value(), stat);
}

TEST(TormVectorsTest, SigningInputIsTheDocumentedBytes) {
  EXPECT_EQ(crypto::ToHex(SigningInput(Verb::kDerk, Array<32>(kCb), Hex(kDerkBody))),
            kSigningInput);
}

TEST(TormVectorsTest, TestKeyHasTheDocumentedSpkiAndPartnerId) {
  auto key = TestRsaKey();
  ASSERT_TRUE(key != nullptr);
  // SignRequestWithKey records the SubjectPublicKeyInfo of the key it signs with.
  auto request = SignRequestWithKey(key.get(), Verb::kStat, Array<32>(kCb), {});
  ASSERT_TRUE(request.ok()) << request.error().message;
  EXPECT_EQ(crypto::ToHex(request->spki_der), kSpki);
  EXPECT_EQ(crypto::ToHex(PartnerIdOf(Hex(kSpki))), kPartnerId);
  EXPECT_TRUE(VerifyRequest(*request, Array<32>(kCb)).ok());
}

TEST(TormVectorsTest, DocumentedDerkRequestParsesAndVerifies) {
  const Bytes wire = DerkRequest();
  auto request = ParseSignedRequest(wire);
  ASSERT_TRUE(request.ok()) << request.error().message;
  EXPECT_EQ(request->verb, Verb::kDerk);
  EXPECT_EQ(crypto::ToHex(request->body), kDerkBody);
  EXPECT_EQ(crypto::ToHex(request->spki_der), kSpki);
  EXPECT_EQ(crypto::ToHex(request->signature), kSignature);
  auto partner = VerifyRequest(*request, Array<32>(kCb));
  ASSERT_TRUE(partner.ok()) << partner.error().message;
  EXPECT_EQ(crypto::ToHex(*partner), kPartnerId);

  // Our encoder rebuilds exactly the documented request from its parts.
  auto built = BuildSignedRequest(Verb::kDerk, Hex(kDerkBody), Hex(kSpki), Hex(kSignature));
  ASSERT_TRUE(built.ok());
  EXPECT_EQ(*built, wire);
}

TEST(TormVectorsTest, DocumentedSignatureWithOneBitFlippedIsRefused) {
  auto request = ParseSignedRequest(DerkRequest());
  ASSERT_TRUE(request.ok());
  request->signature[100] ^= 0x01;  // the flipped variant of gen_torm_vectors.py
  auto r = VerifyRequest(*request, Array<32>(kCb));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
}

TEST(TormVectorsTest, DocumentedSignatureIsRefusedForAnotherChannelOrVerb) {
  auto request = ParseSignedRequest(DerkRequest());
  ASSERT_TRUE(request.ok());
  auto cb = Array<32>(kCb);
  cb[0] ^= 0x01;
  EXPECT_EQ(VerifyRequest(*request, cb).error().code, ErrorCode::kUnauthenticated);
  request->verb = Verb::kPush;
  EXPECT_EQ(VerifyRequest(*request, Array<32>(kCb)).error().code, ErrorCode::kUnauthenticated);
}

KctlCert DocumentedKctlFields() {
  KctlCert cert;
  cert.server_id = Array<32>(kPartnerId);
  cert.action = KctlAction::kResetCredits;
  cert.serial = 7;
  cert.not_before = kKctlNotBefore;
  cert.not_after = kKctlNotAfter;
  cert.credits = 500;
  return cert;
}

TEST(TormVectorsTest, KctlKeyFromTheDocumentedSeed) {
  const SecretBytes seed = SecretHex(kKctlSeed);
  auto pub = KctlPublicKeyOf(seed);
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(crypto::ToHex(*pub), kKctlPub);
  auto pem = KctlPrivateKeyToPem(seed);
  ASSERT_TRUE(pem.ok());
  EXPECT_EQ(pem->RevealString(SecretAccess::Grant()), kKctlPem);
  auto back = KctlPrivateKeyFromPem(SecretBytes(SecretAccess::Grant(), std::string(kKctlPem)));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_TRUE(back->Equals(seed));
}

TEST(TormVectorsTest, KctlCertificateSignsToTheDocumentedBytes) {
  auto cert = SignKctl(SecretHex(kKctlSeed), DocumentedKctlFields());
  ASSERT_TRUE(cert.ok()) << cert.error().message;
  auto wire = EncodeKctl(*cert);
  ASSERT_TRUE(wire.ok());
  EXPECT_EQ(crypto::ToHex(*wire), kKctlCert);
}

TEST(TormVectorsTest, DocumentedKctlCertificateParsesAndVerifies) {
  auto cert = ParseKctl(Hex(kKctlCert));
  ASSERT_TRUE(cert.ok()) << cert.error().message;
  KctlCert expected = DocumentedKctlFields();
  expected.signature = cert->signature;
  EXPECT_EQ(*cert, expected);
  const KctlPublicKey pub = Array<32>(kKctlPub);
  EXPECT_TRUE(VerifyKctl(*cert, pub, kKctlNotBefore + 3600, 6).ok());
  EXPECT_EQ(VerifyKctl(*cert, pub, kKctlNotBefore + 3600, 7).error().code,
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(VerifyKctl(*cert, pub, kKctlNotAfter + 1, 6).error().code,
            ErrorCode::kDeadlineExceeded);
  Bytes flipped = Hex(kKctlCert);
  flipped[100] ^= 0x01;
  auto bad = ParseKctl(flipped);
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(VerifyKctl(*bad, pub, kKctlNotBefore + 3600, 6).error().code,
            ErrorCode::kUnauthenticated);
}

}  // namespace
}  // namespace onionmail::unseal
