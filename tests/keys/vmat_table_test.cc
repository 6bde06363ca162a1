// Tests for keys::VmatTable over a file key store and real files in a temp
// state dir: add, look up, remove, list and count; persistence; the files'
// names, modes and sealing; bad files; a key store that refuses.
#include "keys/vmat_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/hex.h"
#include "tests/keys/sealed_file_fixture.h"
#include "tests/mail/test_onions.h"
#include "tests/store/test_util.h"

namespace onionmail::keys {
namespace {

using onionmail::testing::Bytes;
using onionmail::testing::ModeOf;
using onionmail::testing::ReadFileBytes;
using onionmail::testing::WriteFileBytes;
using test_fixture::CodeOf;
using test_fixture::Must;

const std::string kAlice = "alice@" + mail::kTestOnions[0];
const std::string kBob = "bob@" + mail::kTestOnions[1];

class VmatTableTest : public test_fixture::SealedFileTest {
 protected:
  void SetUp() override {
    SealedFileTest::SetUp();
    if (HasFatalFailure()) return;
    table_ = Make();
  }
  std::unique_ptr<VmatTable> Make() { return std::make_unique<VmatTable>(*keys_, dir_path_); }

  // The documented file id: hex(KeyedHash("vmat", alias)).
  std::string FileOf(const std::string& alias) {
    auto digest = file_keys_->KeyedHash("vmat", Bytes(alias));
    EXPECT_TRUE(digest.ok());
    return dir_path_ + "/" + (digest.ok() ? crypto::ToHex(*digest) : std::string());
  }
  // The documented sender file: <dir>-senders/hex(KeyedHash("vmat-sender", target)).
  std::string SenderFileOf(const std::string& target) {
    auto digest = file_keys_->KeyedHash("vmat-sender", Bytes(target));
    EXPECT_TRUE(digest.ok());
    return dir_path_ + "-senders/" + (digest.ok() ? crypto::ToHex(*digest) : std::string());
  }
  std::optional<std::string> Sender(const std::string& target) {
    return Must(Make()->SenderAlias(target));
  }
  std::optional<std::string> Lookup(const std::string& alias) {
    return Must(Make()->Lookup(alias));
  }

  const std::string dir_path_ = dir_.path() + "/vmat";
  std::unique_ptr<VmatTable> table_;
};

TEST_F(VmatTableTest, AnAddedAliasIsFoundByAnotherInstanceUntilRemoved) {
  EXPECT_EQ(Lookup("alice"), std::nullopt);
  EXPECT_EQ(Must(table_->Count()), 0u);
  ASSERT_TRUE(table_->Add("alice", kAlice).ok());
  ASSERT_TRUE(table_->Add("bob.b", kBob).ok());
  EXPECT_EQ(Lookup("alice"), kAlice);
  EXPECT_EQ(Lookup("bob.b"), kBob);
  EXPECT_EQ(Lookup("carol"), std::nullopt);
  EXPECT_EQ(Must(Make()->Count()), 2u);
  ASSERT_TRUE(Make()->Remove("alice").ok());
  EXPECT_EQ(Must(table_->Lookup("alice")), std::nullopt);
  EXPECT_EQ(Lookup("bob.b"), kBob);
  EXPECT_EQ(Must(table_->Count()), 1u);
}

TEST_F(VmatTableTest, AnAliasNeverMovesSilentlyAndRemovingNoneIsNotFound) {
  ASSERT_TRUE(table_->Add("alice", kAlice).ok());
  EXPECT_EQ(CodeOf(table_->Add("alice", kBob)), ErrorCode::kAlreadyExists);
  EXPECT_EQ(Lookup("alice"), kAlice);
  EXPECT_EQ(CodeOf(table_->Remove("carol")), ErrorCode::kNotFound);
}

TEST_F(VmatTableTest, BadAliasesAndTargetsAreRefusedBeforeAnyFileAccess) {
  for (const char* alias : {"", "Alice", "postmaster", "a..b", "team.list"}) {
    EXPECT_EQ(CodeOf(table_->Add(alias, kAlice)), ErrorCode::kInvalidArgument) << alias;
    EXPECT_EQ(CodeOf(table_->Lookup(alias)), ErrorCode::kInvalidArgument) << alias;
    EXPECT_EQ(CodeOf(table_->Remove(alias)), ErrorCode::kInvalidArgument) << alias;
  }
  for (const std::string& target :
       {std::string("alice"), std::string("alice@example.org"), "Alice@" + mail::kTestOnions[0]}) {
    EXPECT_EQ(CodeOf(table_->Add("alice", target)), ErrorCode::kInvalidArgument) << target;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_path_));
}

TEST_F(VmatTableTest, FilesArePrivateNamedByAKeyedHashAndHoldNothingInClear) {
  ASSERT_TRUE(table_->Add("secret-alias", kAlice).ok());
  EXPECT_EQ(ModeOf(dir_path_), 0700u);
  EXPECT_EQ(ModeOf(FileOf("secret-alias")), 0600u);
  const std::vector<uint8_t> bytes = ReadFileBytes(FileOf("secret-alias"));
  const std::string text(bytes.begin(), bytes.end());
  for (const std::string& clear :
       {std::string("secret"), std::string("alice"), mail::kTestOnions[0].substr(0, 16)}) {
    EXPECT_EQ(text.find(clear), std::string::npos) << clear;
  }
}

TEST_F(VmatTableTest, AFileCopiedToAnotherAliasOrCorruptIsDataLossAndCanBeRemoved) {
  ASSERT_TRUE(table_->Add("alice", kAlice).ok());
  std::filesystem::copy_file(FileOf("alice"), FileOf("mallory"));
  EXPECT_EQ(CodeOf(Make()->Lookup("mallory")), ErrorCode::kDataLoss);
  std::vector<uint8_t> bad = ReadFileBytes(FileOf("alice"));
  bad[bad.size() / 2] ^= 0x01;
  WriteFileBytes(FileOf("alice"), bad);
  EXPECT_EQ(CodeOf(Make()->Lookup("alice")), ErrorCode::kDataLoss);
  EXPECT_EQ(CodeOf(table_->Add("alice", kBob)), ErrorCode::kAlreadyExists);
  EXPECT_TRUE(Must(Make()->List()).empty()) << "files that do not open are skipped";
  ASSERT_TRUE(table_->Remove("alice").ok());
  ASSERT_TRUE(table_->Remove("mallory").ok());
  EXPECT_EQ(Must(table_->Count()), 0u);
  ASSERT_TRUE(table_->Add("alice", kBob).ok());
  EXPECT_EQ(Lookup("alice"), kBob);
}

TEST_F(VmatTableTest, ListGivesEveryAliasSortedWithItsTarget) {
  ASSERT_TRUE(table_->Add("zed", kBob).ok());
  ASSERT_TRUE(table_->Add("alice", kAlice).ok());
  ASSERT_TRUE(table_->Add("m.m", kAlice).ok());
  const std::vector<mail::VmatRecord> all = Must(Make()->List());
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].alias, "alice");
  EXPECT_EQ(all[0].target, kAlice);
  EXPECT_EQ(all[1].alias, "m.m");
  EXPECT_EQ(all[2].alias, "zed");
  EXPECT_EQ(all[2].target, kBob);
}

TEST_F(VmatTableTest, TheFirstAliasOfATargetSendsAndRemovingItPassesTheRoleOn) {
  EXPECT_EQ(Sender(kAlice), std::nullopt);
  ASSERT_TRUE(table_->Add("alice", kAlice).ok());
  ASSERT_TRUE(table_->Add("zz.alice", kAlice).ok());
  ASSERT_TRUE(table_->Add("bob.b", kBob).ok());
  EXPECT_EQ(Sender(kAlice), "alice");
  EXPECT_EQ(Sender(kBob), "bob.b");
  ASSERT_TRUE(table_->Remove("zz.alice").ok());  // not the sending alias: nothing changes
  EXPECT_EQ(Sender(kAlice), "alice");
  ASSERT_TRUE(table_->Add("zz.alice", kAlice).ok());
  ASSERT_TRUE(table_->Add("m.alice", kAlice).ok());
  ASSERT_TRUE(Make()->Remove("alice").ok());
  EXPECT_EQ(Sender(kAlice), "m.alice");  // the first other one in List() order
  ASSERT_TRUE(table_->Remove("m.alice").ok());
  EXPECT_EQ(Sender(kAlice), "zz.alice");
  ASSERT_TRUE(table_->Remove("zz.alice").ok());
  EXPECT_EQ(Sender(kAlice), std::nullopt);
  EXPECT_FALSE(std::filesystem::exists(SenderFileOf(kAlice)));
  EXPECT_EQ(Sender(kBob), "bob.b");
  EXPECT_EQ(Must(table_->Count()), 1u);  // sender files are not aliases
}

TEST_F(VmatTableTest, MakeSenderGivesAnAliasTheRoleAndAnUnknownAliasIsNotFound) {
  ASSERT_TRUE(table_->Add("alice", kAlice).ok());
  ASSERT_TRUE(table_->Add("m.alice", kAlice).ok());
  ASSERT_TRUE(table_->Add("bob.b", kBob).ok());
  EXPECT_EQ(Sender(kAlice), "alice");
  ASSERT_TRUE(table_->MakeSender("m.alice").ok());
  EXPECT_EQ(Sender(kAlice), "m.alice");  // durable: a new instance reads it
  EXPECT_EQ(Sender(kBob), "bob.b");      // another target's untouched
  ASSERT_TRUE(table_->MakeSender("m.alice").ok()) << "again: still ok";
  EXPECT_EQ(CodeOf(table_->MakeSender("carol")), ErrorCode::kNotFound);
  EXPECT_EQ(CodeOf(table_->MakeSender("Not An Alias")), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Sender(kAlice), "m.alice");
  ASSERT_TRUE(table_->Add("a.alice", kAlice).ok());  // a later alias does not take it
  EXPECT_EQ(Sender(kAlice), "m.alice");
  ASSERT_TRUE(table_->Remove("m.alice").ok());
  EXPECT_EQ(Sender(kAlice), "a.alice");  // passed on in List() order
}

TEST_F(VmatTableTest, SenderFilesArePrivateKeyedAndBoundToTheirTarget) {
  ASSERT_TRUE(table_->Add("secret-alias", kAlice).ok());
  ASSERT_TRUE(table_->Add("bob.b", kBob).ok());
  EXPECT_EQ(ModeOf(dir_path_ + "-senders"), 0700u);
  EXPECT_EQ(ModeOf(SenderFileOf(kAlice)), 0600u);
  const std::vector<uint8_t> bytes = ReadFileBytes(SenderFileOf(kAlice));
  const std::string text(bytes.begin(), bytes.end());
  for (const std::string& clear :
       {std::string("secret"), std::string("alice"), mail::kTestOnions[0].substr(0, 16)}) {
    EXPECT_EQ(text.find(clear), std::string::npos) << clear;
  }
  std::filesystem::copy_file(SenderFileOf(kAlice), SenderFileOf(kBob),
                             std::filesystem::copy_options::overwrite_existing);
  EXPECT_EQ(CodeOf(Make()->SenderAlias(kBob)), ErrorCode::kDataLoss);
  EXPECT_EQ(CodeOf(table_->SenderAlias("alice@example.org")), ErrorCode::kInvalidArgument);
}

TEST_F(VmatTableTest, AStaleSenderFileIsNoSenderAndTheNextAddReplacesIt) {
  ASSERT_TRUE(table_->Add("alice", kAlice).ok());
  std::filesystem::remove(FileOf("alice"));  // as if removed by a crash half-way
  EXPECT_EQ(Sender(kAlice), std::nullopt);
  ASSERT_TRUE(table_->Add("alice", kBob).ok());  // the alias now leads elsewhere
  EXPECT_EQ(Sender(kAlice), std::nullopt);
  EXPECT_EQ(Sender(kBob), "alice");
  ASSERT_TRUE(table_->Add("a2", kAlice).ok());
  EXPECT_EQ(Sender(kAlice), "a2");
}

TEST_F(VmatTableTest, AKeyStoreThatRefusesToSealLeavesNoAlias) {
  keys_->refuse_seal = true;
  EXPECT_FALSE(table_->Add("alice", kAlice).ok());
  keys_->refuse_seal = false;
  EXPECT_EQ(Lookup("alice"), std::nullopt);
  EXPECT_EQ(Must(table_->Count()), 0u);
}

TEST_F(VmatTableTest, ADeviceFaultOnLookupIsReturnedAsItIs) {
  ASSERT_TRUE(table_->Add("alice", kAlice).ok());
  keys_->open_fault = ErrorCode::kUnavailable;
  EXPECT_EQ(CodeOf(Make()->Lookup("alice")), ErrorCode::kUnavailable);
  EXPECT_EQ(CodeOf(Make()->List()), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace onionmail::keys
