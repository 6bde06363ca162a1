// The PartnerStore test fixture (real directory, file KeyStore, real ECMR maths
// and KCTL certificates), shared by the partner store test files.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "crypto/hex.h"
#include "crypto/random.h"
#include "tests/store/test_util.h"
#include "unseal/partner_store.h"

namespace onionmail::unseal {

using onionmail::testing::FilesUnder;
using onionmail::testing::ModeOf;
using onionmail::testing::ReadFileBytes;
using onionmail::testing::TempDir;
using onionmail::testing::WriteFileBytes;

inline constexpr uint64_t kStart = 1767225600;  // 2026-01-01T00:00:00Z

struct Partner {
  std::vector<uint8_t> spki;  // stands in for a DER SPKI (the store only hashes it)
  PartnerId id{};
  KctlKeyPair kctl;
  PushBody body;
};

inline Partner MakePartner(uint32_t credits = 100) {
  Partner p;
  p.spki.resize(294);
  crypto::RandomBytes(p.spki);
  p.id = PartnerIdOf(p.spki);
  auto kctl = GenerateKctlKey();
  EXPECT_TRUE(kctl.ok());
  p.kctl = std::move(*kctl);
  p.body.t = 2;
  p.body.n = 3;
  p.body.peer_id = "peer1.example.onion:25";
  p.body.kctl_pub = p.kctl.pub;
  p.body.credits_requested = credits;
  ForwardPeer other;
  other.address = "peer2.example.onion:25";
  other.tls_pin.fill(0x42);
  p.body.forward_peers.push_back(other);
  return p;
}

inline void ExpectCode(const Error& e, ErrorCode code) {
  EXPECT_EQ(e.code, code) << ErrorCodeName(e.code) << ": " << e.message;
}

class PartnerStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto keys = hsm::CreateFileKeyStore(dir_.path() + "/server.key");
    ASSERT_TRUE(keys.ok()) << keys.error().message;
    keys_ = std::move(*keys);
    options_.clock = [this] { return now_.load(); };
    Reopen();
  }

  void Reopen() {
    store_.reset();
    auto store = PartnerStore::Open(partners_, *keys_, options_);
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
  }

  Point Enrol(const Partner& p) {
    auto reply = store_->Enrol(p.id, p.spki, p.body);
    EXPECT_TRUE(reply.ok()) << reply.error().message;
    return reply.ok() ? reply->S : Point{};
  }

  // One full boot exchange: the server blinds, the store answers, the server
  // unblinds. Returns the server's K (or the store's error).
  Result<SecretBytes> Boot(const Partner& p, const Point& S, const Point& C) {
    auto blinded = ServerBlind(C, S);
    if (!blinded.ok()) return blinded.error();
    auto answer = store_->Answer(p.id, p.spki, blinded->X);
    if (!answer.ok()) return answer.error();
    return ServerUnblind(answer->Y, blinded->e, S, p.body.peer_id);
  }

  Result<DerkReply> AnswerRandom(const Partner& p) {
    auto x = GeneratePeerKey();  // any valid point will do
    if (!x.ok()) return x.error();
    return store_->Answer(p.id, p.spki, x->S);
  }

  KctlCert Cert(const Partner& p, KctlAction action, uint64_t serial, uint32_t credits = 0) {
    KctlCert cert;
    cert.server_id = p.id;
    cert.action = action;
    cert.serial = serial;
    cert.not_before = now_ - 60;
    cert.not_after = now_ + 3600;
    cert.credits = credits;
    auto signed_cert = SignKctl(p.kctl.seed, cert);
    EXPECT_TRUE(signed_cert.ok());
    return *signed_cert;
  }

  std::string FileOf(const Partner& p, bool tombstone) {
    auto hash = PartnerFileHashOf(*keys_, p.id, tombstone);
    EXPECT_TRUE(hash.ok());
    return partners_ + "/" + crypto::ToHex(*hash);
  }

  // The secret scalar, read back from the sealed record file with the key store.
  SecretBytes ScalarOf(const Partner& p) {
    auto hash = PartnerFileHashOf(*keys_, p.id, false);
    EXPECT_TRUE(hash.ok());
    auto record = OpenPartnerRecord(*keys_, ReadFileBytes(FileOf(p, false)), *hash);
    EXPECT_TRUE(record.ok()) << record.error().message;
    return record.ok() ? std::move(record->s) : SecretBytes();
  }

  TempDir dir_;
  std::string partners_ = dir_.path() + "/partners";
  std::unique_ptr<hsm::KeyStore> keys_;
  std::atomic<uint64_t> now_{kStart};
  PartnerStoreOptions options_;
  std::unique_ptr<PartnerStore> store_;
};

}  // namespace onionmail::unseal
