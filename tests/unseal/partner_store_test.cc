// Tests of unseal::PartnerStore over a real directory, the file KeyStore, real
// ECMR maths (the server side of ecmr.h recovers K) and real KCTL certificates.
#include "unseal/partner_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "crypto/hex.h"
#include "crypto/random.h"
#include "tests/unseal/partner_store_fixture.h"

namespace onionmail::unseal {
namespace {

TEST_F(PartnerStoreTest, AnswerLetsTheServerRecoverTheEnrolmentKey) {
  Partner p = MakePartner();
  Point S = Enrol(p);
  auto enrolment = ServerEnroll(S, p.body.peer_id);
  ASSERT_TRUE(enrolment.ok());
  for (int boot = 0; boot < 2; ++boot) {
    auto k = Boot(p, S, enrolment->C);
    ASSERT_TRUE(k.ok()) << k.error().message;
    EXPECT_TRUE(k->Equals(enrolment->K));
  }
  auto stat = store_->Stat(p.id, p.spki);
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(stat->answered_total, 2u);
  EXPECT_EQ(stat->credits_left, 98u);
  EXPECT_EQ(stat->last_answer_unix, kStart);
  EXPECT_FALSE(stat->disabled);
  EXPECT_EQ(ModeOf(partners_), 0700u);
}

TEST_F(PartnerStoreTest, CreditsAreEnforcedAndCapped) {
  Partner p = MakePartner(3);
  Enrol(p);
  for (uint32_t i = 1; i <= 3; ++i) {
    auto answer = AnswerRandom(p);
    ASSERT_TRUE(answer.ok()) << answer.error().message;
    EXPECT_EQ(answer->credits_left, 3 - i);
    EXPECT_EQ(answer->answered_total, i);
  }
  auto refused = AnswerRandom(p);
  ASSERT_FALSE(refused.ok());
  ExpectCode(refused.error(), ErrorCode::kPermissionDenied);

  Partner greedy = MakePartner(5000);
  auto reply = store_->Enrol(greedy.id, greedy.spki, greedy.body);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->credits_granted, 1000u);
}

TEST_F(PartnerStoreTest, CountersSurviveReopen) {
  Partner p = MakePartner(10);
  Point S = Enrol(p);
  ASSERT_TRUE(AnswerRandom(p).ok());
  now_ += 5;
  ASSERT_TRUE(AnswerRandom(p).ok());
  ASSERT_TRUE(store_->ApplyKctl(Cert(p, KctlAction::kDisable, 1)).ok());
  Reopen();
  EXPECT_TRUE(store_->load_errors().empty());
  auto stat = store_->Stat(p.id, p.spki);
  ASSERT_TRUE(stat.ok()) << stat.error().message;
  EXPECT_EQ(stat->answered_total, 2u);
  EXPECT_EQ(stat->credits_left, 8u);
  EXPECT_EQ(stat->last_answer_unix, kStart + 5);
  EXPECT_TRUE(stat->disabled);
  // The same secret after reopening: an enrolment against S still works.
  ASSERT_TRUE(store_->ApplyKctl(Cert(p, KctlAction::kEnable, 2)).ok());
  auto enrolment = ServerEnroll(S, p.body.peer_id);
  ASSERT_TRUE(enrolment.ok());
  auto k = Boot(p, S, enrolment->C);
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_TRUE(k->Equals(enrolment->K));
}

TEST_F(PartnerStoreTest, RateLimitRefusesWithoutSpendingCredits) {
  Partner p = MakePartner();
  Enrol(p);
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(AnswerRandom(p).ok());
    now_ += 1;
  }
  auto limited = AnswerRandom(p);
  ASSERT_FALSE(limited.ok());
  ExpectCode(limited.error(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(store_->Stat(p.id, p.spki)->credits_left, 94u);
  now_ = kStart + 60;  // the first answer leaves the window
  EXPECT_TRUE(AnswerRandom(p).ok());
  EXPECT_FALSE(AnswerRandom(p).ok());
  // Other partners have their own window.
  Partner q = MakePartner();
  Enrol(q);
  EXPECT_TRUE(AnswerRandom(q).ok());
}

TEST_F(PartnerStoreTest, DisableRefusesAndEnableRestores) {
  Partner p = MakePartner();
  Enrol(p);
  auto disabled = store_->ApplyKctl(Cert(p, KctlAction::kDisable, 1));
  ASSERT_TRUE(disabled.ok()) << disabled.error().message;
  EXPECT_TRUE(disabled->advanced);
  EXPECT_TRUE(disabled->disabled);
  EXPECT_EQ(disabled->forwards, p.body.forward_peers);
  auto refused = AnswerRandom(p);
  ASSERT_FALSE(refused.ok());
  ExpectCode(refused.error(), ErrorCode::kPermissionDenied);
  EXPECT_TRUE(store_->Stat(p.id, p.spki)->disabled);
  auto enabled = store_->ApplyKctl(Cert(p, KctlAction::kEnable, 2));
  ASSERT_TRUE(enabled.ok());
  EXPECT_FALSE(enabled->disabled);
  EXPECT_TRUE(AnswerRandom(p).ok());
}

TEST_F(PartnerStoreTest, ResetCreditsRestoresAnswersUpToTheCap) {
  Partner p = MakePartner(1);
  Enrol(p);
  ASSERT_TRUE(AnswerRandom(p).ok());
  ASSERT_FALSE(AnswerRandom(p).ok());
  auto reset = store_->ApplyKctl(Cert(p, KctlAction::kResetCredits, 7, 2));
  ASSERT_TRUE(reset.ok()) << reset.error().message;
  EXPECT_EQ(reset->credits_left, 2u);
  EXPECT_TRUE(AnswerRandom(p).ok());
  EXPECT_EQ(store_->Stat(p.id, p.spki)->credits_left, 1u);
  auto big = store_->ApplyKctl(Cert(p, KctlAction::kResetCredits, 8, 1u << 30));
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->credits_left, 1000u);
  auto wrong = Cert(p, KctlAction::kDisable, 9);
  wrong.credits = 5;  // only reset-credits carries credits
  auto refused = store_->ApplyKctl(wrong);
  ASSERT_FALSE(refused.ok());
  ExpectCode(refused.error(), ErrorCode::kInvalidArgument);
}

TEST_F(PartnerStoreTest, DestroyDeletesTheRecordAndRefusesEverythingAfterwards) {
  Partner p = MakePartner();
  Enrol(p);
  ASSERT_TRUE(store_->ApplyKctl(Cert(p, KctlAction::kDisable, 1)).ok());
  const std::string live = FileOf(p, false);
  ASSERT_TRUE(std::filesystem::exists(live));
  const KctlCert destroy = Cert(p, KctlAction::kDestroy, 2);
  auto destroyed = store_->ApplyKctl(destroy);
  ASSERT_TRUE(destroyed.ok()) << destroyed.error().message;
  EXPECT_TRUE(destroyed->advanced);
  EXPECT_TRUE(destroyed->destroyed);
  EXPECT_FALSE(destroyed->cleanup_pending);
  EXPECT_EQ(destroyed->forwards, p.body.forward_peers);
  EXPECT_FALSE(std::filesystem::exists(live));
  EXPECT_TRUE(std::filesystem::exists(FileOf(p, true)));

  for (int round = 0; round < 2; ++round) {  // before and after reopening
    auto answer = AnswerRandom(p);
    ASSERT_FALSE(answer.ok());
    ExpectCode(answer.error(), ErrorCode::kPermissionDenied);
    auto stat = store_->Stat(p.id, p.spki);
    ASSERT_FALSE(stat.ok());
    ExpectCode(stat.error(), ErrorCode::kPermissionDenied);
    auto again = store_->Enrol(p.id, p.spki, p.body);
    ASSERT_FALSE(again.ok());
    ExpectCode(again.error(), ErrorCode::kPermissionDenied);
    auto replay = store_->ApplyKctl(Cert(p, KctlAction::kEnable, 1));
    ASSERT_FALSE(replay.ok());
    ExpectCode(replay.error(), ErrorCode::kAlreadyExists);
    auto newer = store_->ApplyKctl(Cert(p, KctlAction::kEnable, 3));
    ASSERT_FALSE(newer.ok());
    ExpectCode(newer.error(), ErrorCode::kPermissionDenied);
    auto same = store_->ApplyKctl(destroy);  // forwarded back by another peer
    ASSERT_TRUE(same.ok()) << same.error().message;
    EXPECT_FALSE(same->advanced);
    EXPECT_TRUE(same->forwards.empty());
    Reopen();
  }
  auto list = store_->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_TRUE((*list)[0].destroyed);
  EXPECT_EQ((*list)[0].last_kctl_serial, 2u);
}

TEST_F(PartnerStoreTest, InterruptedDestroyIsCompletedAtOpen) {
  Partner p = MakePartner();
  Enrol(p);
  const std::string live = FileOf(p, false);
  const auto sealed = ReadFileBytes(live);
  ASSERT_TRUE(store_->ApplyKctl(Cert(p, KctlAction::kDestroy, 1)).ok());
  WriteFileBytes(live, sealed);  // as if the crash came before the delete
  Reopen();
  EXPECT_FALSE(std::filesystem::exists(live));
  auto answer = AnswerRandom(p);
  ASSERT_FALSE(answer.ok());
  ExpectCode(answer.error(), ErrorCode::kPermissionDenied);
}

TEST_F(PartnerStoreTest, ReplayedSerialIsRejected) {
  Partner p = MakePartner();
  Enrol(p);
  KctlCert zero;  // orders are numbered from 1: serial 0 cannot even be signed
  zero.server_id = p.id;
  zero.action = KctlAction::kDisable;
  zero.not_before = now_ - 60;
  zero.not_after = now_ + 3600;
  ExpectCode(SignKctl(p.kctl.seed, zero).error(), ErrorCode::kInvalidArgument);
  ASSERT_TRUE(store_->ApplyKctl(Cert(p, KctlAction::kDisable, 5)).ok());
  for (uint64_t serial : {4u, 5u}) {
    auto replay = store_->ApplyKctl(Cert(p, KctlAction::kEnable, serial));
    ASSERT_FALSE(replay.ok());
    ExpectCode(replay.error(), ErrorCode::kAlreadyExists);
  }
  EXPECT_TRUE(store_->Stat(p.id, p.spki)->disabled);
  auto same = store_->ApplyKctl(Cert(p, KctlAction::kDisable, 5));
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->advanced);
  EXPECT_TRUE(same->forwards.empty());
  auto next = store_->ApplyKctl(Cert(p, KctlAction::kEnable, 6));
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(next->advanced);
  EXPECT_FALSE(store_->Stat(p.id, p.spki)->disabled);
  Reopen();  // the last serial is durable
  auto replay = store_->ApplyKctl(Cert(p, KctlAction::kDisable, 5));
  ASSERT_FALSE(replay.ok());
  ExpectCode(replay.error(), ErrorCode::kAlreadyExists);
}

TEST_F(PartnerStoreTest, KctlSignatureDatesAndServerAreChecked) {
  Partner p = MakePartner();
  Partner stranger = MakePartner();
  Enrol(p);
  KctlCert forged = Cert(stranger, KctlAction::kDisable, 1);
  forged.server_id = p.id;
  auto bad = store_->ApplyKctl(forged);
  ASSERT_FALSE(bad.ok());
  ExpectCode(bad.error(), ErrorCode::kUnauthenticated);
  KctlCert cert = Cert(p, KctlAction::kDisable, 1);
  now_ += 7200;
  auto expired = store_->ApplyKctl(cert);
  ASSERT_FALSE(expired.ok());
  ExpectCode(expired.error(), ErrorCode::kDeadlineExceeded);
  now_ = kStart - 3600;
  auto early = store_->ApplyKctl(cert);
  ASSERT_FALSE(early.ok());
  ExpectCode(early.error(), ErrorCode::kFailedPrecondition);
  auto unknown = store_->ApplyKctl(Cert(stranger, KctlAction::kDisable, 1));
  ASSERT_FALSE(unknown.ok());
  ExpectCode(unknown.error(), ErrorCode::kNotFound);
  EXPECT_FALSE(store_->Stat(p.id, p.spki)->disabled);
}

TEST_F(PartnerStoreTest, RePushIsRefusedAndKeepsTheSecret) {
  Partner p = MakePartner();
  Point S = Enrol(p);
  auto enrolment = ServerEnroll(S, p.body.peer_id);
  ASSERT_TRUE(enrolment.ok());
  const std::vector<uint8_t> before = ReadFileBytes(FileOf(p, false));
  PushBody other = p.body;
  other.credits_requested = 7;
  auto again = store_->Enrol(p.id, p.spki, other);
  ASSERT_FALSE(again.ok());
  ExpectCode(again.error(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(ReadFileBytes(FileOf(p, false)), before);
  auto k = Boot(p, S, enrolment->C);
  ASSERT_TRUE(k.ok());
  EXPECT_TRUE(k->Equals(enrolment->K));
}

TEST_F(PartnerStoreTest, RequestKeyMustMatchThePartnerId) {
  Partner p = MakePartner();
  Partner q = MakePartner();
  auto wrong_enrol = store_->Enrol(p.id, q.spki, p.body);
  ASSERT_FALSE(wrong_enrol.ok());
  ExpectCode(wrong_enrol.error(), ErrorCode::kUnauthenticated);
  Enrol(p);
  auto x = GeneratePeerKey();
  ASSERT_TRUE(x.ok());
  auto answer = store_->Answer(p.id, q.spki, x->S);
  ASSERT_FALSE(answer.ok());
  ExpectCode(answer.error(), ErrorCode::kUnauthenticated);
  auto stat = store_->Stat(p.id, q.spki);
  ASSERT_FALSE(stat.ok());
  ExpectCode(stat.error(), ErrorCode::kUnauthenticated);
  auto unknown = store_->Answer(q.id, q.spki, x->S);
  ASSERT_FALSE(unknown.ok());
  ExpectCode(unknown.error(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->Stat(p.id, p.spki)->answered_total, 0u);
}

TEST_F(PartnerStoreTest, BadPushFieldsAndBadPointsAreRefused) {
  Partner p = MakePartner();
  auto refused = [&](PushBody body) {
    auto r = store_->Enrol(p.id, p.spki, body);
    ASSERT_FALSE(r.ok());
    ExpectCode(r.error(), ErrorCode::kInvalidArgument);
  };
  PushBody b = p.body;
  b.credits_requested = 0;
  refused(b);
  b = p.body;
  b.t = 4;  // > n
  refused(b);
  b = p.body;
  b.peer_id.clear();
  refused(b);
  b = p.body;
  b.forward_peers[0].address = "bad address";
  refused(b);
  b = p.body;
  b.forward_peers.resize(33, p.body.forward_peers[0]);
  refused(b);
  EXPECT_TRUE(FilesUnder(partners_).empty());

  Enrol(p);
  Point off_curve{};
  off_curve[0] = 0x04;
  auto answer = store_->Answer(p.id, p.spki, off_curve);
  ASSERT_FALSE(answer.ok());
  ExpectCode(answer.error(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->Stat(p.id, p.spki)->credits_left, 100u);
}

TEST_F(PartnerStoreTest, TooManyPartnersAreRefused) {
  options_.max_partners = 2;
  Reopen();
  Partner a = MakePartner(), b = MakePartner(), c = MakePartner();
  Enrol(a);
  Enrol(b);
  auto third = store_->Enrol(c.id, c.spki, c.body);
  ASSERT_FALSE(third.ok());
  ExpectCode(third.error(), ErrorCode::kResourceExhausted);
  // A destroyed partner frees its slot (its tombstone does not count).
  ASSERT_TRUE(store_->ApplyKctl(Cert(a, KctlAction::kDestroy, 1)).ok());
  EXPECT_TRUE(store_->Enrol(c.id, c.spki, c.body).ok());
}

TEST_F(PartnerStoreTest, TamperedRecordIsSkippedAndOthersStillWork) {
  Partner a = MakePartner(), b = MakePartner();
  Enrol(a);
  Point Sb = Enrol(b);
  auto bytes = ReadFileBytes(FileOf(a, false));
  bytes[bytes.size() / 2] ^= 0x01;
  WriteFileBytes(FileOf(a, false), bytes);
  WriteFileBytes(partners_ + "/stray", {1, 2, 3});
  Reopen();
  EXPECT_EQ(store_->load_errors().size(), 2u);
  auto answer = AnswerRandom(a);
  ASSERT_FALSE(answer.ok());
  ExpectCode(answer.error(), ErrorCode::kDataLoss);
  auto push = store_->Enrol(a.id, a.spki, a.body);
  ASSERT_FALSE(push.ok());
  ExpectCode(push.error(), ErrorCode::kDataLoss);
  EXPECT_EQ(ReadFileBytes(FileOf(a, false)), bytes);  // never overwritten
  auto enrolment = ServerEnroll(Sb, b.body.peer_id);
  ASSERT_TRUE(enrolment.ok());
  auto k = Boot(b, Sb, enrolment->C);
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_TRUE(k->Equals(enrolment->K));
  EXPECT_EQ(store_->List()->size(), 1u);
}

TEST_F(PartnerStoreTest, RecordMovedToAnotherNameIsRefused) {
  Partner a = MakePartner(), b = MakePartner();
  Enrol(a);
  Enrol(b);
  std::filesystem::copy_file(FileOf(a, false), FileOf(b, false),
                             std::filesystem::copy_options::overwrite_existing);
  Reopen();
  EXPECT_EQ(store_->load_errors().size(), 1u);
  EXPECT_TRUE(AnswerRandom(a).ok());
  auto moved = AnswerRandom(b);
  ASSERT_FALSE(moved.ok());
  ExpectCode(moved.error(), ErrorCode::kDataLoss);
}

TEST_F(PartnerStoreTest, FileNamesDoNotRevealPartnerIds) {
  std::vector<Partner> partners;
  for (int i = 0; i < 3; ++i) {
    partners.push_back(MakePartner());
    Enrol(partners.back());
  }
  ASSERT_TRUE(store_->ApplyKctl(Cert(partners[0], KctlAction::kDestroy, 1)).ok());
  const auto files = FilesUnder(partners_);
  EXPECT_EQ(files.size(), 3u);  // two live records and one tombstone; tmp/ is empty
  for (const std::string& file : files) {
    EXPECT_EQ(file.size(), 64u) << file;
    for (const Partner& p : partners) {
      const std::string id_hex = crypto::ToHex(p.id);
      EXPECT_EQ(file.find(id_hex.substr(0, 16)), std::string::npos) << file;
      EXPECT_EQ(file.find(crypto::ToHex(p.spki).substr(0, 16)), std::string::npos);
    }
  }
}

TEST_F(PartnerStoreTest, NoFileContainsTheSecretScalar) {
  std::vector<Partner> partners;
  std::vector<std::vector<uint8_t>> scalars;
  for (int i = 0; i < 3; ++i) {
    partners.push_back(MakePartner());
    Point S = Enrol(partners.back());
    SecretBytes s = ScalarOf(partners.back());
    auto key = PeerKeyFromScalar(s);  // the scalar found is the real one
    ASSERT_TRUE(key.ok());
    EXPECT_EQ(key->S, S);
    auto raw = s.Reveal(SecretAccess::Grant());
    scalars.emplace_back(raw.begin(), raw.end());
  }
  for (const Partner& p : partners) ASSERT_TRUE(AnswerRandom(p).ok());
  ASSERT_TRUE(store_->ApplyKctl(Cert(partners[1], KctlAction::kDisable, 1)).ok());
  ASSERT_TRUE(store_->ApplyKctl(Cert(partners[2], KctlAction::kDestroy, 1)).ok());
  Reopen();
  for (const std::string& file : FilesUnder(dir_.path())) {
    const auto bytes = ReadFileBytes(dir_.path() + "/" + file);
    for (const auto& s : scalars) {
      EXPECT_EQ(std::search(bytes.begin(), bytes.end(), s.begin(), s.end()), bytes.end())
          << "secret scalar found in " << file;
    }
  }
}

TEST_F(PartnerStoreTest, ConcurrentAnswersKeepTheCounterExact) {
  options_.rate_limit_answers = 1000;
  Reopen();
  Partner p = MakePartner(500);
  Point S = Enrol(p);
  auto enrolment = ServerEnroll(S, p.body.peer_id);
  ASSERT_TRUE(enrolment.ok());
  constexpr int kThreads = 4, kEach = 8;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        auto k = Boot(p, S, enrolment->C);
        if (k.ok() && k->Equals(enrolment->K)) good++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), kThreads * kEach);
  Reopen();
  auto stat = store_->Stat(p.id, p.spki);
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(stat->answered_total, uint64_t{kThreads * kEach});
  EXPECT_EQ(stat->credits_left, 500u - kThreads * kEach);
}

TEST_F(PartnerStoreTest, ListSummarisesPartnersAndLeftoversAreCleaned) {
  Partner a = MakePartner(4), b = MakePartner(9);
  Enrol(a);
  Enrol(b);
  ASSERT_TRUE(AnswerRandom(a).ok());
  WriteFileBytes(partners_ + "/tmp/0123456789abcdef", {9, 9, 9});
  Reopen();
  EXPECT_TRUE(FilesUnder(partners_ + "/tmp").empty());
  auto list = store_->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  for (const PartnerSummary& s : *list) {
    const bool is_a = s.partner_id == a.id;
    EXPECT_TRUE(is_a || s.partner_id == b.id);
    EXPECT_EQ(s.credits_left, is_a ? 3u : 9u);
    EXPECT_EQ(s.answered_total, is_a ? 1u : 0u);
    EXPECT_EQ(s.peer_id, a.body.peer_id);
    EXPECT_EQ(s.enrolled_unix, kStart);
    EXPECT_EQ(s.forward_count, 1u);
    EXPECT_FALSE(s.disabled);
    EXPECT_FALSE(s.destroyed);
  }
}

}  // namespace
}  // namespace onionmail::unseal
