// Tests for keys::BlockLists over a file key store and real files in a temp
// state dir: persistence, limits, strict decoding of the sealed files, the
// file modes, and the read cache (OpenRecord counted by a wrapper).
#include "keys/block_lists.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/keys/sealed_file_fixture.h"
#include "tests/store/test_util.h"

namespace onionmail::keys {
namespace {

using mail::BlockListOp;
using onionmail::testing::Bytes;
using onionmail::testing::ModeOf;
using onionmail::testing::ReadFileBytes;
using onionmail::testing::WriteFileBytes;
using test_fixture::CodeOf;
using test_fixture::Exists;
using test_fixture::InodeOf;
using test_fixture::Must;
using Entries = std::vector<std::string>;

const std::string kAlice(64, 'a');
const std::string kBob(64, 'b');

class BlockListsTest : public test_fixture::SealedFileTest {
 protected:
  void SetUp() override {
    SealedFileTest::SetUp();
    if (HasFatalFailure()) return;
    lists_ = Make();
  }

  std::unique_ptr<BlockLists> Make() { return std::make_unique<BlockLists>(*keys_, lists_dir_); }
  std::string FileOf(const std::string& id) const { return lists_dir_ + "/" + id; }

  // Writes `plaintext` sealed as the list of `id` (the documented format).
  void WriteSealed(const std::string& id, const std::vector<uint8_t>& plaintext) {
    WriteSealedFile(FileOf(id), "onionmail-blocklist-v1:" + id, plaintext);
  }

  static std::vector<uint8_t> Encoded(const Entries& list, uint8_t version = 1) {
    std::vector<uint8_t> out{version, static_cast<uint8_t>(list.size() >> 8),
                             static_cast<uint8_t>(list.size())};
    for (const std::string& e : list) {
      out.push_back(static_cast<uint8_t>(e.size()));
      out.insert(out.end(), e.begin(), e.end());
    }
    return out;
  }

  Entries Apply(BlockListOp op, std::string_view entry, const std::string& id = kAlice) {
    auto r = lists_->Apply(id, op, entry);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : Entries{};
  }

  ErrorCode EntriesError(const std::string& id) { return CodeOf(lists_->Entries(id)); }

  const std::string lists_dir_ = dir_.path() + "/blocklists";
  std::unique_ptr<BlockLists> lists_;
};

TEST_F(BlockListsTest, AddListDeleteClearRoundTripPersistsAcrossInstances) {
  EXPECT_EQ(Apply(BlockListOp::kList, ""), Entries{});
  EXPECT_FALSE(Exists(lists_dir_)) << "nothing is created before the first write";
  EXPECT_EQ(Apply(BlockListOp::kAdd, "spam@example.org"), Entries{"spam@example.org"});
  EXPECT_EQ(Apply(BlockListOp::kAdd, "@junk.test"), (Entries{"@junk.test", "spam@example.org"}));
  EXPECT_EQ(Must(Make()->Entries(kAlice)), (Entries{"@junk.test", "spam@example.org"}));
  EXPECT_EQ(Must(Make()->Entries(kBob)), Entries{}) << "lists are per mailbox";

  lists_ = Make();
  EXPECT_EQ(Apply(BlockListOp::kDelete, "@junk.test"), Entries{"spam@example.org"});
  EXPECT_EQ(Must(Make()->Entries(kAlice)), Entries{"spam@example.org"});
  EXPECT_EQ(Apply(BlockListOp::kClear, ""), Entries{});
  EXPECT_FALSE(Exists(FileOf(kAlice)));
  EXPECT_EQ(Must(Make()->Entries(kAlice)), Entries{});
  EXPECT_EQ(Apply(BlockListOp::kClear, ""), Entries{}) << "clearing no list is ok";
}

TEST_F(BlockListsTest, EntriesAreSortedAndAnEntryAlreadyThereWritesNothing) {
  for (const char* e : {"zed@b.test", "@a.test", "amy@b.test", "@c.test"}) {
    Apply(BlockListOp::kAdd, e);
  }
  const Entries sorted{"@a.test", "@c.test", "amy@b.test", "zed@b.test"};
  EXPECT_EQ(Must(lists_->Entries(kAlice)), sorted);
  const ino_t before = InodeOf(FileOf(kAlice));
  EXPECT_EQ(Apply(BlockListOp::kAdd, "amy@b.test"), sorted);
  EXPECT_EQ(Apply(BlockListOp::kDelete, "nobody@b.test"), sorted);
  EXPECT_EQ(InodeOf(FileOf(kAlice)), before) << "no rewrite";
  EXPECT_EQ(Must(Make()->Entries(kAlice)), sorted);
}

TEST_F(BlockListsTest, DeletingTheLastEntryRemovesTheFile) {
  Apply(BlockListOp::kAdd, "x@y.test");
  ASSERT_TRUE(Exists(FileOf(kAlice)));
  EXPECT_EQ(Apply(BlockListOp::kDelete, "x@y.test"), Entries{});
  EXPECT_FALSE(Exists(FileOf(kAlice)));
  EXPECT_TRUE(std::filesystem::is_empty(lists_dir_ + "/.tmp")) << "no temporary file is left";
}

TEST_F(BlockListsTest, AFullListRefusesAnotherEntry) {
  Entries full;
  for (size_t i = 0; i < mail::kMaxBlockEntries; ++i)
    full.push_back("u" + std::to_string(i) + "@x.test");
  std::sort(full.begin(), full.end());
  WriteSealed(kAlice, Encoded(full));
  EXPECT_EQ(Must(lists_->Entries(kAlice)), full);
  auto more = lists_->Apply(kAlice, BlockListOp::kAdd, "one@more.test");
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(Apply(BlockListOp::kAdd, full[5]), full) << "an entry already there is no addition";
  full.erase(full.begin());
  EXPECT_EQ(Apply(BlockListOp::kDelete, "u0@x.test").size(), mail::kMaxBlockEntries - 1);
  EXPECT_EQ(Apply(BlockListOp::kAdd, "one@more.test").size(), mail::kMaxBlockEntries);
  EXPECT_EQ(Must(Make()->Entries(kAlice)).size(), mail::kMaxBlockEntries);
}

TEST_F(BlockListsTest, AnEntryNotInCanonicalFormIsRefused) {
  for (const char* e : {"", "Bob@Example.org", "<bob@x.test>", " bob@x.test", "*@x.test", "bob",
                        "bob@", "bob@-x.test", "a@b@c.test"}) {
    for (BlockListOp op : {BlockListOp::kAdd, BlockListOp::kDelete}) {
      auto r = lists_->Apply(kAlice, op, e);
      ASSERT_FALSE(r.ok()) << e;
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << e;
    }
  }
  auto unknown = lists_->Apply(kAlice, static_cast<BlockListOp>(9), "");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(Exists(lists_dir_));
}

TEST_F(BlockListsTest, BlocksBySenderAddressAndByDomainButNotSubdomain) {
  Apply(BlockListOp::kAdd, "spam@example.org");
  Apply(BlockListOp::kAdd, "@junk.test");
  EXPECT_TRUE(Must(lists_->IsBlocked(kAlice, "spam@example.org")));
  EXPECT_TRUE(Must(lists_->IsBlocked(kAlice, "SPAM@Example.ORG")));
  EXPECT_FALSE(Must(lists_->IsBlocked(kAlice, "ham@example.org")));
  EXPECT_TRUE(Must(lists_->IsBlocked(kAlice, "anyone@junk.test")));
  EXPECT_FALSE(Must(lists_->IsBlocked(kAlice, "anyone@sub.junk.test")));
  EXPECT_FALSE(Must(lists_->IsBlocked(kBob, "spam@example.org"))) << "another mailbox";
}

TEST_F(BlockListsTest, TheEmptySenderIsNeverBlockedAndReadsNoFile) {
  std::filesystem::create_directories(lists_dir_);
  WriteFileBytes(FileOf(kAlice), Bytes("not a sealed list"));
  auto blocked = lists_->IsBlocked(kAlice, "");
  ASSERT_TRUE(blocked.ok()) << "the corrupt file was not read";
  EXPECT_FALSE(*blocked);
  EXPECT_EQ(keys_->opens, 0);
}

TEST_F(BlockListsTest, AFileCopiedToAnotherMailboxDoesNotOpen) {
  Apply(BlockListOp::kAdd, "spam@example.org");
  std::filesystem::copy_file(FileOf(kAlice), FileOf(kBob));
  EXPECT_EQ(EntriesError(kBob), ErrorCode::kDataLoss);
  auto blocked = lists_->IsBlocked(kBob, "spam@example.org");
  ASSERT_FALSE(blocked.ok());
  EXPECT_EQ(blocked.error().code, ErrorCode::kDataLoss);
  auto add = lists_->Apply(kBob, BlockListOp::kAdd, "x@y.test");
  ASSERT_FALSE(add.ok()) << "a list that does not open is not overwritten by an edit";
  EXPECT_EQ(add.error().code, ErrorCode::kDataLoss);
}

TEST_F(BlockListsTest, ACorruptOrTruncatedFileIsDataLoss) {
  Apply(BlockListOp::kAdd, "spam@example.org");
  const std::vector<uint8_t> good = ReadFileBytes(FileOf(kAlice));
  std::vector<std::vector<uint8_t>> bad = {{}, {good.begin(), good.end() - 1}, {good[0]}};
  for (size_t i = 0; i < good.size(); i += 7) {
    bad.push_back(good);
    bad.back()[i] ^= 0x01;
  }
  bad.push_back(good);
  bad.back().push_back(0);
  bad.emplace_back(300000, 0x42);  // larger than any list
  for (const auto& bytes : bad) {
    WriteFileBytes(FileOf(kAlice), bytes);
    EXPECT_EQ(CodeOf(Make()->Entries(kAlice)), ErrorCode::kDataLoss) << bytes.size();
  }
  // An edit does not replace what it cannot read; Clear does.
  EXPECT_FALSE(lists_->Apply(kAlice, BlockListOp::kDelete, "spam@example.org").ok());
  EXPECT_EQ(Apply(BlockListOp::kClear, ""), Entries{});
  EXPECT_EQ(Must(lists_->Entries(kAlice)), Entries{});
}

TEST_F(BlockListsTest, DecodingIsStrict) {
  WriteSealed(kAlice, Encoded({"@a.test", "b@c.test"}));
  EXPECT_EQ(Must(Make()->Entries(kAlice)), (Entries{"@a.test", "b@c.test"}));
  std::vector<std::vector<uint8_t>> bad = {
      {},
      {1, 0},
      Encoded({"@a.test"}, 2),           // version
      Encoded({"b@c.test", "@a.test"}),  // not sorted
      Encoded({"@a.test", "@a.test"}),   // duplicate
      Encoded({"B@c.test"}),             // not canonical
      Encoded({""}),                     // empty entry
      {1, 0x03, 0xe9},                   // count 1001
  };
  Entries too_many;
  for (size_t i = 0; i <= mail::kMaxBlockEntries; ++i)
    too_many.push_back("@d" + std::to_string(10000 + i) + ".test");
  bad.push_back(Encoded(too_many));
  auto trailing = Encoded({"@a.test"});
  trailing.push_back(0);
  bad.push_back(trailing);
  auto short_entry = Encoded({"@a.test"});
  short_entry.pop_back();
  bad.push_back(short_entry);
  auto missing_entry = Encoded({"@a.test"});
  missing_entry[2] = 2;
  bad.push_back(missing_entry);
  for (const auto& plain : bad) {
    WriteSealed(kAlice, plain);
    EXPECT_EQ(CodeOf(Make()->Entries(kAlice)), ErrorCode::kDataLoss) << plain.size();
  }
}

TEST_F(BlockListsTest, AMailboxIdThatIsNotLowerCaseHexIsRefused) {
  for (const std::string& id :
       {std::string(), std::string("ABCDEF"), std::string("../etc"), std::string("g1"),
        std::string(".tmp"), std::string(129, 'a'), std::string("ab/cd")}) {
    EXPECT_EQ(EntriesError(id), ErrorCode::kInvalidArgument) << id;
    EXPECT_EQ(CodeOf(lists_->Apply(id, BlockListOp::kAdd, "x@y.test")),
              ErrorCode::kInvalidArgument);
    EXPECT_EQ(CodeOf(lists_->IsBlocked(id, "x@y.test")), ErrorCode::kInvalidArgument);
    EXPECT_EQ(CodeOf(lists_->IsBlocked(id, "")), ErrorCode::kInvalidArgument);
    EXPECT_EQ(CodeOf(lists_->Remove(id)), ErrorCode::kInvalidArgument);
  }
  EXPECT_FALSE(Exists(lists_dir_));
  EXPECT_TRUE(lists_->Entries(std::string(128, 'f')).ok());
  EXPECT_TRUE(lists_->Entries("0").ok());
}

TEST_F(BlockListsTest, FilesArePrivateAndHoldNoEntryText) {
  Apply(BlockListOp::kAdd, "secret.sender@hidden.example");
  EXPECT_EQ(ModeOf(lists_dir_), 0700u);
  EXPECT_EQ(ModeOf(lists_dir_ + "/.tmp"), 0700u);
  EXPECT_EQ(ModeOf(FileOf(kAlice)), 0600u);
  const std::vector<uint8_t> bytes = ReadFileBytes(FileOf(kAlice));
  const std::string text(bytes.begin(), bytes.end());
  EXPECT_EQ(text.find("secret.sender"), std::string::npos);
  EXPECT_EQ(text.find("hidden.example"), std::string::npos);
}

TEST_F(BlockListsTest, RemoveDeletesTheListAndIsOkWhenThereIsNone) {
  EXPECT_TRUE(lists_->Remove(kAlice).ok());
  Apply(BlockListOp::kAdd, "x@y.test");
  Apply(BlockListOp::kAdd, "x@y.test", kBob);
  ASSERT_TRUE(lists_->Remove(kAlice).ok());
  EXPECT_FALSE(Exists(FileOf(kAlice)));
  EXPECT_EQ(Must(lists_->Entries(kAlice)), Entries{});
  EXPECT_FALSE(Must(lists_->IsBlocked(kAlice, "x@y.test")));
  EXPECT_TRUE(Must(lists_->IsBlocked(kBob, "x@y.test")));
  EXPECT_TRUE(lists_->Remove(kAlice).ok());
}

TEST_F(BlockListsTest, AnUnchangedFileIsNotOpenedAgainAndAMissingOneNever) {
  EXPECT_FALSE(Must(lists_->IsBlocked(kAlice, "x@y.test")));
  EXPECT_EQ(keys_->opens, 0) << "no list: no OpenRecord";
  Apply(BlockListOp::kAdd, "x@y.test");
  const int after_write = keys_->opens;
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE(Must(lists_->IsBlocked(kAlice, "x@y.test")));
    EXPECT_FALSE(Must(lists_->IsBlocked(kAlice, "z@y.test")));
  }
  EXPECT_EQ(keys_->opens, after_write + 1) << "one read, then the cache";
  EXPECT_EQ(lists_->cached_mailboxes(), 1u);
}

TEST_F(BlockListsTest, AChangeByAnotherInstanceIsPickedUp) {
  Apply(BlockListOp::kAdd, "x@y.test");
  EXPECT_FALSE(Must(lists_->IsBlocked(kAlice, "new@y.test")));  // cached now
  auto other = Make();
  ASSERT_TRUE(other->Apply(kAlice, BlockListOp::kAdd, "new@y.test").ok());
  EXPECT_TRUE(Must(lists_->IsBlocked(kAlice, "new@y.test")));
  ASSERT_TRUE(other->Apply(kAlice, BlockListOp::kDelete, "x@y.test").ok());
  EXPECT_FALSE(Must(lists_->IsBlocked(kAlice, "x@y.test")));
  ASSERT_TRUE(other->Remove(kAlice).ok());
  EXPECT_FALSE(Must(lists_->IsBlocked(kAlice, "new@y.test")));
}

TEST_F(BlockListsTest, TheCacheIsBounded) {
  const size_t n = BlockLists::kMaxCachedMailboxes + 1;
  std::vector<std::string> ids;
  for (size_t i = 0; i < n; ++i) {
    char id[17];
    std::snprintf(id, sizeof(id), "%016zx", i);
    ids.emplace_back(id);
    WriteSealed(ids.back(), Encoded({"x@y.test"}));
  }
  for (const std::string& id : ids) {
    ASSERT_TRUE(Must(lists_->IsBlocked(id, "x@y.test")));
    EXPECT_LE(lists_->cached_mailboxes(), BlockLists::kMaxCachedMailboxes);
  }
  EXPECT_GE(lists_->cached_mailboxes(), 1u);
}

TEST_F(BlockListsTest, ConcurrentChecksAndEditsAgree) {
  Apply(BlockListOp::kAdd, "always@y.test");
  std::atomic<bool> wrong{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto r = lists_->IsBlocked(kAlice, "always@y.test");
        if (!r.ok() || !*r) wrong = true;
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(lists_->Apply(kAlice, BlockListOp::kAdd, "e" + std::to_string(i) + "@y.test").ok());
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(wrong);
  EXPECT_EQ(Must(lists_->Entries(kAlice)).size(), 21u);
}

}  // namespace
}  // namespace onionmail::keys
