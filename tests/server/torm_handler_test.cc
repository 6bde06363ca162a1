// TormHandler (the key role's TORM service) over a real PartnerStore (file key
// store in a temp dir), real RSA-PSS signed requests bound to a channel
// binding, real ECMR maths and real Ed25519 KCTL certificates.
#include "server/torm_handler.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "hsm/key_store.h"
#include "tests/store/test_util.h"
#include "unseal/ecmr.h"
#include "unseal/kctl.h"
#include "unseal/torm_wire.h"

namespace onionmail::server {
namespace {

using mail::TormOutcome;
using mail::TormVerb;
using onionmail::testing::TempDir;

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Pkey NewRsa(int bits) {
  Pkey k(EVP_RSA_gen(static_cast<unsigned>(bits)));
  EXPECT_NE(k, nullptr);
  return k;
}

std::vector<uint8_t> Spki(EVP_PKEY* k) {
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(k, &der);
  std::vector<uint8_t> out(der, der + n);
  OPENSSL_free(der);
  return out;
}

mail::ChannelBinding Binding(uint8_t fill) {
  mail::ChannelBinding cb;
  cb.fill(fill);
  return cb;
}

constexpr uint64_t kNow = 1767225600;  // 2026-01-01

// The big-endian unsigned integer of `bytes` bytes at `pos`.
uint64_t Be(const std::vector<uint8_t>& v, size_t pos, size_t bytes) {
  uint64_t out = 0;
  for (size_t i = 0; i < bytes; ++i) out = (out << 8) | v.at(pos + i);
  return out;
}

class TormHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto keys = hsm::CreateFileKeyStore(dir_.path() + "/server.key");
    ASSERT_TRUE(keys.ok()) << keys.error().message;
    keys_ = std::move(*keys);
    unseal::PartnerStoreOptions options;
    options.clock = [this] { return now_; };
    options.rate_limit_answers = 3;
    auto store = unseal::PartnerStore::Open(dir_.path() + "/partners", *keys_, options);
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
    handler_ = std::make_unique<TormHandler>(
        *store_, [this](std::vector<uint8_t> cert, std::vector<unseal::ForwardPeer> peers) {
          forwarded_.push_back({std::move(cert), std::move(peers)});
        });
    server_key_ = NewRsa(2048);
    auto kctl = unseal::GenerateKctlKey();
    ASSERT_TRUE(kctl.ok());
    kctl_ = std::move(*kctl);
  }

  std::vector<uint8_t> Signed(EVP_PKEY* key, unseal::Verb verb, const mail::ChannelBinding& cb,
                              const std::vector<uint8_t>& body) {
    auto req = unseal::SignRequestWithKey(key, verb, cb, body);
    EXPECT_TRUE(req.ok()) << req.error().message;
    auto wire = unseal::EncodeSignedRequest(*req);
    EXPECT_TRUE(wire.ok());
    return *wire;
  }

  mail::TormAnswer Call(TormVerb verb, const mail::ChannelBinding& cb,
                        const std::vector<uint8_t>& blob) {
    auto a = handler_->Handle(verb, cb, blob);
    EXPECT_TRUE(a.ok()) << a.error().message;
    return a.ok() ? *a : mail::TormAnswer{TormOutcome::kTemporary, {}};
  }

  unseal::PushBody Push() {
    unseal::PushBody body;
    body.t = 2;
    body.n = 3;
    body.peer_id = "127.0.0.1:2601";
    body.kctl_pub = kctl_.pub;
    body.credits_requested = 5;
    unseal::ForwardPeer other;
    other.address = "127.0.0.1:2602";
    other.tls_pin.fill(0x42);
    body.forward_peers.push_back(other);
    return body;
  }

  // Enrols server_key_ and returns S.
  unseal::Point Enrol() {
    auto body = unseal::EncodePushBody(Push());
    EXPECT_TRUE(body.ok());
    auto a = Call(TormVerb::kPush, Binding(1),
                  Signed(server_key_.get(), unseal::Verb::kPush, Binding(1), *body));
    EXPECT_EQ(a.outcome, TormOutcome::kOk) << mail::TormOutcomeKeyword(a.outcome);
    auto reply = unseal::ParsePushReply(a.reply);
    EXPECT_TRUE(reply.ok());
    EXPECT_EQ(reply->credits_granted, 5u);
    return reply->S;
  }

  mail::TormAnswer Derk(const unseal::Point& X, const mail::ChannelBinding& cb = Binding(2)) {
    auto body = unseal::EncodeDerkBody(unseal::DerkBody{X});
    EXPECT_TRUE(body.ok());
    return Call(TormVerb::kDerk, cb, Signed(server_key_.get(), unseal::Verb::kDerk, cb, *body));
  }

  std::vector<uint8_t> Kctl(unseal::KctlAction action, uint64_t serial, uint32_t credits = 0) {
    unseal::KctlCert cert;
    cert.server_id = unseal::PartnerIdOf(Spki(server_key_.get()));
    cert.action = action;
    cert.serial = serial;
    cert.not_before = kNow - 60;
    cert.not_after = kNow + 3600;
    cert.credits = credits;
    auto signed_cert = unseal::SignKctl(kctl_.seed, cert);
    EXPECT_TRUE(signed_cert.ok());
    auto wire = unseal::EncodeKctl(*signed_cert);
    EXPECT_TRUE(wire.ok());
    return *wire;
  }

  // A query certificate (serial 0) valid from `not_before` for `window` seconds.
  std::vector<uint8_t> Query(uint64_t not_before = kNow - 60, uint64_t window = 600,
                             const SecretBytes* seed = nullptr) {
    unseal::KctlCert cert;
    cert.server_id = unseal::PartnerIdOf(Spki(server_key_.get()));
    cert.action = unseal::KctlAction::kQuery;
    cert.serial = 0;
    cert.not_before = not_before;
    cert.not_after = not_before + window;
    auto signed_cert = unseal::SignKctl(seed != nullptr ? *seed : kctl_.seed, cert);
    EXPECT_TRUE(signed_cert.ok()) << signed_cert.error().message;
    auto wire = unseal::EncodeKctl(*signed_cert);
    EXPECT_TRUE(wire.ok());
    return *wire;
  }

  // Answers one DERK (a fresh blinding) and returns the outcome.
  TormOutcome DerkOnce(const unseal::Point& S) {
    auto C = unseal::ServerEnroll(S, "p")->C;
    return Derk(unseal::ServerBlind(C, S)->X).outcome;
  }

  TempDir dir_;
  uint64_t now_ = kNow;
  std::unique_ptr<hsm::KeyStore> keys_;
  std::unique_ptr<unseal::PartnerStore> store_;
  std::unique_ptr<TormHandler> handler_;
  Pkey server_key_;
  unseal::KctlKeyPair kctl_;
  std::vector<std::pair<std::vector<uint8_t>, std::vector<unseal::ForwardPeer>>> forwarded_;
};

TEST_F(TormHandlerTest, PushThenDerkLetsTheServerRebuildItsKey) {
  unseal::Point S = Enrol();
  auto enrolment = unseal::ServerEnroll(S, "127.0.0.1:2601");
  ASSERT_TRUE(enrolment.ok());
  auto blinded = unseal::ServerBlind(enrolment->C, S);
  ASSERT_TRUE(blinded.ok());
  auto a = Derk(blinded->X);
  ASSERT_EQ(a.outcome, TormOutcome::kOk);
  auto reply = unseal::ParseDerkReply(a.reply);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->credits_left, 4u);
  EXPECT_EQ(reply->answered_total, 1u);
  auto k = unseal::ServerUnblind(reply->Y, blinded->e, S, "127.0.0.1:2601");
  ASSERT_TRUE(k.ok());
  EXPECT_TRUE(k->Equals(enrolment->K));
  // The peer never holds K: not in its stored state, not in what it sent.
  auto kb = k->Reveal(SecretAccess::Grant());
  std::vector<uint8_t> key(kb.begin(), kb.end());
  std::vector<uint8_t> key_hash(32);
  SHA256(key.data(), key.size(), key_hash.data());
  auto contains = [](const std::vector<uint8_t>& hay, const std::vector<uint8_t>& needle) {
    return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
  };
  size_t files = 0;
  for (const std::string& f : onionmail::testing::FilesUnder(dir_.path() + "/partners")) {
    auto bytes = onionmail::testing::ReadFileBytes(f);
    EXPECT_FALSE(contains(bytes, key)) << f;
    EXPECT_FALSE(contains(bytes, key_hash)) << f;
    ++files;
  }
  EXPECT_GE(files, 1u);
  EXPECT_FALSE(contains(a.reply, key));
  EXPECT_FALSE(contains(a.reply, key_hash));
}

TEST_F(TormHandlerTest, StatReportsTheCounters) {
  unseal::Point S = Enrol();
  auto blinded = unseal::ServerBlind(unseal::ServerEnroll(S, "p")->C, S);
  ASSERT_EQ(Derk(blinded->X).outcome, TormOutcome::kOk);
  auto a =
      Call(TormVerb::kStat, Binding(3),
           Signed(server_key_.get(), unseal::Verb::kStat, Binding(3), unseal::EncodeStatBody()));
  ASSERT_EQ(a.outcome, TormOutcome::kOk);
  auto stat = unseal::ParseStatReply(a.reply);
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(stat->answered_total, 1u);
  EXPECT_EQ(stat->credits_left, 4u);
  EXPECT_FALSE(stat->disabled);
}

TEST_F(TormHandlerTest, RequestSignedForAnotherConnectionIsABadSignature) {
  unseal::Point S = Enrol();
  auto blinded = unseal::ServerBlind(unseal::ServerEnroll(S, "p")->C, S);
  auto body = unseal::EncodeDerkBody(unseal::DerkBody{blinded->X});
  // Captured on connection 2, replayed on connection 9.
  auto captured = Signed(server_key_.get(), unseal::Verb::kDerk, Binding(2), *body);
  EXPECT_EQ(Call(TormVerb::kDerk, Binding(9), captured).outcome, TormOutcome::kBadSignature);
  EXPECT_EQ(Call(TormVerb::kDerk, Binding(2), captured).outcome, TormOutcome::kOk);
}

TEST_F(TormHandlerTest, RequestSignedByAnotherKeyIsAnUnknownPartner) {
  unseal::Point S = Enrol();
  Pkey stranger = NewRsa(2048);
  auto body = unseal::EncodeDerkBody(unseal::DerkBody{S});
  auto a = Call(TormVerb::kDerk, Binding(2),
                Signed(stranger.get(), unseal::Verb::kDerk, Binding(2), *body));
  EXPECT_EQ(a.outcome, TormOutcome::kUnknownPartner);
}

TEST_F(TormHandlerTest, ForgedSignatureIsRefusedAndCostsNoCredit) {
  unseal::Point S = Enrol();
  auto body = unseal::EncodeDerkBody(unseal::DerkBody{S});
  auto req = unseal::SignRequestWithKey(server_key_.get(), unseal::Verb::kDerk, Binding(2), *body);
  ASSERT_TRUE(req.ok());
  req->signature[10] ^= 1;
  auto wire = unseal::EncodeSignedRequest(*req);
  EXPECT_EQ(Call(TormVerb::kDerk, Binding(2), *wire).outcome, TormOutcome::kBadSignature);
  auto list = store_->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].answered_total, 0u);
  EXPECT_EQ((*list)[0].credits_left, 5u);
}

// Signs like a server would, with any key (SignRequestWithKey itself refuses
// keys under 2048 bits, so a small-key request has to be made by hand).
std::vector<uint8_t> PssSign(EVP_PKEY* key, const std::vector<uint8_t>& input) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  std::vector<uint8_t> sig(static_cast<size_t>(EVP_PKEY_get_size(key)));
  size_t len = sig.size();
  bool ok = ctx != nullptr && EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), nullptr, key) == 1 &&
            EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1 &&
            EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1 &&
            EVP_DigestSign(ctx, sig.data(), &len, input.data(), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EXPECT_TRUE(ok);
  sig.resize(len);
  return sig;
}

TEST_F(TormHandlerTest, SmallRsaKeysAreRefused) {
  Pkey small = NewRsa(1024);
  auto body = unseal::EncodePushBody(Push());
  ASSERT_TRUE(body.ok());
  auto cb = Binding(1);
  auto sig = PssSign(small.get(), unseal::SigningInput(unseal::Verb::kPush, cb, *body));
  auto wire = unseal::BuildSignedRequest(unseal::Verb::kPush, *body, Spki(small.get()), sig);
  ASSERT_TRUE(wire.ok()) << wire.error().message;
  EXPECT_EQ(Call(TormVerb::kPush, cb, *wire).outcome, TormOutcome::kBadSignature);
  // The same construction with a 2048-bit key is accepted: the refusal is the key size.
  auto good_sig = PssSign(server_key_.get(), unseal::SigningInput(unseal::Verb::kPush, cb, *body));
  auto good =
      unseal::BuildSignedRequest(unseal::Verb::kPush, *body, Spki(server_key_.get()), good_sig);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(Call(TormVerb::kPush, cb, *good).outcome, TormOutcome::kOk);
  auto list = store_->List();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
}

TEST_F(TormHandlerTest, VerbMismatchAndGarbageAreBadRequests) {
  auto body = unseal::EncodePushBody(Push());
  auto push = Signed(server_key_.get(), unseal::Verb::kPush, Binding(1), *body);
  EXPECT_EQ(Call(TormVerb::kDerk, Binding(1), push).outcome, TormOutcome::kBadRequest);
  EXPECT_EQ(Call(TormVerb::kPush, Binding(1), {1, 2, 3}).outcome, TormOutcome::kBadRequest);
  EXPECT_EQ(Call(TormVerb::kKctl, Binding(1), {1, 2, 3}).outcome, TormOutcome::kBadRequest);
  // A TKIM proof (verb 0x04, unseal/tkim_wire.h) is never a TORM request, whatever the verb.
  auto tkim = Signed(server_key_.get(), unseal::Verb::kTkim, Binding(1), *body);
  for (TormVerb verb : {TormVerb::kPush, TormVerb::kDerk, TormVerb::kStat, TormVerb::kKctl}) {
    EXPECT_EQ(Call(verb, Binding(1), tkim).outcome, TormOutcome::kBadRequest);
  }
}

TEST_F(TormHandlerTest, SecondPushIsAlreadyEnrolled) {
  Enrol();
  auto body = unseal::EncodePushBody(Push());
  auto a = Call(TormVerb::kPush, Binding(4),
                Signed(server_key_.get(), unseal::Verb::kPush, Binding(4), *body));
  EXPECT_EQ(a.outcome, TormOutcome::kAlreadyEnrolled);
}

TEST_F(TormHandlerTest, CreditsAndRateLimitAreEnforced) {
  unseal::Point S = Enrol();
  auto C = unseal::ServerEnroll(S, "p")->C;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Derk(unseal::ServerBlind(C, S)->X).outcome, TormOutcome::kOk);
  }
  EXPECT_EQ(Derk(unseal::ServerBlind(C, S)->X).outcome, TormOutcome::kRateLimited);
  now_ += 3600;
  EXPECT_EQ(Derk(unseal::ServerBlind(C, S)->X).outcome, TormOutcome::kOk);
  EXPECT_EQ(Derk(unseal::ServerBlind(C, S)->X).outcome, TormOutcome::kOk);
  EXPECT_EQ(Derk(unseal::ServerBlind(C, S)->X).outcome, TormOutcome::kNoCredits);
}

TEST_F(TormHandlerTest, KctlDisableEnableResetAndDestroy) {
  unseal::Point S = Enrol();
  auto C = unseal::ServerEnroll(S, "p")->C;
  auto a = Call(TormVerb::kKctl, Binding(5), Kctl(unseal::KctlAction::kDisable, 1));
  ASSERT_EQ(a.outcome, TormOutcome::kOk);
  EXPECT_EQ(a.reply, (std::vector<uint8_t>{1, 1, 0, 0, 0, 5,        // advanced, disabled, 5 credits
                                           0, 0, 0, 0, 0, 0, 0, 0,  // never answered
                                           0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(Derk(unseal::ServerBlind(C, S)->X).outcome, TormOutcome::kDisabled);
  ASSERT_EQ(Call(TormVerb::kKctl, Binding(5), Kctl(unseal::KctlAction::kEnable, 2)).outcome,
            TormOutcome::kOk);
  EXPECT_EQ(Derk(unseal::ServerBlind(C, S)->X).outcome, TormOutcome::kOk);
  a = Call(TormVerb::kKctl, Binding(5), Kctl(unseal::KctlAction::kResetCredits, 3, 50));
  ASSERT_EQ(a.outcome, TormOutcome::kOk);
  ASSERT_EQ(a.reply.size(), kKctlReplySize);
  EXPECT_EQ(std::vector<uint8_t>(a.reply.begin(), a.reply.begin() + 6),
            (std::vector<uint8_t>{1, 0, 0, 0, 0, 50}));
  EXPECT_EQ(Be(a.reply, 6, 8), 1u);  // the DERK after enable
  a = Call(TormVerb::kKctl, Binding(5), Kctl(unseal::KctlAction::kDestroy, 4));
  ASSERT_EQ(a.outcome, TormOutcome::kOk);
  ASSERT_EQ(a.reply.size(), kKctlReplySize);
  EXPECT_EQ(a.reply[1], 3) << "destroyed and disabled";
  EXPECT_EQ(Be(a.reply, 6, 8), 1u) << "the tombstone keeps the counter";
  EXPECT_EQ(Derk(unseal::ServerBlind(C, S)->X).outcome, TormOutcome::kDestroyed);
  auto body = unseal::EncodePushBody(Push());
  EXPECT_EQ(Call(TormVerb::kPush, Binding(6),
                 Signed(server_key_.get(), unseal::Verb::kPush, Binding(6), *body))
                .outcome,
            TormOutcome::kDestroyed);
}

TEST_F(TormHandlerTest, ReplayedForgedAndExpiredCertificatesAreRefused) {
  Enrol();
  auto first = Kctl(unseal::KctlAction::kDisable, 5);
  ASSERT_EQ(Call(TormVerb::kKctl, Binding(5), first).outcome, TormOutcome::kOk);
  EXPECT_EQ(Call(TormVerb::kKctl, Binding(5), Kctl(unseal::KctlAction::kEnable, 4)).outcome,
            TormOutcome::kReplayed);
  auto forged = Kctl(unseal::KctlAction::kEnable, 6);
  forged.back() ^= 1;
  EXPECT_EQ(Call(TormVerb::kKctl, Binding(5), forged).outcome, TormOutcome::kBadSignature);
  auto late = Kctl(unseal::KctlAction::kEnable, 7);
  now_ += 2 * 3600;
  EXPECT_EQ(Call(TormVerb::kKctl, Binding(5), late).outcome, TormOutcome::kExpired);
  auto list = store_->List();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE((*list)[0].disabled);
}

TEST_F(TormHandlerTest, AnAppliedCertificateIsForwardedOnce) {
  Enrol();
  auto cert = Kctl(unseal::KctlAction::kDisable, 1);
  ASSERT_EQ(Call(TormVerb::kKctl, Binding(5), cert).outcome, TormOutcome::kOk);
  ASSERT_EQ(Call(TormVerb::kKctl, Binding(7), cert).outcome, TormOutcome::kOk);  // again
  ASSERT_EQ(forwarded_.size(), 1u);
  EXPECT_EQ(forwarded_[0].first, cert);
  ASSERT_EQ(forwarded_[0].second.size(), 1u);
  EXPECT_EQ(forwarded_[0].second[0].address, "127.0.0.1:2602");
}

TEST_F(TormHandlerTest, KctlReplyCarriesTheCountersBigEndian) {
  unseal::Point S = Enrol();
  ASSERT_EQ(DerkOnce(S), TormOutcome::kOk);
  now_ += 0x0102;
  ASSERT_EQ(DerkOnce(S), TormOutcome::kOk);
  const uint64_t last = now_;
  now_ += 5;
  auto a = Call(TormVerb::kKctl, Binding(5), Kctl(unseal::KctlAction::kDisable, 1));
  ASSERT_EQ(a.outcome, TormOutcome::kOk);
  std::vector<uint8_t> want = {1, 1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 2};
  for (int shift = 56; shift >= 0; shift -= 8) want.push_back(static_cast<uint8_t>(last >> shift));
  EXPECT_EQ(a.reply, want);
  EXPECT_EQ(EncodeKctlReply(unseal::PartnerControlOutcome{}),
            std::vector<uint8_t>(kKctlReplySize, 0));
}

TEST_F(TormHandlerTest, QueryIsAnsweredWithoutChangingOrForwardingAnything) {
  unseal::Point S = Enrol();
  ASSERT_EQ(DerkOnce(S), TormOutcome::kOk);
  auto before = store_->List();
  ASSERT_TRUE(before.ok());
  auto a = Call(TormVerb::kKctl, Binding(5), Query());
  ASSERT_EQ(a.outcome, TormOutcome::kOk);
  ASSERT_EQ(a.reply.size(), kKctlReplySize);
  EXPECT_EQ(a.reply[0], 0) << "a query never advances";
  EXPECT_EQ(a.reply[1], 0);
  EXPECT_EQ(Be(a.reply, 2, 4), 4u);
  EXPECT_EQ(Be(a.reply, 6, 8), 1u);
  EXPECT_EQ(Be(a.reply, 14, 8), kNow);
  // The same query again, on another connection: the same answer.
  auto again = Call(TormVerb::kKctl, Binding(6), Query());
  ASSERT_EQ(again.outcome, TormOutcome::kOk);
  EXPECT_EQ(again.reply, a.reply);
  EXPECT_TRUE(forwarded_.empty()) << "a query is never forwarded";
  auto after = store_->List();
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].last_kctl_serial, (*before)[0].last_kctl_serial);
  EXPECT_EQ((*after)[0].credits_left, 4u);
  EXPECT_EQ((*after)[0].answered_total, 1u);
  EXPECT_FALSE((*after)[0].disabled);
  // It took no serial: serial 1 still applies, and that order is forwarded.
  ASSERT_EQ(Call(TormVerb::kKctl, Binding(5), Kctl(unseal::KctlAction::kDisable, 1)).outcome,
            TormOutcome::kOk);
  EXPECT_EQ(forwarded_.size(), 1u);
  a = Call(TormVerb::kKctl, Binding(5), Query());
  ASSERT_EQ(a.outcome, TormOutcome::kOk);
  EXPECT_EQ(a.reply[1], 1) << "the query sees the disable";
  EXPECT_EQ(forwarded_.size(), 1u);
}

TEST_F(TormHandlerTest, QueryOfADestroyedPartnerReadsTheTombstone) {
  unseal::Point S = Enrol();
  ASSERT_EQ(DerkOnce(S), TormOutcome::kOk);
  ASSERT_EQ(DerkOnce(S), TormOutcome::kOk);
  ASSERT_EQ(Call(TormVerb::kKctl, Binding(5), Kctl(unseal::KctlAction::kDestroy, 1)).outcome,
            TormOutcome::kOk);
  ASSERT_EQ(forwarded_.size(), 1u);
  now_ += 100;
  auto a = Call(TormVerb::kKctl, Binding(5), Query(now_ - 60));
  ASSERT_EQ(a.outcome, TormOutcome::kOk);
  ASSERT_EQ(a.reply.size(), kKctlReplySize);
  EXPECT_EQ(a.reply[0], 0);
  EXPECT_EQ(a.reply[1], 3) << "disabled and destroyed";
  EXPECT_EQ(Be(a.reply, 2, 4), 0u) << "a tombstone holds no credits";
  EXPECT_EQ(Be(a.reply, 6, 8), 2u);
  EXPECT_EQ(Be(a.reply, 14, 8), kNow);
  EXPECT_EQ(forwarded_.size(), 1u);
  // Orders stay refused for the tombstone.
  EXPECT_EQ(Call(TormVerb::kKctl, Binding(5), Kctl(unseal::KctlAction::kEnable, 2)).outcome,
            TormOutcome::kDestroyed);
}

TEST_F(TormHandlerTest, QueryWithALongWindowAForeignKeyOrOutOfDateIsRefused) {
  Enrol();
  EXPECT_EQ(Call(TormVerb::kKctl, Binding(5), Query(kNow - 60, 3601)).outcome,
            TormOutcome::kBadRequest);
  EXPECT_EQ(Call(TormVerb::kKctl, Binding(5), Query(kNow - 60, 3600)).outcome, TormOutcome::kOk);
  auto other = unseal::GenerateKctlKey();
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(Call(TormVerb::kKctl, Binding(5), Query(kNow - 60, 600, &other->seed)).outcome,
            TormOutcome::kBadSignature);
  EXPECT_EQ(Call(TormVerb::kKctl, Binding(5), Query(kNow - 700, 600)).outcome,
            TormOutcome::kExpired);
  EXPECT_EQ(Call(TormVerb::kKctl, Binding(5), Query(kNow + 10, 600)).outcome,
            TormOutcome::kExpired);
  EXPECT_TRUE(forwarded_.empty());
}

TEST_F(TormHandlerTest, CertificateForAnUnknownServerIsRefused) {
  EXPECT_EQ(Call(TormVerb::kKctl, Binding(5), Kctl(unseal::KctlAction::kDisable, 1)).outcome,
            TormOutcome::kUnknownPartner);
}

}  // namespace
}  // namespace onionmail::server
