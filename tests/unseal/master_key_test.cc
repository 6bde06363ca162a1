// Tests for src/unseal/master_key.{h,cc} and the enrolment record it writes: enrolment with
// real ECMR peer keys, the unseal state machine, reload, tampering, re-enrolment, and that
// no secret reaches the disk or the wire.
#include "unseal/master_key.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "crypto/aead.h"
#include "crypto/kdf.h"
#include "crypto/random.h"
#include "hsm/key_store.h"
#include "tests/store/test_util.h"
#include "unseal/ecmr.h"
#include "unseal/enrolment_record.h"
#include "unseal/recovery.h"
#include "unseal/shamir.h"

namespace onionmail::unseal {
namespace {

using onionmail::testing::FilesUnder;
using onionmail::testing::ModeOf;
using onionmail::testing::ReadFileBytes;
using onionmail::testing::TempDir;
using onionmail::testing::WriteFileBytes;

std::vector<uint8_t> Reveal(const SecretBytes& s) {
  auto r = s.Reveal(SecretAccess::Grant());
  return {r.begin(), r.end()};
}

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

bool Contains(const std::vector<uint8_t>& hay, const std::vector<uint8_t>& needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

struct FakePeer {
  std::string peer_id;
  PeerKey key;
  std::array<uint8_t, 32> pin{};
};

class MasterKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto device = hsm::CreateFileKeyStore(KeyPath());
    ASSERT_TRUE(device.ok()) << device.error().message;
    device_ = std::move(*device);
    for (int i = 0; i < 4; ++i) {
      auto key = GeneratePeerKey();
      ASSERT_TRUE(key.ok());
      FakePeer p{"peer-" + std::to_string(i) + ".example.onion:25", std::move(*key), {}};
      crypto::RandomBytes(p.pin);
      peers_.push_back(std::move(p));
    }
    master_ = NewMasterKey();
  }

  std::string KeyPath() const { return key_dir_.path() + "/server.key"; }
  const std::string& StateDir() const { return state_.path(); }

  std::vector<EnrolPeer> EnrolList(size_t count = 4) const {
    std::vector<EnrolPeer> out;
    for (size_t i = 0; i < count; ++i)
      out.push_back({peers_[i].peer_id, peers_[i].pin, peers_[i].key.S});
    return out;
  }

  Result<EnrolSummary> EnrolMaster(const SecretBytes& m, int t = 3,
                                   const EnrolOptions& options = {}, size_t count = 4) {
    auto list = EnrolList(count);
    return Enrol(StateDir(), *device_, m, t, list, options);
  }

  std::unique_ptr<Unsealer> LoadUnsealer() {
    auto u = Unsealer::Load(StateDir(), *device_);
    EXPECT_TRUE(u.ok()) << u.error().message;
    return u.ok() ? std::move(*u) : nullptr;
  }

  // One DERK round trip with peer `i` answering with `answering_key`; X and Y are appended
  // to the transcript.
  Result<PeerOutcome> Ask(Unsealer& u, size_t i, const PeerKey* answering_key = nullptr) {
    auto x = u.BeginPeer(i);
    if (!x.ok()) return x.error();
    const PeerKey& key = answering_key ? *answering_key : peers_[i].key;
    auto y = PeerAnswer(key.s, *x);
    if (!y.ok()) return y.error();
    transcript_.emplace_back(x->begin(), x->end());
    transcript_.emplace_back(y->begin(), y->end());
    return u.AcceptAnswer(i, *y);
  }

  TempDir state_;
  TempDir key_dir_;
  std::unique_ptr<hsm::KeyStore> device_;
  std::vector<FakePeer> peers_;
  SecretBytes master_;
  std::vector<std::vector<uint8_t>> transcript_;
};

TEST_F(MasterKeyTest, AnyTwoPeersWithTheLocalShareUnsealThreeOfFive) {
  auto summary = EnrolMaster(master_);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->t, 3);
  EXPECT_EQ(summary->n, 5);
  for (size_t i = 0; i < 4; ++i) {
    for (size_t j = i + 1; j < 4; ++j) {
      auto u = LoadUnsealer();
      ASSERT_TRUE(u);
      auto first = Ask(*u, i);
      ASSERT_TRUE(first.ok()) << first.error().message;
      EXPECT_FALSE(first->unsealed);
      EXPECT_EQ(first->shares_held, 2);
      auto second = Ask(*u, j);
      ASSERT_TRUE(second.ok()) << second.error().message;
      EXPECT_TRUE(second->unsealed);
      EXPECT_FALSE(u->sealed());
      auto m = u->TakeMasterKey();
      ASSERT_TRUE(m.ok());
      EXPECT_TRUE(m->Equals(master_)) << "peers " << i << " and " << j;
    }
  }
}

TEST_F(MasterKeyTest, OnePeerAndTheLocalShareStaySealed) {
  ASSERT_TRUE(EnrolMaster(master_).ok());
  auto u = LoadUnsealer();
  ASSERT_TRUE(u);
  EXPECT_EQ(u->Status().shares_held, 1);
  ASSERT_TRUE(Ask(*u, 2).ok());
  const UnsealStatus status = u->Status();
  EXPECT_TRUE(status.sealed);
  EXPECT_EQ(status.shares_held, 2);
  EXPECT_EQ(status.t, 3);
  EXPECT_EQ(status.n, 5);
  ASSERT_EQ(status.peers.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(status.peers[i].peer_id, peers_[i].peer_id);
    EXPECT_EQ(status.peers[i].state, i == 2 ? PeerState::kAnswered : PeerState::kPending);
  }
  auto m = u->TakeMasterKey();
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(MasterKeyTest, WrongAnswerIsReportedAndOtherPeersStillUnseal) {
  ASSERT_TRUE(EnrolMaster(master_).ok());
  auto u = LoadUnsealer();
  ASSERT_TRUE(u);
  auto wrong = Ask(*u, 0, &peers_[1].key);  // peer 0 answers with another peer's key
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kDataLoss);
  UnsealStatus status = u->Status();
  EXPECT_EQ(status.peers[0].state, PeerState::kWrong);
  EXPECT_EQ(status.peers[0].last_error, "wrong answer");
  EXPECT_STREQ(PeerStateName(status.peers[0].state), "wrong");
  EXPECT_EQ(status.shares_held, 1);

  ASSERT_TRUE(Ask(*u, 1).ok());
  auto done = Ask(*u, 3);
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_TRUE(done->unsealed);
  status = u->Status();
  EXPECT_FALSE(status.sealed);
  EXPECT_EQ(status.peers[0].state, PeerState::kWrong);
  auto m = u->TakeMasterKey();
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->Equals(master_));
}

TEST_F(MasterKeyTest, AnswerThatIsNotACurvePointIsAWrongAnswer) {
  ASSERT_TRUE(EnrolMaster(master_).ok());
  auto u = LoadUnsealer();
  ASSERT_TRUE(u);
  ASSERT_TRUE(u->BeginPeer(0).ok());
  Point bogus{};
  bogus[0] = 0x04;
  auto r = u->AcceptAnswer(0, bogus);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(u->Status().peers[0].state, PeerState::kWrong);
  // The peer may be asked again; a right answer then counts.
  auto again = Ask(*u, 0);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->shares_held, 2);
}

TEST_F(MasterKeyTest, EveryBeginPeerDrawsAFreshXAndReplacesTheOldRequest) {
  ASSERT_TRUE(EnrolMaster(master_).ok());
  std::set<std::vector<uint8_t>> seen;
  auto u = LoadUnsealer();
  ASSERT_TRUE(u);
  auto x1 = u->BeginPeer(0);
  auto x2 = u->BeginPeer(0);
  ASSERT_TRUE(x1.ok() && x2.ok());
  seen.emplace(x1->begin(), x1->end());
  seen.emplace(x2->begin(), x2->end());
  auto reboot = LoadUnsealer();  // another boot
  ASSERT_TRUE(reboot);
  auto x3 = reboot->BeginPeer(0);
  ASSERT_TRUE(x3.ok());
  seen.emplace(x3->begin(), x3->end());
  EXPECT_EQ(seen.size(), 3u);

  // The first request was replaced: its answer no longer opens the share...
  auto y1 = PeerAnswer(peers_[0].key.s, *x1);
  ASSERT_TRUE(y1.ok());
  auto stale = u->AcceptAnswer(0, *y1);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kDataLoss);
  // ...and the used e is gone: the answer to the second X cannot be accepted any more.
  auto y2 = PeerAnswer(peers_[0].key.s, *x2);
  ASSERT_TRUE(y2.ok());
  auto late = u->AcceptAnswer(0, *y2);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, ErrorCode::kFailedPrecondition);
  // A fresh request then works.
  EXPECT_TRUE(Ask(*u, 0).ok());
}

TEST_F(MasterKeyTest, NoSecretReachesTheStateDirectoryOrTheTranscripts) {
  std::vector<SecretBytes> c;  // the enrolment scalars c_i, known only to the test
  for (int i = 0; i < 4; ++i) {
    auto k = GeneratePeerKey();  // a valid random scalar
    ASSERT_TRUE(k.ok());
    c.push_back(std::move(k->s));
  }
  EnrolOptions options;
  options.scalar_for_test = [&c](size_t i) { return c[i].Clone(); };
  ASSERT_TRUE(EnrolMaster(master_, 3, options).ok());
  // Two boots, every peer asked (one wrongly), so the transcripts cover every X and Y kind.
  for (int boot = 0; boot < 2; ++boot) {
    auto u = LoadUnsealer();
    ASSERT_TRUE(u);
    EXPECT_FALSE(Ask(*u, 0, &peers_[3].key).ok());
    ASSERT_TRUE(Ask(*u, 1).ok());
    ASSERT_TRUE(Ask(*u, 2).ok());
  }

  // Rebuild every secret from the peers' side: K_i = KDF(x(s_i * C_i), peer_id), shares.
  auto record = ReadEnrolmentRecord(StateDir(), *device_);
  ASSERT_TRUE(record.ok()) << record.error().message;
  std::vector<std::vector<uint8_t>> secrets{Reveal(master_)};
  for (size_t i = 0; i < 4; ++i) {
    const EnrolledPeer& p = record->peers[i];
    auto cg = PeerKeyFromScalar(c[i]);
    ASSERT_TRUE(cg.ok());
    EXPECT_EQ(p.C, cg->S) << "C_i = c_i * G";
    auto z = PeerAnswer(peers_[i].key.s, p.C);
    ASSERT_TRUE(z.ok());
    SecretBytes xz(SecretAccess::Grant(), std::span<const uint8_t>(z->data() + 1, 32));
    std::vector<uint8_t> info{'K'};
    info.insert(info.end(), p.peer_id.begin(), p.peer_id.end());
    auto k =
        crypto::HkdfSha256(xz, Bytes(kUnsealSalt),
                           std::string_view(reinterpret_cast<char*>(info.data()), info.size()), 32);
    ASSERT_TRUE(k.ok());
    auto share = crypto::AeadOpen(*k, p.encrypted_share, ShareAad(p.peer_id, p.x));
    ASSERT_TRUE(share.ok()) << "the test rebuilt K_i";
    secrets.push_back(Reveal(c[i]));
    secrets.push_back(Reveal(*k));
    secrets.push_back(Reveal(*share));
    auto y = Reveal(*share);
    secrets.emplace_back(y.begin() + 1, y.end());
  }
  auto local = device_->OpenRecord(record->local_sealed_share, Bytes(kLocalShareAad));
  ASSERT_TRUE(local.ok());
  secrets.push_back(Reveal(*local));
  auto local_y = Reveal(*local);
  secrets.emplace_back(local_y.begin() + 1, local_y.end());
  const size_t count = secrets.size();
  for (size_t i = 0; i < count; ++i) {
    auto digest = crypto::Sha256(secrets[i]);
    secrets.emplace_back(digest.begin(), digest.end());
  }

  std::vector<std::vector<uint8_t>> haystacks = transcript_;
  for (const std::string& f : FilesUnder(StateDir())) {
    haystacks.push_back(ReadFileBytes(StateDir() + "/" + f));
  }
  auto sealed = ReadFileBytes(EnrolmentPath(StateDir()));
  auto plaintext = device_->OpenRecord(sealed, Bytes(kEnrolmentAad));
  ASSERT_TRUE(plaintext.ok());
  haystacks.push_back(Reveal(*plaintext));  // even opened with the device
  // Positive control: the search does find what the record does hold (C_i, S_i).
  for (const EnrolledPeer& p : record->peers) {
    EXPECT_TRUE(Contains(haystacks.back(), std::vector<uint8_t>(p.C.begin(), p.C.end())));
    EXPECT_TRUE(Contains(haystacks.back(), std::vector<uint8_t>(p.S.begin(), p.S.end())));
  }
  EXPECT_GE(transcript_.size(), 12u);
  for (const auto& hay : haystacks) {
    for (const auto& secret : secrets) EXPECT_FALSE(Contains(hay, secret));
  }
  // What is stored is only the sealed record, private.
  EXPECT_EQ(FilesUnder(StateDir()), std::vector<std::string>{"unseal/enrolment"});
  EXPECT_EQ(ModeOf(EnrolmentPath(StateDir())), 0600u);
  EXPECT_EQ(ModeOf(UnsealDir(StateDir())), 0700u);
}

TEST_F(MasterKeyTest, ReloadWithTheDeviceReopenedFromDiskUnseals) {
  ASSERT_TRUE(EnrolMaster(master_).ok());
  device_.reset();
  auto device = hsm::OpenFileKeyStore(KeyPath());
  ASSERT_TRUE(device.ok());
  auto u = Unsealer::Load(StateDir(), **device);
  ASSERT_TRUE(u.ok()) << u.error().message;
  auto peers = (*u)->peers();
  ASSERT_EQ(peers.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(peers[i].index, i);
    EXPECT_EQ(peers[i].peer_id, peers_[i].peer_id);
    EXPECT_EQ(peers[i].tls_pin, peers_[i].pin);
  }
  ASSERT_TRUE(Ask(**u, 3).ok());
  ASSERT_TRUE(Ask(**u, 0).ok());
  auto m = (*u)->TakeMasterKey();
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->Equals(master_));
  auto again = (*u)->TakeMasterKey();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(MasterKeyTest, TamperedTruncatedOrForeignRecordIsDataLoss) {
  ASSERT_TRUE(EnrolMaster(master_).ok());
  const std::string path = EnrolmentPath(StateDir());
  const auto good = ReadFileBytes(path);
  for (size_t pos : {size_t{0}, good.size() / 2, good.size() - 1}) {
    auto bad = good;
    bad[pos] ^= 0x01;
    WriteFileBytes(path, bad);
    auto u = Unsealer::Load(StateDir(), *device_);
    ASSERT_FALSE(u.ok());
    EXPECT_EQ(u.error().code, ErrorCode::kDataLoss) << pos;
  }
  WriteFileBytes(path, std::vector<uint8_t>(good.begin(), good.end() - 1));
  auto truncated = Unsealer::Load(StateDir(), *device_);
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.error().code, ErrorCode::kDataLoss);

  WriteFileBytes(path, good);
  TempDir other;
  auto foreign = hsm::CreateFileKeyStore(other.path() + "/other.key");
  ASSERT_TRUE(foreign.ok());
  auto u = Unsealer::Load(StateDir(), **foreign);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().code, ErrorCode::kDataLoss);
  EXPECT_TRUE(Unsealer::Load(StateDir(), *device_).ok());
}

TEST_F(MasterKeyTest, LoadWithoutEnrolmentIsNotFound) {
  auto u = Unsealer::Load(StateDir(), *device_);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().code, ErrorCode::kNotFound);
}

TEST_F(MasterKeyTest, CommitmentMismatchKeepsTheServerSealed) {
  ASSERT_TRUE(EnrolMaster(master_).ok());
  auto record = ReadEnrolmentRecord(StateDir(), *device_);
  ASSERT_TRUE(record.ok());
  record->commitment[5] ^= 0x80;
  ASSERT_TRUE(WriteEnrolmentRecord(StateDir(), *device_, *record, /*replace=*/true).ok());
  auto u = LoadUnsealer();
  ASSERT_TRUE(u);
  ASSERT_TRUE(Ask(*u, 0).ok());
  auto r = Ask(*u, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
  EXPECT_NE(r.error().message.find("combined key does not match the commitment"),
            std::string::npos);
  const UnsealStatus status = u->Status();
  EXPECT_TRUE(status.sealed);
  EXPECT_EQ(status.last_error, "combined key does not match the commitment");
  EXPECT_FALSE(u->TakeMasterKey().ok());
}

TEST_F(MasterKeyTest, EnrolRefusesToOverwriteAnExistingRecord) {
  ASSERT_TRUE(EnrolMaster(master_).ok());
  const auto before = ReadFileBytes(EnrolmentPath(StateDir()));
  auto again = EnrolMaster(NewMasterKey());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  // Re-enrolment "with the same key" refuses another key.
  EnrolOptions same;
  same.mode = EnrolMode::kReEnrolSameKey;
  auto other_key = EnrolMaster(NewMasterKey(), 3, same);
  ASSERT_FALSE(other_key.ok());
  EXPECT_EQ(other_key.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(ReadFileBytes(EnrolmentPath(StateDir())), before);
  // kReplace overwrites whatever is there.
  EnrolOptions replace;
  replace.mode = EnrolMode::kReplace;
  SecretBytes fresh = NewMasterKey();
  ASSERT_TRUE(EnrolMaster(fresh, 2, replace, 2).ok());
  auto u = LoadUnsealer();
  ASSERT_TRUE(u);
  EXPECT_EQ(u->Status().n, 3);
  auto done = Ask(*u, 1);
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->unsealed);
  auto m = u->TakeMasterKey();
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->Equals(fresh));
}

TEST_F(MasterKeyTest, ReEnrolmentAfterRecoveryUnsealsToTheSameMasterKey) {
  ASSERT_TRUE(EnrolMaster(master_).ok());
  auto printed = ExportRecoveryShares(master_, 2, 3);
  ASSERT_TRUE(printed.ok());
  auto loaded = LoadUnsealer();  // the peers are gone; the device still opens the record
  ASSERT_TRUE(loaded);
  std::vector<SecretBytes> typed;
  typed.push_back(std::move((*printed)[2]));
  typed.push_back(std::move((*printed)[0]));
  auto recovered = ImportRecoveryShares(typed, loaded->commitment());
  ASSERT_TRUE(recovered.ok()) << recovered.error().message;

  // New peers (the two last fake peers with fresh keys), 2-of-3.
  for (size_t i = 2; i < 4; ++i) {
    auto key = GeneratePeerKey();
    ASSERT_TRUE(key.ok());
    peers_[i - 2] = FakePeer{"new-" + peers_[i].peer_id, std::move(*key), peers_[i].pin};
  }
  EnrolOptions same;
  same.mode = EnrolMode::kReEnrolSameKey;
  auto summary = EnrolMaster(*recovered, 2, same, 2);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->commitment, loaded->commitment());
  auto u = LoadUnsealer();
  ASSERT_TRUE(u);
  EXPECT_EQ(u->peers()[0].peer_id, peers_[0].peer_id);
  auto done = Ask(*u, 0);
  ASSERT_TRUE(done.ok()) << done.error().message;
  ASSERT_TRUE(done->unsealed);
  auto m = u->TakeMasterKey();
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->Equals(master_));
}

TEST_F(MasterKeyTest, EnrolRefusesBadParametersAndWritesNothing) {
  auto expect_invalid = [&](Result<EnrolSummary> r, const char* what) {
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << what;
  };
  expect_invalid(EnrolMaster(master_, 1), "t = 1");
  expect_invalid(EnrolMaster(master_, 6), "t > n");
  expect_invalid(EnrolMaster(SecretBytes(31)), "short master key");
  auto list = EnrolList();
  list[1].peer_id = list[0].peer_id;
  expect_invalid(Enrol(StateDir(), *device_, master_, 2, list), "duplicate peer_id");
  list = EnrolList();
  list[2].peer_id.clear();
  expect_invalid(Enrol(StateDir(), *device_, master_, 2, list), "empty peer_id");
  list = EnrolList();
  list[3].peer_id.assign(256, 'a');
  expect_invalid(Enrol(StateDir(), *device_, master_, 2, list), "long peer_id");
  list = EnrolList();
  list[0].S[10] ^= 0x01;
  expect_invalid(Enrol(StateDir(), *device_, master_, 2, list), "S off the curve");
  list = EnrolList();
  while (list.size() < 32) {
    list.push_back(list[0]);
    list.back().peer_id = "extra-" + std::to_string(list.size());
  }
  expect_invalid(Enrol(StateDir(), *device_, master_, 2, list), "n = 33");
  EXPECT_TRUE(FilesUnder(StateDir()).empty());
  list.pop_back();  // n = 32 is the largest sharing
  EXPECT_TRUE(Enrol(StateDir(), *device_, master_, 32, list).ok());
}

TEST_F(MasterKeyTest, MarkUnreachableIsShownAndDropsTheOutstandingRequest) {
  ASSERT_TRUE(EnrolMaster(master_).ok());
  auto u = LoadUnsealer();
  ASSERT_TRUE(u);
  auto x = u->BeginPeer(1);
  ASSERT_TRUE(x.ok());
  ASSERT_TRUE(u->MarkUnreachable(1, "connection timed out").ok());
  UnsealStatus status = u->Status();
  EXPECT_EQ(status.peers[1].state, PeerState::kUnreachable);
  EXPECT_EQ(status.peers[1].last_error, "connection timed out");
  auto y = PeerAnswer(peers_[1].key.s, *x);
  ASSERT_TRUE(y.ok());
  auto late = u->AcceptAnswer(1, *y);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_FALSE(u->MarkUnreachable(4, "no such peer").ok());

  // An answered peer keeps its state; a finished unseal refuses further requests.
  ASSERT_TRUE(Ask(*u, 0).ok());
  ASSERT_TRUE(u->MarkUnreachable(0, "late timeout").ok());
  EXPECT_EQ(u->Status().peers[0].state, PeerState::kAnswered);
  auto repeat = u->BeginPeer(0);
  ASSERT_FALSE(repeat.ok());
  EXPECT_EQ(repeat.error().code, ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(Ask(*u, 2).ok());
  auto after = u->BeginPeer(3);
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(MasterKeyTest, RecordDecoderRefusesMalformedPlaintext) {
  ASSERT_TRUE(EnrolMaster(master_).ok());
  auto record = ReadEnrolmentRecord(StateDir(), *device_);
  ASSERT_TRUE(record.ok());
  auto encoded = EncodeEnrolmentRecord(*record);
  ASSERT_TRUE(encoded.ok());
  auto decoded = DecodeEnrolmentRecord(*encoded);
  ASSERT_TRUE(decoded.ok());
  auto reencoded = EncodeEnrolmentRecord(*decoded);
  ASSERT_TRUE(reencoded.ok());
  EXPECT_EQ(*reencoded, *encoded);

  auto refuse = [](std::vector<uint8_t> bytes, const char* what) {
    auto r = DecodeEnrolmentRecord(bytes);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.error().code, ErrorCode::kDataLoss) << what;
  };
  auto trailing = *encoded;
  trailing.push_back(0);
  refuse(trailing, "trailing byte");
  refuse(std::vector<uint8_t>(encoded->begin(), encoded->end() - 1), "truncated");
  auto version = *encoded;
  version[0] = 2;
  refuse(version, "version");
  auto t_above_n = *encoded;
  t_above_n[1] = 6;
  refuse(t_above_n, "t > n");

  auto dup = *record;
  dup.peers[1].x = dup.peers[0].x;
  EXPECT_FALSE(EncodeEnrolmentRecord(dup).ok());
  auto bad_point = *record;
  bad_point.peers[0].C[1] ^= 0x01;
  EXPECT_FALSE(EncodeEnrolmentRecord(bad_point).ok());
}

}  // namespace
}  // namespace onionmail::unseal
