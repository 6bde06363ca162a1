#include "unseal/torm_wire.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "crypto/kdf.h"
#include "crypto/random.h"

namespace onionmail::unseal {
namespace {

using Bytes = std::vector<uint8_t>;

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

PkeyPtr RsaKey(size_t bits) {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits));
  EXPECT_TRUE(key != nullptr);
  return key;
}

// The RSA-2048 TEST KEY of torm_vectors_test.cc and docs/PROTOCOL.md (published,
// protects nothing): loading it is faster than generating a key in every test.
constexpr char kTestRsaKeyPem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDawUUNmfSraLaa\n"
    "wZC3dw3Fd8OKkjOiT/2dxeVqpa/L9q84X6dO3SSJVl7eJeQo6jyjKbwbVbpWFndw\n"
    "qkucsVOD0TiBhFfWsZYjuD43s8LYnTtix6+T2YXZhB6iYk1XdWNhBFv1MWwM3uKK\n"
    "LoStF20qUiIFZF5EssPtzwD7aD+XNFN133yfzscfEkKXF0GoGoNKm+hC8lNg7eOD\n"
    "ImfzQw/v2IB5NL2bJhr9QeKTsThleMf41KHCNWmWjJ696LqQ/gE6QE/IJtlWYqI4\n"
    "ng49PYZ/12T9mWRFc4xEe7p3YwQgQtPV0nXe3vqoLq0pbe1uhuox/cep+30Sl3kH\n"
    "xcXak+UdAgMBAAECggEAATRKddAQzYmf0pS07b7GZY/TuUDIE9gsLHfSW//egYcD\n"
    "6lq/Tx1V1PEmI4zLtUEY3Deo9RXaFvg8Q6pNembaFDRWJ4M7yWqSJTzoxsZwoxbI\n"
    "yWjIcLu2d/7d2Je4Ftn0FggkU3S6sgxM7NLRKgXrfgAUdyb9p90E7mSS/AYvibgw\n"
    "oXwk18mZB1Q9kUgg21EeucJnIGvgyktLDjk9P3AcTwEsY2Zuaq3BwAnsX8Bw60EO\n"
    "+Z3q1hKmNcRSpNhDX/iZph2bGQgTgSLejmMRB23DYZxL2w24j7192biBGZZq75EF\n"
    "qsDeIViEEfZWpPZgqabrz+Q/iGk2ZdAv8+qBxIhtQQKBgQD3Q6j4SETtAR0ZOPYf\n"
    "98z1mq7T1d5zQ6nHnoWqeJzbVdXeGYUS7xEnk2zJt6KamzPc7+yTLGPt9AQOT/oH\n"
    "fQOqGNrhcFlOEsTIMVQRSOO20ap2wDdKk6IdFNVKlRV7PiM46SeypDXmQYEOXCOG\n"
    "M4GYuAujJXDfT1panfIWlyls4QKBgQDie8MH9rms27oJheDEa4rmhM4XioVoR2AK\n"
    "ZT1GC6cLUIhch/SF2VHsG6hN89t1GuwCbWLLPASswW1CNTu74fivHXcExishSYji\n"
    "aXnxc+pXjMAwVej81TU3LspLu4SPVMxeuGNh0SLUTXPEGAhTPYvOShvojFMaHt0w\n"
    "lgAayNPjvQKBgQC+SEFGIEd6pDrCaEVwQIBoGYuk1ZcE2PNU/TccAwmi+SFGdBkm\n"
    "gveOnzM+4KSvmfSFd9V1RNn6Cqj8YqulC53ATrRSfOUc4fCxptRtIMysqhkmnbFv\n"
    "IMHG43tok+YeG6l7aGH2Zcxcz9gDNwDXi9eVsTyzZmLAVw7PYXEl1Vo5wQKBgQC0\n"
    "r+I370nQs3fncwyQB/BH2noFY/js6cygXoaU5GT/bN9tWvXk9y0ZfjM3Ba727WSO\n"
    "xzADTj24iZSeNpQSX8SkCJDUmTj9lIoFf/rOfBjggiUuKsv3Mi4DeWvhIZgvNYra\n"
    "oqZ++necArKyJi42IqrwCEXdsF34P9ldkr5AoCoTzQKBgFW82bTaGcOvejg9DCvX\n"
    "KptRWe+blVg6yl7BUv7XLatVjahA4V2S/oICYa0fVABSjyxDzTqhXM5+hwgMQxPE\n"
    "Mok2BA3RX7o0dsPk0m4LU9MEmpKzPV+25A8peK4Tzi8P/OC0FBuUjpa5QmsOsmAy\n"
    "G5MNiusa6N/9JxMsKmQf7+hw\n"
    "-----END PRIVATE KEY-----\n";

EVP_PKEY* ServerKey() {
  static PkeyPtr key = [] {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(kTestRsaKeyPem, -1), BIO_free);
    PkeyPtr k(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    EXPECT_TRUE(k != nullptr);
    return k;
  }();
  return key.get();
}
// Generated once per process (RSA key generation is slow).
EVP_PKEY* OtherServerKey() {
  static PkeyPtr key = RsaKey(2048);
  return key.get();
}

Bytes SpkiOf(EVP_PKEY* key) {
  const int len = i2d_PUBKEY(key, nullptr);
  Bytes der(static_cast<size_t>(len));
  unsigned char* p = der.data();
  EXPECT_EQ(i2d_PUBKEY(key, &p), len);
  return der;
}

// A raw signature over `input` with any key, padding and salt length (to build
// requests that SignRequestWithKey would refuse to make).
Bytes RawSign(EVP_PKEY* key, const Bytes& input, int padding, int salt_len = 32) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_PKEY_CTX* pctx = nullptr;
  EXPECT_EQ(EVP_DigestSignInit_ex(md.get(), &pctx, "SHA256", nullptr, nullptr, key, nullptr), 1);
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
    EXPECT_GT(EVP_PKEY_CTX_set_rsa_padding(pctx, padding), 0);
    if (padding == RSA_PKCS1_PSS_PADDING) {
      EXPECT_GT(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt_len), 0);
    }
  }
  size_t len = 0;
  EXPECT_EQ(EVP_DigestSign(md.get(), nullptr, &len, input.data(), input.size()), 1);
  Bytes sig(len);
  EXPECT_EQ(EVP_DigestSign(md.get(), sig.data(), &len, input.data(), input.size()), 1);
  sig.resize(len);
  return sig;
}

std::array<uint8_t, 32> Cb(uint8_t fill) {
  std::array<uint8_t, 32> cb{};
  cb.fill(fill);
  return cb;
}

Point ValidPoint() {
  auto key = GeneratePeerKey();
  EXPECT_TRUE(key.ok());
  return key->S;
}

TlsPin Pin(uint8_t fill) {
  TlsPin pin{};
  pin.fill(fill);
  return pin;
}

PushBody SamplePush() {
  PushBody body;
  body.t = 2;
  body.n = 3;
  body.peer_id = "peer-1.example.onion:25";
  body.kctl_pub.fill(0x5a);
  body.credits_requested = 1000;
  body.forward_peers = {{"peer-2.example.onion:25", Pin(0x22)}, {"10.0.0.3:2525", Pin(0x33)}};
  return body;
}

void ExpectInvalid(const Error& e) { EXPECT_EQ(e.code, ErrorCode::kInvalidArgument) << e.message; }

// Every strict prefix and the message plus one trailing byte are refused.
void ExpectEveryTruncationAndTrailingByteRefused(
    const Bytes& wire, const std::function<Result<void>(std::span<const uint8_t>)>& parse) {
  for (size_t len = 0; len < wire.size(); ++len) {
    auto r = parse(std::span<const uint8_t>(wire.data(), len));
    ASSERT_FALSE(r.ok()) << "prefix of length " << len << " accepted";
    ExpectInvalid(r.error());
  }
  Bytes longer = wire;
  longer.push_back(0);
  auto r = parse(longer);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "torm: trailing bytes");
  ASSERT_TRUE(parse(wire).ok());
}

template <typename F>
std::function<Result<void>(std::span<const uint8_t>)> Discard(F parse) {
  return [parse](std::span<const uint8_t> w) -> Result<void> {
    auto r = parse(w);
    if (!r.ok()) return r.error();
    return Ok();
  };
}

// ------------------------------------------------------------------- verbs

TEST(TormVerbTest, NamesRoundTripAndUnknownNamesAreRefused) {
  for (Verb v : {Verb::kPush, Verb::kDerk, Verb::kStat}) {
    auto parsed = ParseVerbName(VerbName(v));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, v);
  }
  EXPECT_EQ(VerbName(Verb::kDerk), "DERK");
  for (const char* bad : {"", "derk", "KCTL", "DERK ", "PUSHX"}) {
    ExpectInvalid(ParseVerbName(bad).error());
  }
}

// ------------------------------------------------------------------- bodies

TEST(TormBodyTest, PushBodyRoundTrips) {
  const PushBody body = SamplePush();
  auto wire = EncodePushBody(body);
  ASSERT_TRUE(wire.ok()) << wire.error().message;
  auto parsed = ParsePushBody(*wire);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, body);
}

TEST(TormBodyTest, PushBodyAtTheLimitsRoundTrips) {
  PushBody body = SamplePush();
  body.t = 32;
  body.n = 32;
  body.peer_id.assign(255, 'p');
  body.credits_requested = 0xffffffff;
  body.forward_peers.clear();
  for (size_t i = 0; i < kMaxForwardPeers; ++i) {
    body.forward_peers.push_back(
        {std::string(255, static_cast<char>('a' + i % 26)), Pin(static_cast<uint8_t>(i))});
  }
  auto wire = EncodePushBody(body);
  ASSERT_TRUE(wire.ok()) << wire.error().message;
  auto parsed = ParsePushBody(*wire);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, body);

  body.forward_peers.clear();
  wire = EncodePushBody(body);
  ASSERT_TRUE(wire.ok());
  parsed = ParsePushBody(*wire);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->forward_peers.empty());
}

TEST(TormBodyTest, PushBodyTruncatedOrWithTrailingByteIsRefused) {
  auto wire = EncodePushBody(SamplePush());
  ASSERT_TRUE(wire.ok());
  ExpectEveryTruncationAndTrailingByteRefused(*wire, Discard(ParsePushBody));
}

TEST(TormBodyTest, PushBodyWithBadThresholdIsRefused) {
  for (auto [t, n] : std::vector<std::pair<int, int>>{{0, 3}, {1, 3}, {4, 3}, {2, 33}, {33, 33}}) {
    PushBody body = SamplePush();
    body.t = static_cast<uint8_t>(t);
    body.n = static_cast<uint8_t>(n);
    ExpectInvalid(EncodePushBody(body).error());
    auto wire = EncodePushBody(SamplePush());
    ASSERT_TRUE(wire.ok());
    (*wire)[0] = body.t;
    (*wire)[1] = body.n;
    ExpectInvalid(ParsePushBody(*wire).error());
  }
}

TEST(TormBodyTest, PushBodyWithEmptyOrOversizedPeerIdIsRefused) {
  PushBody body = SamplePush();
  body.peer_id = "";
  ExpectInvalid(EncodePushBody(body).error());
  body.peer_id.assign(256, 'p');
  ExpectInvalid(EncodePushBody(body).error());

  // On the wire: a zero length byte for peer_id.
  auto wire = EncodePushBody(SamplePush());
  ASSERT_TRUE(wire.ok());
  Bytes zero = {(*wire)[0], (*wire)[1], 0x00};
  zero.insert(zero.end(), wire->begin() + 3 + SamplePush().peer_id.size(), wire->end());
  auto r = ParsePushBody(zero);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "torm: peer_id length out of range");
}

TEST(TormBodyTest, PushBodyWithEmptyOrOversizedAddressIsRefused) {
  PushBody body = SamplePush();
  body.forward_peers[1].address = "";
  ExpectInvalid(EncodePushBody(body).error());
  body.forward_peers[1].address.assign(256, 'a');
  ExpectInvalid(EncodePushBody(body).error());

  PushBody one = SamplePush();
  one.forward_peers.resize(1);
  auto wire = EncodePushBody(one);
  ASSERT_TRUE(wire.ok());
  const size_t address_len_at =
      wire->size() - kTlsPinSize - one.forward_peers[0].address.size() - 1;
  Bytes zero(wire->begin(), wire->begin() + static_cast<long>(address_len_at));
  zero.push_back(0x00);
  zero.insert(zero.end(), wire->end() - kTlsPinSize, wire->end());
  auto r = ParsePushBody(zero);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "torm: address length out of range");
}

TEST(TormBodyTest, PushBodyWithMoreThan32ForwardPeersIsRefused) {
  PushBody body = SamplePush();
  body.forward_peers.assign(kMaxForwardPeers + 1, ForwardPeer{"p:25", Pin(1)});
  ExpectInvalid(EncodePushBody(body).error());

  // Build the 33-entry body by hand: the count byte is refused before the entries.
  body.forward_peers.resize(kMaxForwardPeers);
  auto wire = EncodePushBody(body);
  ASSERT_TRUE(wire.ok());
  const size_t count_at = 2 + 1 + body.peer_id.size() + kKctlPublicKeySize + 4;
  ASSERT_EQ((*wire)[count_at], kMaxForwardPeers);
  (*wire)[count_at] = kMaxForwardPeers + 1;
  const Bytes extra = {4, 'p', ':', '2', '5'};
  wire->insert(wire->end(), extra.begin(), extra.end());
  wire->insert(wire->end(), kTlsPinSize, 0x01);
  auto r = ParsePushBody(*wire);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "torm: too many forward peers");
}

TEST(TormBodyTest, RepliesAndDerkBodyRoundTrip) {
  const PushReply push{ValidPoint(), 77};
  auto w1 = EncodePushReply(push);
  ASSERT_TRUE(w1.ok());
  EXPECT_EQ(w1->size(), kPointSize + 4);
  EXPECT_EQ(*ParsePushReply(*w1), push);

  const DerkBody derk{ValidPoint()};
  auto w2 = EncodeDerkBody(derk);
  ASSERT_TRUE(w2.ok());
  EXPECT_EQ(w2->size(), kPointSize);
  EXPECT_EQ(*ParseDerkBody(*w2), derk);

  const DerkReply reply{ValidPoint(), 0xfffffffe, 0x0102030405060708};
  auto w3 = EncodeDerkReply(reply);
  ASSERT_TRUE(w3.ok());
  EXPECT_EQ(w3->size(), kPointSize + 12);
  EXPECT_EQ(*ParseDerkReply(*w3), reply);

  for (bool disabled : {false, true}) {
    const StatReply stat{disabled, 5, 9, 1767225600};
    const Bytes w4 = EncodeStatReply(stat);
    EXPECT_EQ(w4.size(), 21u);
    EXPECT_EQ(w4[0], disabled ? 1 : 0);
    EXPECT_EQ(*ParseStatReply(w4), stat);
  }
  EXPECT_TRUE(EncodeStatBody().empty());
  EXPECT_TRUE(ParseStatBody({}).ok());
}

TEST(TormBodyTest, FixedSizeMessagesTruncatedOrWithTrailingByteAreRefused) {
  ExpectEveryTruncationAndTrailingByteRefused(*EncodePushReply({ValidPoint(), 1}),
                                              Discard(ParsePushReply));
  ExpectEveryTruncationAndTrailingByteRefused(*EncodeDerkBody({ValidPoint()}),
                                              Discard(ParseDerkBody));
  ExpectEveryTruncationAndTrailingByteRefused(*EncodeDerkReply({ValidPoint(), 1, 2}),
                                              Discard(ParseDerkReply));
  ExpectEveryTruncationAndTrailingByteRefused(EncodeStatReply({true, 1, 2, 3}),
                                              Discard(ParseStatReply));
}

TEST(TormBodyTest, NonEmptyStatBodyIsRefused) {
  const Bytes one = {0};
  ExpectInvalid(ParseStatBody(one).error());
}

TEST(TormBodyTest, StatReplyWithReservedFlagBitsIsRefused) {
  Bytes wire = EncodeStatReply({false, 1, 2, 3});
  for (uint8_t flags : {0x02, 0x80, 0xff}) {
    wire[0] = flags;
    auto r = ParseStatReply(wire);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "torm: reserved flag bits set");
  }
}

TEST(TormBodyTest, BadPointsAreRefusedByParsersAndEncoders) {
  const Point good = ValidPoint();
  Point compressed_prefix = good;
  compressed_prefix[0] = 0x02;
  Point off_curve = good;
  off_curve[64] ^= 0x01;
  const Point zero{};
  for (const Point& bad : {compressed_prefix, off_curve, zero}) {
    ExpectInvalid(ParseDerkBody(bad).error());
    ExpectInvalid(EncodeDerkBody({bad}).error());
    ExpectInvalid(EncodePushReply({bad, 1}).error());
    ExpectInvalid(EncodeDerkReply({bad, 1, 1}).error());
    Bytes push(bad.begin(), bad.end());
    push.insert(push.end(), 4, 0);
    ExpectInvalid(ParsePushReply(push).error());
    Bytes derk(bad.begin(), bad.end());
    derk.insert(derk.end(), 12, 0);
    ExpectInvalid(ParseDerkReply(derk).error());
  }
}

// ---------------------------------------------------------- signed requests

SignedRequest SampleRequest(Verb verb = Verb::kPush) {
  return SignedRequest{verb, {1, 2, 3}, {0x30, 0x00}, Bytes(256, 0xab)};
}

TEST(TormRequestTest, EnvelopeRoundTripsWithTheDocumentedLayout) {
  const SignedRequest request = SampleRequest(Verb::kStat);
  auto wire = EncodeSignedRequest(request);
  ASSERT_TRUE(wire.ok()) << wire.error().message;
  ASSERT_EQ(wire->size(), 2 + 4 + 3 + 2 + 2 + 2 + 256u);
  EXPECT_EQ((*wire)[0], kTormVersion);
  EXPECT_EQ((*wire)[1], 3);
  EXPECT_EQ(Bytes(wire->begin() + 2, wire->begin() + 9), (Bytes{0, 0, 0, 3, 1, 2, 3}));
  EXPECT_EQ(Bytes(wire->begin() + 9, wire->begin() + 13), (Bytes{0, 2, 0x30, 0x00}));
  EXPECT_EQ(Bytes(wire->begin() + 13, wire->begin() + 15), (Bytes{0x01, 0x00}));
  auto parsed = ParseSignedRequest(*wire);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, request);

  auto built = BuildSignedRequest(request.verb, request.body, request.spki_der, request.signature);
  ASSERT_TRUE(built.ok());
  EXPECT_EQ(*built, *wire);
}

TEST(TormRequestTest, EnvelopeWithEmptyBodyRoundTrips) {
  SignedRequest request = SampleRequest(Verb::kStat);
  request.body.clear();
  auto wire = EncodeSignedRequest(request);
  ASSERT_TRUE(wire.ok());
  EXPECT_EQ(*ParseSignedRequest(*wire), request);
}

TEST(TormRequestTest, EnvelopeTruncatedOrWithTrailingByteIsRefused) {
  auto wire = EncodeSignedRequest(SampleRequest());
  ASSERT_TRUE(wire.ok());
  ExpectEveryTruncationAndTrailingByteRefused(*wire, Discard(ParseSignedRequest));
}

TEST(TormRequestTest, WrongVersionIsRefused) {
  auto wire = EncodeSignedRequest(SampleRequest());
  ASSERT_TRUE(wire.ok());
  for (uint8_t version : {0x00, 0x02, 0xff}) {
    (*wire)[0] = version;
    auto r = ParseSignedRequest(*wire);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "torm: unsupported version");
  }
}

TEST(TormRequestTest, UnknownVerbIsRefused) {
  auto wire = EncodeSignedRequest(SampleRequest());
  ASSERT_TRUE(wire.ok());
  for (uint8_t verb : {0x00, 0x04, 0xff}) {
    (*wire)[1] = verb;
    auto r = ParseSignedRequest(*wire);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "torm: unknown verb");
    ExpectInvalid(BuildSignedRequest(static_cast<Verb>(verb), {}, Bytes{1}, Bytes{1}).error());
  }
}

TEST(TormRequestTest, EmptyKeyOrSignatureIsRefused) {
  SignedRequest request = SampleRequest();
  request.spki_der.clear();
  ExpectInvalid(EncodeSignedRequest(request).error());
  request = SampleRequest();
  request.signature.clear();
  ExpectInvalid(EncodeSignedRequest(request).error());

  const Bytes no_key = {1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xaa};
  ExpectInvalid(ParseSignedRequest(no_key).error());
  const Bytes no_signature = {1, 1, 0, 0, 0, 0, 0, 1, 0x30, 0, 0};
  ExpectInvalid(ParseSignedRequest(no_signature).error());
  const Bytes minimal = {1, 1, 0, 0, 0, 0, 0, 1, 0x30, 0, 1, 0xaa};
  EXPECT_TRUE(ParseSignedRequest(minimal).ok());
}

TEST(TormRequestTest, OversizedBodyIsRefused) {
  SignedRequest request = SampleRequest();
  request.body.assign(kMaxRequestBodySize, 0x11);
  auto wire = EncodeSignedRequest(request);
  ASSERT_TRUE(wire.ok());
  EXPECT_TRUE(ParseSignedRequest(*wire).ok());

  request.body.push_back(0x11);
  ExpectInvalid(EncodeSignedRequest(request).error());
  // A length field announcing more than the limit is refused before reading.
  const Bytes huge = {1, 1, 0xff, 0xff, 0xff, 0xff};
  auto r = ParseSignedRequest(huge);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "torm: body length out of range");
}

// ---------------------------------------------------------------- signatures

TEST(TormSignatureTest, SigningInputHasTheDocumentedLayout) {
  const Bytes body = {0xde, 0xad};
  const auto cb = Cb(0x07);
  const Bytes input = SigningInput(Verb::kDerk, cb, body);
  Bytes expected;
  expected.reserve(128);  // (also avoids a GCC 12 -Wstringop-overflow false positive)
  expected.insert(expected.end(), kTormSigningLabel.begin(), kTormSigningLabel.end());
  expected.push_back(0x00);
  expected.push_back(0x02);
  expected.insert(expected.end(), cb.begin(), cb.end());
  expected.insert(expected.end(), body.begin(), body.end());
  EXPECT_EQ(input, expected);
  EXPECT_EQ(SigningDigest(Verb::kDerk, cb, body), crypto::Sha256(expected));
}

TEST(TormSignatureTest, SignedRequestVerifiesAndNamesThePartner) {
  const auto cb = Cb(0x11);
  const Bytes body = {9, 8, 7};
  for (Verb verb : {Verb::kPush, Verb::kDerk, Verb::kStat}) {
    auto request = SignRequestWithKey(ServerKey(), verb, cb, body);
    ASSERT_TRUE(request.ok()) << request.error().message;
    EXPECT_EQ(request->spki_der, SpkiOf(ServerKey()));
    EXPECT_EQ(request->signature.size(), 256u);
    // Through the wire and back.
    auto wire = EncodeSignedRequest(*request);
    ASSERT_TRUE(wire.ok());
    auto parsed = ParseSignedRequest(*wire);
    ASSERT_TRUE(parsed.ok());
    auto partner = VerifyRequest(*parsed, cb);
    ASSERT_TRUE(partner.ok()) << partner.error().message;
    EXPECT_EQ(*partner, crypto::Sha256(SpkiOf(ServerKey())));
    EXPECT_EQ(*partner, PartnerIdOf(request->spki_der));
  }
}

void ExpectBadSignature(const SignedRequest& request, const std::array<uint8_t, 32>& cb) {
  auto r = VerifyRequest(request, cb);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated) << r.error().message;
  EXPECT_EQ(r.error().message, "torm: bad request signature");
}

TEST(TormSignatureTest, SignatureForAnotherChannelIsRefused) {
  auto request = SignRequestWithKey(ServerKey(), Verb::kDerk, Cb(0x11), Bytes{1});
  ASSERT_TRUE(request.ok());
  ExpectBadSignature(*request, Cb(0x12));
  auto cb = Cb(0x11);
  cb[31] ^= 0x80;
  ExpectBadSignature(*request, cb);
}

TEST(TormSignatureTest, SignatureForAnotherVerbIsRefused) {
  auto request = SignRequestWithKey(ServerKey(), Verb::kStat, Cb(0x11), Bytes{});
  ASSERT_TRUE(request.ok());
  request->verb = Verb::kDerk;
  ExpectBadSignature(*request, Cb(0x11));
}

TEST(TormSignatureTest, ModifiedBodyOrSignatureIsRefused) {
  auto request = SignRequestWithKey(ServerKey(), Verb::kPush, Cb(0x11), Bytes{1, 2, 3});
  ASSERT_TRUE(request.ok());
  SignedRequest changed = *request;
  changed.body[2] ^= 0x01;
  ExpectBadSignature(changed, Cb(0x11));
  changed = *request;
  changed.body.push_back(0);
  ExpectBadSignature(changed, Cb(0x11));
  changed = *request;
  changed.signature[10] ^= 0x01;
  ExpectBadSignature(changed, Cb(0x11));
  changed = *request;
  changed.signature.pop_back();
  ExpectBadSignature(changed, Cb(0x11));
}

TEST(TormSignatureTest, SignatureUnderAnotherKeyIsRefused) {
  auto request = SignRequestWithKey(ServerKey(), Verb::kDerk, Cb(0x11), Bytes{1});
  ASSERT_TRUE(request.ok());
  request->spki_der = SpkiOf(OtherServerKey());
  ExpectBadSignature(*request, Cb(0x11));
}

TEST(TormSignatureTest, PkcsV15OrOtherSaltLengthIsRefused) {
  const auto cb = Cb(0x11);
  const Bytes body = {1};
  const Bytes input = SigningInput(Verb::kDerk, cb, body);
  SignedRequest request{Verb::kDerk, body, SpkiOf(ServerKey()),
                        RawSign(ServerKey(), input, RSA_PKCS1_PADDING)};
  ExpectBadSignature(request, cb);
  request.signature = RawSign(ServerKey(), input, RSA_PKCS1_PSS_PADDING, 20);
  ExpectBadSignature(request, cb);
  request.signature = RawSign(ServerKey(), input, RSA_PKCS1_PSS_PADDING, 32);
  EXPECT_TRUE(VerifyRequest(request, cb).ok());
}

TEST(TormSignatureTest, SignatureOverTheDigestAsATokenMakesItVerifies) {
  // A token signing the precomputed digest (CKM_RSA_PKCS_PSS) must interoperate.
  const auto cb = Cb(0x33);
  const Bytes body = {4, 5, 6};
  const auto digest = SigningDigest(Verb::kPush, cb, body);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_from_pkey(nullptr, ServerKey(), nullptr), EVP_PKEY_CTX_free);
  ASSERT_EQ(EVP_PKEY_sign_init(ctx.get()), 1);
  ASSERT_GT(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING), 0);
  ASSERT_GT(EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()), 0);
  ASSERT_GT(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256()), 0);
  ASSERT_GT(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), 32), 0);
  size_t len = 0;
  ASSERT_EQ(EVP_PKEY_sign(ctx.get(), nullptr, &len, digest.data(), digest.size()), 1);
  Bytes signature(len);
  ASSERT_EQ(EVP_PKEY_sign(ctx.get(), signature.data(), &len, digest.data(), digest.size()), 1);
  signature.resize(len);
  auto wire = BuildSignedRequest(Verb::kPush, body, SpkiOf(ServerKey()), signature);
  ASSERT_TRUE(wire.ok());
  auto parsed = ParseSignedRequest(*wire);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(VerifyRequest(*parsed, cb).ok());
}

TEST(TormSignatureTest, Rsa1024KeyIsRefused) {
  PkeyPtr small = RsaKey(1024);
  ExpectInvalid(SignRequestWithKey(small.get(), Verb::kDerk, Cb(1), Bytes{1}).error());
  const Bytes body = {1};
  const SignedRequest request{
      Verb::kDerk, body, SpkiOf(small.get()),
      RawSign(small.get(), SigningInput(Verb::kDerk, Cb(1), body), RSA_PKCS1_PSS_PADDING)};
  auto r = VerifyRequest(request, Cb(1));
  ASSERT_FALSE(r.ok());
  ExpectInvalid(r.error());
  EXPECT_EQ(r.error().message, "torm: request RSA key size out of range");
}

TEST(TormSignatureTest, NonRsaKeyIsRefused) {
  PkeyPtr ec(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ASSERT_TRUE(ec != nullptr);
  ExpectInvalid(SignRequestWithKey(ec.get(), Verb::kDerk, Cb(1), Bytes{1}).error());
  const Bytes body = {1};
  const SignedRequest request{Verb::kDerk, body, SpkiOf(ec.get()),
                              RawSign(ec.get(), SigningInput(Verb::kDerk, Cb(1), body), 0)};
  auto r = VerifyRequest(request, Cb(1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "torm: request key is not an RSA key");

  PkeyPtr ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  ASSERT_TRUE(ed != nullptr);
  const SignedRequest ed_request{Verb::kDerk, body, SpkiOf(ed.get()), Bytes(64, 1)};
  ExpectInvalid(VerifyRequest(ed_request, Cb(1)).error());
}

TEST(TormSignatureTest, MalformedOrNonCanonicalKeyIsRefused) {
  auto request = SignRequestWithKey(ServerKey(), Verb::kDerk, Cb(1), Bytes{1});
  ASSERT_TRUE(request.ok());
  const Bytes der = request->spki_der;

  SignedRequest changed = *request;
  changed.spki_der.push_back(0x00);  // trailing byte after the DER
  ExpectInvalid(VerifyRequest(changed, Cb(1)).error());

  changed = *request;
  changed.spki_der.resize(der.size() / 2);  // truncated DER
  ExpectInvalid(VerifyRequest(changed, Cb(1)).error());

  // The same key with the outer length in a non-minimal long form (BER, not DER):
  // it would give the key a second partner_id.
  ASSERT_EQ(der[0], 0x30);
  ASSERT_EQ(der[1], 0x82);
  changed = *request;
  changed.spki_der = {0x30, 0x83, 0x00, der[2], der[3]};
  changed.spki_der.insert(changed.spki_der.end(), der.begin() + 4, der.end());
  auto r = VerifyRequest(changed, Cb(1));  // OpenSSL's d2i_PUBKEY accepts this form
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "torm: spki_der is not canonical DER");

  changed = *request;
  changed.spki_der = {0x30, 0x00};
  ExpectInvalid(VerifyRequest(changed, Cb(1)).error());
}

}  // namespace
}  // namespace onionmail::unseal
