#include "unseal/ecmr.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "crypto/hex.h"
#include "crypto/kdf.h"
#include "crypto/random.h"

namespace onionmail::unseal {
namespace {

// P-256 group order n and field prime p, big-endian.
constexpr char kOrderHex[] = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
constexpr char kOrderMinus1Hex[] =
    "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550";
constexpr char kPrimeHex[] = "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff";
constexpr char kPeerId[] = "peer-1.example.onion";

std::vector<uint8_t> Hex(std::string_view h) { return crypto::FromHex(h).value(); }

SecretBytes SecretHex(std::string_view h) {
  auto b = Hex(h);
  return SecretBytes(SecretAccess::Grant(), std::span<const uint8_t>(b));
}

std::vector<uint8_t> Reveal(const SecretBytes& s) {
  auto r = s.Reveal(SecretAccess::Grant());
  return {r.begin(), r.end()};
}

std::vector<uint8_t> XCoord(const Point& p) { return {p.begin() + 1, p.begin() + 33}; }

void ExpectInvalid(const Error& e) { EXPECT_EQ(e.code, ErrorCode::kInvalidArgument) << e.message; }

// The byte string `needle` occurs nowhere inside `hay`.
bool Contains(const std::vector<uint8_t>& hay, const std::vector<uint8_t>& needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

struct Fixture {
  PeerKey peer;
  Enrolment enrolment;
};

Fixture Enrol(std::string_view peer_id = kPeerId) {
  auto peer = GeneratePeerKey();
  EXPECT_TRUE(peer.ok());
  auto enrolment = ServerEnroll(peer->S, peer_id);
  EXPECT_TRUE(enrolment.ok());
  return Fixture{std::move(*peer), std::move(*enrolment)};
}

Result<SecretBytes> Boot(const Fixture& f, std::string_view peer_id = kPeerId) {
  auto blinded = ServerBlind(f.enrolment.C, f.peer.S);
  if (!blinded.ok()) return blinded.error();
  auto y = PeerAnswer(f.peer.s, blinded->X);
  if (!y.ok()) return y.error();
  return ServerUnblind(*y, blinded->e, f.peer.S, peer_id);
}

TEST(EcmrTest, PeerKeyIsAValidPointForItsScalar) {
  auto peer = GeneratePeerKey();
  ASSERT_TRUE(peer.ok()) << peer.error().message;
  EXPECT_EQ(peer->s.size(), kScalarSize);
  EXPECT_TRUE(ParsePoint(peer->S).ok());
  auto again = PeerKeyFromScalar(peer->s);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->S, peer->S);
  auto other = GeneratePeerKey();
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->S, peer->S);
  EXPECT_FALSE(other->s.Equals(peer->s));
}

TEST(EcmrTest, BootRecoversTheEnrolmentKey) {
  Fixture f = Enrol();
  EXPECT_EQ(f.enrolment.K.size(), kUnsealKeySize);
  for (int boot = 0; boot < 3; ++boot) {
    auto k = Boot(f);
    ASSERT_TRUE(k.ok()) << k.error().message;
    EXPECT_TRUE(k->Equals(f.enrolment.K));
  }
}

TEST(EcmrTest, KeyDependsOnPeerIdAndPeerSecret) {
  Fixture f = Enrol();
  auto other_id = Boot(f, "peer-2.example.onion");
  ASSERT_TRUE(other_id.ok());
  EXPECT_FALSE(other_id->Equals(f.enrolment.K));

  // A different peer secret answering (a wrong or impostor peer) yields a wrong key.
  auto impostor = GeneratePeerKey();
  ASSERT_TRUE(impostor.ok());
  auto blinded = ServerBlind(f.enrolment.C, f.peer.S);
  ASSERT_TRUE(blinded.ok());
  auto y = PeerAnswer(impostor->s, blinded->X);
  ASSERT_TRUE(y.ok());
  auto k = ServerUnblind(*y, blinded->e, f.peer.S, kPeerId);
  ASSERT_TRUE(k.ok());
  EXPECT_FALSE(k->Equals(f.enrolment.K));

  // Two enrolments with the same peer give independent keys (fresh c).
  auto second = ServerEnroll(f.peer.S, kPeerId);
  ASSERT_TRUE(second.ok());
  EXPECT_NE(second->C, f.enrolment.C);
  EXPECT_FALSE(second->K.Equals(f.enrolment.K));
}

TEST(EcmrTest, PeerViewChangesEveryBootAndNeverRevealsTheKey) {
  // Deterministic c so that the test can compute the shared point c*S itself.
  auto peer = GeneratePeerKey();
  ASSERT_TRUE(peer.ok());
  auto c_source = GeneratePeerKey();  // a uniformly random scalar in [1, n-1]
  ASSERT_TRUE(c_source.ok());
  const SecretBytes& c = c_source->s;
  auto enrolment = ServerEnrollWithScalar(peer->S, kPeerId, c);
  ASSERT_TRUE(enrolment.ok());
  auto shared = PeerAnswer(c, peer->S);  // c*S, the point the key comes from
  ASSERT_TRUE(shared.ok());
  const std::vector<uint8_t> key = Reveal(enrolment->K);
  const std::vector<uint8_t> shared_x = XCoord(*shared);
  const std::vector<uint8_t> shared_bytes(shared->begin(), shared->end());

  std::set<Point> xs, ys;
  std::vector<uint8_t> transcript(peer->S.begin(), peer->S.end());
  for (int boot = 0; boot < 16; ++boot) {
    auto blinded = ServerBlind(enrolment->C, peer->S);
    ASSERT_TRUE(blinded.ok());
    auto y = PeerAnswer(peer->s, blinded->X);
    ASSERT_TRUE(y.ok());
    auto k = ServerUnblind(*y, blinded->e, peer->S, kPeerId);
    ASSERT_TRUE(k.ok());
    EXPECT_TRUE(k->Equals(enrolment->K));
    EXPECT_NE(blinded->X, enrolment->C);  // the stored C is never sent as is
    EXPECT_NE(*y, *shared);
    xs.insert(blinded->X);
    ys.insert(*y);
    transcript.insert(transcript.end(), blinded->X.begin(), blinded->X.end());
    transcript.insert(transcript.end(), y->begin(), y->end());
    // Nothing the peer sees hashes or derives to the key either.
    for (const Point& p : {peer->S, blinded->X, *y}) {
      auto h = crypto::Sha256(p);
      EXPECT_NE(std::vector<uint8_t>(h.begin(), h.end()), key);
      auto x = XCoord(p);
      auto derived = crypto::HkdfSha256(
          SecretBytes(SecretAccess::Grant(), std::span<const uint8_t>(x)),
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(kUnsealSalt.data()),
                                   kUnsealSalt.size()),
          std::string("K") + kPeerId, kUnsealKeySize);
      ASSERT_TRUE(derived.ok());
      EXPECT_FALSE(derived->Equals(enrolment->K));
    }
  }
  EXPECT_EQ(xs.size(), 16u);
  EXPECT_EQ(ys.size(), 16u);
  // The peer's whole view (S and every X, Y) contains neither K nor the shared point.
  EXPECT_FALSE(Contains(transcript, key));
  EXPECT_FALSE(Contains(transcript, shared_x));
  EXPECT_FALSE(Contains(transcript, shared_bytes));
  EXPECT_FALSE(Contains(std::vector<uint8_t>(enrolment->C.begin(), enrolment->C.end()), key));
}

TEST(EcmrTest, ParsePointRejectsEveryMalformedEncoding) {
  auto peer = GeneratePeerKey();
  ASSERT_TRUE(peer.ok());
  const std::vector<uint8_t> good(peer->S.begin(), peer->S.end());
  ASSERT_TRUE(ParsePoint(good).ok());

  ExpectInvalid(ParsePoint({}).error());
  ExpectInvalid(ParsePoint(std::vector<uint8_t>{0x00}).error());  // SEC1 infinity
  ExpectInvalid(ParsePoint(std::vector<uint8_t>(good.begin(), good.end() - 1)).error());
  auto longer = good;
  longer.push_back(0);
  ExpectInvalid(ParsePoint(longer).error());
  // Compressed form of the same point is refused: only 0x04 || x || y is accepted.
  std::vector<uint8_t> compressed(good.begin(), good.begin() + 33);
  compressed[0] = static_cast<uint8_t>(0x02 | (good[64] & 1));
  ExpectInvalid(ParsePoint(compressed).error());
  for (uint8_t prefix : {0x00, 0x02, 0x03, 0x06, 0x07}) {
    auto bad = good;
    bad[0] = prefix;
    ExpectInvalid(ParsePoint(bad).error());
  }
  auto off_curve = good;
  off_curve[64] ^= 1;
  ExpectInvalid(ParsePoint(off_curve).error());
  std::vector<uint8_t> zeros(kPointSize, 0);
  zeros[0] = 0x04;  // (0, 0) is not on P-256
  ExpectInvalid(ParsePoint(zeros).error());
  // x + p, y: the same residue but an out-of-range coordinate.
  auto p = Hex(kPrimeHex);
  auto x_is_p = good;
  std::copy(p.begin(), p.end(), x_is_p.begin() + 1);
  ExpectInvalid(ParsePoint(x_is_p).error());
  auto y_is_p = good;
  std::copy(p.begin(), p.end(), y_is_p.begin() + 33);
  ExpectInvalid(ParsePoint(y_is_p).error());
}

TEST(EcmrTest, EveryStepRejectsAnInvalidReceivedPoint) {
  Fixture f = Enrol();
  Point off_curve = f.peer.S;
  off_curve[64] ^= 1;
  Point bad_prefix = f.peer.S;
  bad_prefix[0] = 0x03;
  for (const Point& bad : {off_curve, bad_prefix}) {
    ExpectInvalid(PeerAnswer(f.peer.s, bad).error());
    ExpectInvalid(ServerEnroll(bad, kPeerId).error());
    ExpectInvalid(ServerBlind(bad, f.peer.S).error());
    ExpectInvalid(ServerBlind(f.enrolment.C, bad).error());
    auto blinded = ServerBlind(f.enrolment.C, f.peer.S);
    ASSERT_TRUE(blinded.ok());
    ExpectInvalid(ServerUnblind(bad, blinded->e, f.peer.S, kPeerId).error());
    auto y = PeerAnswer(f.peer.s, blinded->X);
    ASSERT_TRUE(y.ok());
    ExpectInvalid(ServerUnblind(*y, blinded->e, bad, kPeerId).error());
  }
}

TEST(EcmrTest, ScalarsOutsideOneToOrderMinusOneAreRejected) {
  auto peer = GeneratePeerKey();
  ASSERT_TRUE(peer.ok());
  std::vector<SecretBytes> bad;
  bad.push_back(SecretBytes(kScalarSize));  // zero
  bad.push_back(SecretHex(kOrderHex));      // n
  bad.push_back(SecretHex(std::string(64, 'f')));
  bad.push_back(crypto::RandomSecret(31));
  bad.push_back(crypto::RandomSecret(33));
  for (const SecretBytes& k : bad) {
    ExpectInvalid(PeerKeyFromScalar(k).error());
    ExpectInvalid(ServerEnrollWithScalar(peer->S, kPeerId, k).error());
    ExpectInvalid(PeerAnswer(k, peer->S).error());
  }
  auto top = PeerKeyFromScalar(SecretHex(kOrderMinus1Hex));  // n-1 is valid: -G
  ASSERT_TRUE(top.ok());
  auto one = PeerKeyFromScalar(SecretHex(std::string(63, '0') + "1"));
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(XCoord(top->S), XCoord(one->S));
  EXPECT_NE(top->S, one->S);
}

TEST(EcmrTest, BlindingThatCancelsToInfinityIsRefused) {
  auto peer = GeneratePeerKey();
  ASSERT_TRUE(peer.ok());
  // c = 1 gives C = G; e = n-1 gives X = G - G = infinity.
  auto enrolment = ServerEnrollWithScalar(peer->S, kPeerId, SecretHex(std::string(63, '0') + "1"));
  ASSERT_TRUE(enrolment.ok());
  ExpectInvalid(ServerBlindWithScalar(enrolment->C, peer->S, SecretHex(kOrderMinus1Hex)).error());
}

TEST(EcmrTest, AnswerThatUnblindsToInfinityIsRefused) {
  Fixture f = Enrol();
  auto blinded = ServerBlind(f.enrolment.C, f.peer.S);
  ASSERT_TRUE(blinded.ok());
  auto y = PeerAnswer(blinded->e, f.peer.S);  // Y = e*S, so Y - e*S = infinity
  ASSERT_TRUE(y.ok());
  ExpectInvalid(ServerUnblind(*y, blinded->e, f.peer.S, kPeerId).error());
}

TEST(EcmrTest, PeerIdMustBeOneTo255Bytes) {
  auto peer = GeneratePeerKey();
  ASSERT_TRUE(peer.ok());
  ExpectInvalid(ServerEnroll(peer->S, "").error());
  ExpectInvalid(ServerEnroll(peer->S, std::string(256, 'a')).error());
  auto longest = ServerEnroll(peer->S, std::string(255, 'a'));
  ASSERT_TRUE(longest.ok());
  auto blinded = ServerBlind(longest->C, peer->S);
  ASSERT_TRUE(blinded.ok());
  auto y = PeerAnswer(peer->s, blinded->X);
  ASSERT_TRUE(y.ok());
  ExpectInvalid(ServerUnblind(*y, blinded->e, peer->S, "").error());
  auto k = ServerUnblind(*y, blinded->e, peer->S, std::string(255, 'a'));
  ASSERT_TRUE(k.ok());
  EXPECT_TRUE(k->Equals(longest->K));
}

}  // namespace
}  // namespace onionmail::unseal
