// Tests for keys::MailingLists over a file key store and real files in a
// temp state dir: persistence, the limits, remote members (no user check,
// stored and loaded, untouched by RemoveUser), sealing and strict decoding of
// the list files, RemoveUser, and the read cache (OpenRecord counted by a
// wrapper). The permission rules are mail::ApplyListOp's (tested with it);
// here only enough of them to see that they apply.
#include "keys/mailing_lists.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "crypto/hex.h"
#include "tests/keys/sealed_file_fixture.h"
#include "tests/mail/test_onions.h"
#include "tests/store/test_util.h"

namespace onionmail::keys {
namespace {

using mail::ListOp;
using mail::ListRecord;
using onionmail::testing::Bytes;
using onionmail::testing::ModeOf;
using onionmail::testing::ReadFileBytes;
using onionmail::testing::WriteFileBytes;
using test_fixture::CodeOf;
using test_fixture::Exists;
using test_fixture::InodeOf;
using test_fixture::Must;
using Members = std::vector<std::string>;

const std::vector<std::string>& kOnions = mail::kTestOnions;

// The documented encoding; `flags` is appended unless nullopt (version 2).
std::vector<uint8_t> Encoded(const std::string& name, const std::string& owner,
                             const Members& members, uint8_t version = 1,
                             std::optional<uint8_t> flags = std::nullopt) {
  std::vector<uint8_t> out{version};
  auto put = [&out](const std::string& s) {
    out.push_back(static_cast<uint8_t>(s.size()));
    out.insert(out.end(), s.begin(), s.end());
  };
  put(name);
  put(owner);
  out.push_back(static_cast<uint8_t>(members.size() >> 8));
  out.push_back(static_cast<uint8_t>(members.size()));
  for (const std::string& m : members) put(m);
  if (flags) out.push_back(*flags);
  return out;
}

class MailingListsTest : public test_fixture::SealedFileTest {
 protected:
  void SetUp() override {
    SealedFileTest::SetUp();
    if (HasFatalFailure()) return;
    lists_ = Make();
  }

  std::unique_ptr<MailingLists> Make() {
    return std::make_unique<MailingLists>(*keys_, lists_dir_);
  }

  // The documented file id: hex(KeyedHash("list", name)).
  std::string IdOf(const std::string& name) {
    auto digest = file_keys_->KeyedHash("list", Bytes(name));
    EXPECT_TRUE(digest.ok());
    return digest.ok() ? crypto::ToHex(*digest) : std::string();
  }
  std::string FileOf(const std::string& name) { return lists_dir_ + "/" + IdOf(name); }

  // Writes `plaintext` sealed as the file of the list `name` (the documented format).
  void WriteSealed(const std::string& name, const std::vector<uint8_t>& plaintext) {
    const std::string id = IdOf(name);
    WriteSealedFile(lists_dir_ + "/" + id, "onionmail-list-v1:" + id, plaintext);
  }

  // The plaintext of the list file of `name`, opened as the documented format says.
  std::vector<uint8_t> OpenPlaintext(const std::string& name) {
    const std::string id = IdOf(name);
    auto plain = file_keys_->OpenRecord(ReadFileBytes(lists_dir_ + "/" + id),
                                        Bytes("onionmail-list-v1:" + id));
    EXPECT_TRUE(plain.ok());
    if (!plain.ok()) return {};
    auto bytes = plain->Reveal(SecretAccess::Grant());
    return {bytes.begin(), bytes.end()};
  }

  Result<ListRecord> Try(ListOp op, const std::string& name, const std::string& actor,
                         const std::string& user = "") {
    return lists_->Apply(name, actor, op, user, [this](std::string_view u) -> Result<bool> {
      return users_.count(std::string(u)) > 0;
    });
  }
  ListRecord Apply(ListOp op, const std::string& name, const std::string& actor,
                   const std::string& user = "") {
    return Must(Try(op, name, actor, user));
  }
  std::optional<ListRecord> Stored(const std::string& name) { return Must(Make()->Load(name)); }

  const std::string lists_dir_ = dir_.path() + "/lists";
  std::set<std::string> users_{"alice", "bob", "carol", "dave"};
  std::unique_ptr<MailingLists> lists_;
};

TEST_F(MailingListsTest, CreateAddRemoveLeaveDestroyPersistAcrossInstances) {
  EXPECT_EQ(Stored("team"), std::nullopt);
  EXPECT_FALSE(Exists(lists_dir_)) << "nothing is created before the first write";
  EXPECT_EQ(Apply(ListOp::kCreate, "team", "alice"), (ListRecord{"alice", {"alice"}}));
  EXPECT_EQ(Stored("team"), (ListRecord{"alice", {"alice"}}));
  Apply(ListOp::kAdd, "team", "alice", "carol");
  EXPECT_EQ(Apply(ListOp::kAdd, "team", "alice", "bob"),
            (ListRecord{"alice", {"alice", "bob", "carol"}}));
  EXPECT_EQ(Stored("team"), (ListRecord{"alice", {"alice", "bob", "carol"}}));
  EXPECT_EQ(Stored("other"), std::nullopt) << "lists are per name";

  lists_ = Make();
  EXPECT_EQ(Apply(ListOp::kRemove, "team", "alice", "carol"),
            (ListRecord{"alice", {"alice", "bob"}}));
  EXPECT_EQ(Apply(ListOp::kLeave, "team", "bob"), (ListRecord{"alice", {"alice"}}));
  EXPECT_EQ(Stored("team"), (ListRecord{"alice", {"alice"}}));
  EXPECT_EQ(Apply(ListOp::kDestroy, "team", "alice"), ListRecord{});
  EXPECT_FALSE(Exists(FileOf("team")));
  EXPECT_TRUE(std::filesystem::is_empty(lists_dir_ + "/.tmp")) << "no temporary file is left";
  EXPECT_EQ(Stored("team"), std::nullopt);
  EXPECT_EQ(CodeOf(Try(ListOp::kShow, "team", "alice")), ErrorCode::kNotFound);
}

TEST_F(MailingListsTest, ThePermissionRulesOfApplyListOpApply) {
  Apply(ListOp::kCreate, "team", "alice");
  Apply(ListOp::kAdd, "team", "alice", "bob");
  EXPECT_EQ(CodeOf(Try(ListOp::kCreate, "team", "bob")), ErrorCode::kAlreadyExists);
  EXPECT_EQ(CodeOf(Try(ListOp::kShow, "team", "carol")), ErrorCode::kPermissionDenied);
  EXPECT_EQ(CodeOf(Try(ListOp::kAdd, "team", "bob", "carol")), ErrorCode::kPermissionDenied);
  EXPECT_EQ(CodeOf(Try(ListOp::kDestroy, "team", "bob")), ErrorCode::kPermissionDenied);
  EXPECT_EQ(CodeOf(Try(ListOp::kLeave, "team", "alice")), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(CodeOf(Try(ListOp::kAdd, "team", "alice", "Bad Name")), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Apply(ListOp::kPost, "team", "bob"), (ListRecord{"alice", {"alice", "bob"}}));
  EXPECT_EQ(Stored("team"), (ListRecord{"alice", {"alice", "bob"}}));
}

TEST_F(MailingListsTest, AddingAUserThatDoesNotExistIsFailedPreconditionAndWritesNothing) {
  Apply(ListOp::kCreate, "team", "alice");
  const ino_t before = InodeOf(FileOf("team"));
  EXPECT_EQ(CodeOf(Try(ListOp::kAdd, "team", "alice", "nobody")), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(InodeOf(FileOf("team")), before);
  EXPECT_EQ(Stored("team"), (ListRecord{"alice", {"alice"}}));
  EXPECT_EQ(CodeOf(Try(ListOp::kAdd, "team", "bob", "nobody")), ErrorCode::kPermissionDenied)
      << "the permission rules come first: a non-member learns nothing of users";
  auto failing = lists_->Apply("team", "alice", ListOp::kAdd, "bob", [](std::string_view) {
    return Result<bool>(MakeError(ErrorCode::kUnavailable, "key store busy"));
  });
  EXPECT_EQ(CodeOf(failing), ErrorCode::kUnavailable) << "an error of the check is passed on";
  EXPECT_EQ(Stored("team"), (ListRecord{"alice", {"alice"}}));
}

TEST_F(MailingListsTest, ARemoteMemberIsAddedWithoutAUserCheckAndSurvivesAReload) {
  Apply(ListOp::kCreate, "team", "alice");
  const std::string remote = "bob@" + kOnions[0];
  std::vector<std::string> asked;
  auto added = lists_->Apply("team", "alice", ListOp::kAdd, remote,
                             [&asked](std::string_view u) -> Result<bool> {
                               asked.emplace_back(u);
                               return false;
                             });
  ASSERT_TRUE(added.ok()) << added.error().message;
  EXPECT_EQ(*added, (ListRecord{"alice", {"alice", remote}}));
  EXPECT_TRUE(asked.empty()) << "no user of this server is looked up for a remote member";
  EXPECT_EQ(Stored("team"), (ListRecord{"alice", {"alice", remote}})) << "another instance";
  lists_ = Make();
  EXPECT_EQ(Apply(ListOp::kPost, "team", "alice").members, (Members{"alice", remote}));
  EXPECT_EQ(CodeOf(Try(ListOp::kAdd, "team", "alice", "nobody")), ErrorCode::kFailedPrecondition)
      << "a local member is still checked";
  EXPECT_EQ(CodeOf(Try(ListOp::kAdd, "team", "alice", "bob@other.onion")),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(Apply(ListOp::kRemove, "team", "alice", remote), (ListRecord{"alice", {"alice"}}));
  EXPECT_EQ(Stored("team"), (ListRecord{"alice", {"alice"}}));
}

TEST_F(MailingListsTest, TheLargestListOfRemoteMembersIsStoredAndLoaded) {
  Apply(ListOp::kCreate, "team", "alice");
  Members expected = {"alice"};
  for (size_t i = 1; i < mail::kMaxListMembers; ++i) {
    std::string local = std::to_string(1000 + i);
    local.resize(64, 'l');
    const std::string member = local + "@" + kOnions[i % mail::kMaxListRemoteServers];
    ASSERT_EQ(member.size(), mail::kMaxListMemberBytes);
    Apply(ListOp::kAdd, "team", "alice", member);
    expected.push_back(member);
  }
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(Stored("team"), (ListRecord{"alice", expected}));
  EXPECT_EQ(CodeOf(Try(ListOp::kAdd, "team", "alice", "bob")), ErrorCode::kResourceExhausted);
}

TEST_F(MailingListsTest, ANinthRemoteServerIsResourceExhaustedAndWritesNothing) {
  Apply(ListOp::kCreate, "team", "alice");
  for (size_t i = 0; i < mail::kMaxListRemoteServers; ++i) {
    Apply(ListOp::kAdd, "team", "alice", "bob@" + kOnions[i]);
  }
  const ino_t before = InodeOf(FileOf("team"));
  EXPECT_EQ(CodeOf(Try(ListOp::kAdd, "team", "alice", "bob@" + kOnions[8])),
            ErrorCode::kResourceExhausted);
  EXPECT_EQ(InodeOf(FileOf("team")), before);
  Apply(ListOp::kAdd, "team", "alice", "carol@" + kOnions[0]);  // a server already there
}

TEST_F(MailingListsTest, OpsThatChangeNothingWriteNothing) {
  Apply(ListOp::kCreate, "team", "alice");
  Apply(ListOp::kAdd, "team", "alice", "bob");
  const ino_t before = InodeOf(FileOf("team"));
  Apply(ListOp::kShow, "team", "bob");
  Apply(ListOp::kPost, "team", "alice");
  Apply(ListOp::kAdd, "team", "alice", "bob");
  Apply(ListOp::kRemove, "team", "alice", "carol");
  EXPECT_EQ(InodeOf(FileOf("team")), before) << "no rewrite";
}

TEST_F(MailingListsTest, ABadListNameIsRefusedBeforeAnyFileAccess) {
  for (const std::string& name :
       {std::string(), std::string("Team"), std::string("team.list"), std::string("../etc"),
        std::string(".tmp"), std::string("a b"), std::string(mail::kMaxListNameBytes + 1, 'a')}) {
    EXPECT_EQ(CodeOf(lists_->Load(name)), ErrorCode::kInvalidArgument) << name;
    EXPECT_EQ(CodeOf(Try(ListOp::kCreate, name, "alice")), ErrorCode::kInvalidArgument) << name;
    EXPECT_EQ(CodeOf(lists_->FileIdFor(name)), ErrorCode::kInvalidArgument) << name;
  }
  EXPECT_FALSE(Exists(lists_dir_));
  EXPECT_EQ(keys_->opens, 0);
  EXPECT_EQ(CodeOf(lists_->RemoveUser("Bob")), ErrorCode::kInvalidArgument);
}

TEST_F(MailingListsTest, FilesArePrivateNamedByAKeyedHashAndHoldNoNameOrMemberInClear) {
  users_.insert("secret-member");
  Apply(ListOp::kCreate, "hidden-team", "alice");
  Apply(ListOp::kAdd, "hidden-team", "alice", "secret-member");
  EXPECT_EQ(Must(lists_->FileIdFor("hidden-team")), IdOf("hidden-team"));
  EXPECT_EQ(ModeOf(lists_dir_), 0700u);
  EXPECT_EQ(ModeOf(lists_dir_ + "/.tmp"), 0700u);
  EXPECT_EQ(ModeOf(FileOf("hidden-team")), 0600u);
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(lists_dir_)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{".tmp", IdOf("hidden-team")}));
  const std::vector<uint8_t> bytes = ReadFileBytes(FileOf("hidden-team"));
  const std::string text(bytes.begin(), bytes.end());
  for (const char* clear : {"hidden", "team", "alice", "secret-member"}) {
    EXPECT_EQ(text.find(clear), std::string::npos) << clear;
  }
}

TEST_F(MailingListsTest, AFileMovedOrCopiedToAnotherListsIdDoesNotOpen) {
  Apply(ListOp::kCreate, "team", "alice");
  std::filesystem::copy_file(FileOf("team"), FileOf("other"));
  EXPECT_EQ(CodeOf(lists_->Load("other")), ErrorCode::kDataLoss);
  EXPECT_EQ(CodeOf(Try(ListOp::kPost, "other", "alice")), ErrorCode::kDataLoss);
  EXPECT_EQ(CodeOf(Try(ListOp::kCreate, "other", "bob")), ErrorCode::kDataLoss)
      << "a list that does not open is not overwritten";
  std::filesystem::rename(FileOf("team"), FileOf("third"));
  EXPECT_EQ(CodeOf(lists_->Load("third")), ErrorCode::kDataLoss);
  EXPECT_EQ(Stored("team"), std::nullopt);
}

TEST_F(MailingListsTest, AFileHoldingAnotherListsNameIsDataLoss) {
  WriteSealed("team", Encoded("other", "alice", {"alice"}));
  EXPECT_EQ(CodeOf(Make()->Load("team")), ErrorCode::kDataLoss);
  EXPECT_EQ(CodeOf(Try(ListOp::kPost, "team", "alice")), ErrorCode::kDataLoss);
  WriteSealed("team", Encoded("team", "alice", {"alice"}));
  EXPECT_EQ(Stored("team"), (ListRecord{"alice", {"alice"}}));
}

TEST_F(MailingListsTest, ACorruptOrTruncatedFileIsDataLoss) {
  Apply(ListOp::kCreate, "team", "alice");
  Apply(ListOp::kAdd, "team", "alice", "bob");
  const std::vector<uint8_t> good = ReadFileBytes(FileOf("team"));
  std::vector<std::vector<uint8_t>> bad = {{}, {good.begin(), good.end() - 1}, {good[0]}};
  for (size_t i = 0; i < good.size(); i += 5) {
    bad.push_back(good);
    bad.back()[i] ^= 0x01;
  }
  bad.push_back(good);
  bad.back().push_back(0);
  bad.emplace_back(300000, 0x42);  // larger than any list
  for (const auto& bytes : bad) {
    WriteFileBytes(FileOf("team"), bytes);
    EXPECT_EQ(CodeOf(Make()->Load("team")), ErrorCode::kDataLoss) << bytes.size();
  }
  EXPECT_EQ(CodeOf(Try(ListOp::kDestroy, "team", "alice")), ErrorCode::kDataLoss);
  EXPECT_EQ(CodeOf(Try(ListOp::kAdd, "team", "alice", "carol")), ErrorCode::kDataLoss);
  EXPECT_EQ(ReadFileBytes(FileOf("team")), bad.back()) << "an edit does not replace it";
}

TEST_F(MailingListsTest, DecodingIsStrict) {
  WriteSealed("team", Encoded("team", "alice", {"alice", "bob"}));
  EXPECT_EQ(Stored("team"), (ListRecord{"alice", {"alice", "bob"}}));
  WriteSealed("team", Encoded("team", "alice", {"alice", "bob", "bob@" + kOnions[0]}));
  EXPECT_EQ(Stored("team"), (ListRecord{"alice", {"alice", "bob", "bob@" + kOnions[0]}}));
  std::vector<std::vector<uint8_t>> bad = {
      {},
      {1},
      Encoded("team", "alice", {"alice"}, 2),                       // 2 without flags
      Encoded("team", "alice", {"alice"}, 3, 1),                    // version
      Encoded("team", "alice", {"alice"}, 0),                       // version
      Encoded("team", "alice", {"alice"}, 2, 0),                    // 2 with no flag
      Encoded("team", "alice", {"alice"}, 2, 3),                    // both flags
      Encoded("team", "alice", {"alice"}, 2, 0x80),                 // an unknown flag
      Encoded("team", "alice", {"alice"}, 1, 1),                    // 1 with flags
      Encoded("team", "alice", {"bob", "alice"}),                   // not sorted
      Encoded("team", "alice", {"alice", "alice"}),                 // duplicate
      Encoded("team", "alice", {"bob"}),                            // owner not a member
      Encoded("team", "alice", {}),                                 // no members
      Encoded("team", "alice", {"alice", "Bob"}),                   // not a valid local part
      Encoded("team", "alice", {"alice", ""}),                      // empty member
      Encoded("team", "", {""}),                                    // no owner
      Encoded("team.list", "alice", {"alice"}),                     // not a list name
      Encoded("", "alice", {"alice"}),                              // no name
      Encoded("team", "alice", {"alice", "bob@other.onion"}),       // not a v3 onion
      Encoded("team", "alice", {"alice", "Bob@" + kOnions[0]}),     // not lower case
      Encoded("team", "bob@" + kOnions[0], {"bob@" + kOnions[0]}),  // a remote owner
  };
  Members nine_servers = {"alice"};
  for (const std::string& onion : kOnions) nine_servers.push_back("bob@" + onion);
  std::sort(nine_servers.begin(), nine_servers.end());
  bad.push_back(Encoded("team", "alice", nine_servers));
  Members too_many;
  for (size_t i = 0; i <= mail::kMaxListMembers; ++i)
    too_many.push_back("u" + std::to_string(1000 + i));
  too_many.insert(too_many.begin(), "alice");
  bad.push_back(Encoded("team", "alice", too_many));
  auto trailing = Encoded("team", "alice", {"alice"});
  trailing.push_back(0);
  bad.push_back(trailing);
  auto short_member = Encoded("team", "alice", {"alice"});
  short_member.pop_back();
  bad.push_back(short_member);
  auto missing_member = Encoded("team", "alice", {"alice"});
  missing_member[missing_member.size() - 7] = 2;  // count 2, one member
  bad.push_back(missing_member);
  for (const auto& plain : bad) {
    WriteSealed("team", plain);
    EXPECT_EQ(CodeOf(Make()->Load("team")), ErrorCode::kDataLoss) << plain.size();
  }
}

TEST_F(MailingListsTest, AnAnnounceListIsVersion2WithItsFlagAndAnOpenOneStaysVersion1) {
  Apply(ListOp::kCreate, "news", "alice");
  Apply(ListOp::kAdd, "news", "alice", "bob");
  EXPECT_EQ(Apply(ListOp::kAnnounce, "news", "alice"),
            (ListRecord{"alice", {"alice", "bob"}, true}));
  EXPECT_EQ(Stored("news"), (ListRecord{"alice", {"alice", "bob"}, true}));
  EXPECT_EQ(CodeOf(Try(ListOp::kPost, "news", "bob")), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(Apply(ListOp::kPost, "news", "alice"), (ListRecord{"alice", {"alice", "bob"}, true}));
  lists_ = Make();
  EXPECT_EQ(Apply(ListOp::kOpen, "news", "alice"), (ListRecord{"alice", {"alice", "bob"}}));
  EXPECT_EQ(Stored("news"), (ListRecord{"alice", {"alice", "bob"}}));

  // The documented layouts: read from files written by hand.
  WriteSealed("news", Encoded("news", "alice", {"alice", "bob"}, 2, 1));
  EXPECT_EQ(Stored("news"), (ListRecord{"alice", {"alice", "bob"}, true}));
  WriteSealed("news", Encoded("news", "alice", {"alice", "bob"}, 1));
  EXPECT_EQ(Stored("news"), (ListRecord{"alice", {"alice", "bob"}}));
}

TEST_F(MailingListsTest, AModeratedListIsVersion2WithFlag2AndBothFlagsAreDataLoss) {
  Apply(ListOp::kCreate, "team", "alice");
  Apply(ListOp::kAdd, "team", "alice", "bob");
  const ListRecord moderated{"alice", {"alice", "bob"}, false, true};
  EXPECT_EQ(Apply(ListOp::kModerate, "team", "alice"), moderated);
  EXPECT_EQ(OpenPlaintext("team"), Encoded("team", "alice", {"alice", "bob"}, 2, 2));
  lists_ = Make();
  EXPECT_EQ(Stored("team"), moderated);
  EXPECT_EQ(Apply(ListOp::kPost, "team", "bob"), (ListRecord{"alice", {"alice"}, false, true}));
  EXPECT_EQ(Stored("team"), moderated) << "a held post changes nothing";
  EXPECT_EQ(Apply(ListOp::kOpen, "team", "alice"), (ListRecord{"alice", {"alice", "bob"}}));
  EXPECT_EQ(OpenPlaintext("team"), Encoded("team", "alice", {"alice", "bob"}, 1));
  for (uint8_t flags : {3, 4, 0x82}) {
    WriteSealed("team", Encoded("team", "alice", {"alice", "bob"}, 2, flags));
    EXPECT_EQ(CodeOf(Make()->Load("team")), ErrorCode::kDataLoss) << int{flags};
  }
}

TEST_F(MailingListsTest, TheWrittenLayoutIsVersion1WithoutAFlagAnd2WithOne) {
  // What an older server reads: an open list is written exactly as before.
  Apply(ListOp::kCreate, "news", "alice");
  EXPECT_EQ(OpenPlaintext("news"), Encoded("news", "alice", {"alice"}, 1));
  Apply(ListOp::kAnnounce, "news", "alice");
  EXPECT_EQ(OpenPlaintext("news"), Encoded("news", "alice", {"alice"}, 2, 1));
}

TEST_F(MailingListsTest, AKeyStoreRefusalIsUnavailableNeverTheListsPermissionDenied) {
  Apply(ListOp::kCreate, "team", "alice");
  Apply(ListOp::kAdd, "team", "alice", "bob");
  // kPermissionDenied is the list's own answer: carol is no member.
  EXPECT_EQ(CodeOf(Try(ListOp::kPost, "team", "carol")), ErrorCode::kPermissionDenied);
  keys_->refuse_seal = true;
  EXPECT_EQ(CodeOf(Try(ListOp::kAnnounce, "team", "alice")), ErrorCode::kUnavailable);
  EXPECT_EQ(CodeOf(Try(ListOp::kLeave, "team", "bob")), ErrorCode::kUnavailable);
  EXPECT_EQ(CodeOf(Try(ListOp::kCreate, "other", "alice")), ErrorCode::kUnavailable);
  // Reads seal nothing; the rule's own refusal is still kPermissionDenied.
  EXPECT_EQ(Apply(ListOp::kShow, "team", "bob"), (ListRecord{"alice", {"alice", "bob"}}));
  EXPECT_EQ(CodeOf(Try(ListOp::kAnnounce, "team", "bob")), ErrorCode::kPermissionDenied);
  keys_->refuse_seal = false;
  EXPECT_EQ(Stored("team"), (ListRecord{"alice", {"alice", "bob"}})) << "nothing was written";
  EXPECT_EQ(ListStoreFault(MakeError(ErrorCode::kNotFound, "x")).code, ErrorCode::kNotFound);
}

TEST_F(MailingListsTest, RemoveUserFailsOnADeviceFaultRatherThanSkipTheList) {
  // A list skipped would keep the deleted user as a member, and a user made
  // again under that name would inherit it: the deletion must fail instead.
  Apply(ListOp::kCreate, "team", "alice");
  Apply(ListOp::kAdd, "team", "alice", "bob");
  keys_->open_fault = ErrorCode::kUnavailable;
  lists_ = Make();
  EXPECT_EQ(CodeOf(lists_->RemoveUser("bob")), ErrorCode::kUnavailable);
  keys_->open_fault = ErrorCode::kDataLoss;
  EXPECT_EQ(Stored("team"), (ListRecord{"alice", {"alice", "bob"}}));
  ASSERT_TRUE(lists_->RemoveUser("bob").ok());
  EXPECT_EQ(Stored("team"), (ListRecord{"alice", {"alice"}}));
}

TEST_F(MailingListsTest, TheServerHoldsAtMostMaxListsLists) {
  Apply(ListOp::kCreate, "team", "alice");
  // Any regular file counts; empty ones are enough to reach the limit.
  for (size_t i = 1; i < mail::kMaxLists; ++i) {
    char id[17];
    std::snprintf(id, sizeof(id), "%016zx", i);
    WriteFileBytes(lists_dir_ + "/" + id, {});
  }
  EXPECT_EQ(Must(lists_->Count()), mail::kMaxLists);
  EXPECT_EQ(CodeOf(Try(ListOp::kCreate, "one-more", "bob")), ErrorCode::kResourceExhausted);
  EXPECT_FALSE(Exists(FileOf("one-more")));
  EXPECT_EQ(CodeOf(Try(ListOp::kCreate, "team", "bob")), ErrorCode::kAlreadyExists);
  Apply(ListOp::kAdd, "team", "alice", "bob");  // edits are not creations
  Apply(ListOp::kDestroy, "team", "alice");
  EXPECT_EQ(Apply(ListOp::kCreate, "one-more", "bob"), (ListRecord{"bob", {"bob"}}));
  EXPECT_EQ(Must(lists_->Count()), mail::kMaxLists);
}

TEST_F(MailingListsTest, RemoveUserLeavesEveryListAndDestroysTheListsItOwns) {
  Apply(ListOp::kCreate, "team", "alice");
  Apply(ListOp::kAdd, "team", "alice", "bob");
  Apply(ListOp::kAdd, "team", "alice", "carol");
  Apply(ListOp::kCreate, "bobs", "bob");
  Apply(ListOp::kAdd, "bobs", "bob", "alice");
  Apply(ListOp::kCreate, "other", "carol");
  const ino_t other_before = InodeOf(FileOf("other"));
  EXPECT_EQ(Stored("team"), (ListRecord{"alice", {"alice", "bob", "carol"}}));  // cached

  ASSERT_TRUE(lists_->RemoveUser("bob").ok());
  EXPECT_EQ(Must(lists_->Load("team")), (ListRecord{"alice", {"alice", "carol"}}));
  EXPECT_EQ(Must(lists_->Load("bobs")), std::nullopt);
  EXPECT_FALSE(Exists(FileOf("bobs")));
  EXPECT_EQ(Must(lists_->Load("other")), (ListRecord{"carol", {"carol"}}));
  EXPECT_EQ(InodeOf(FileOf("other")), other_before) << "a list without the user is not rewritten";
  EXPECT_TRUE(lists_->RemoveUser("bob").ok()) << "again: nothing to do";
  EXPECT_TRUE(Make()->RemoveUser("nobody").ok());
  EXPECT_TRUE(std::filesystem::is_empty(lists_dir_ + "/.tmp"));
}

TEST_F(MailingListsTest, RemoveUserRemovesOnlyTheLocalUserNeverARemoteNamesake) {
  const std::string remote_bob = "bob@" + kOnions[0];
  Apply(ListOp::kCreate, "team", "alice");
  Apply(ListOp::kAdd, "team", "alice", "bob");
  Apply(ListOp::kAdd, "team", "alice", remote_bob);
  Apply(ListOp::kCreate, "remote", "carol");
  Apply(ListOp::kAdd, "remote", "carol", remote_bob);
  const ino_t remote_before = InodeOf(FileOf("remote"));
  ASSERT_TRUE(lists_->RemoveUser("bob").ok());
  EXPECT_EQ(Stored("team"), (ListRecord{"alice", {"alice", remote_bob}}));
  EXPECT_EQ(Stored("remote"), (ListRecord{"carol", {remote_bob, "carol"}}));
  EXPECT_EQ(InodeOf(FileOf("remote")), remote_before);
  EXPECT_EQ(CodeOf(lists_->RemoveUser(remote_bob)), ErrorCode::kInvalidArgument)
      << "the admin removes users of this server only";
  EXPECT_EQ(Stored("team"), (ListRecord{"alice", {"alice", remote_bob}}));
}

TEST_F(MailingListsTest, RemoveUserSkipsAListThatDoesNotOpenAndIsOkWithNoLists) {
  EXPECT_TRUE(lists_->RemoveUser("bob").ok()) << "no lists directory";
  Apply(ListOp::kCreate, "team", "alice");
  Apply(ListOp::kAdd, "team", "alice", "bob");
  Apply(ListOp::kCreate, "damaged", "bob");
  WriteFileBytes(FileOf("damaged"), Bytes("not a sealed list"));
  ASSERT_TRUE(lists_->RemoveUser("bob").ok());
  EXPECT_EQ(Stored("team"), (ListRecord{"alice", {"alice"}}));
  EXPECT_TRUE(Exists(FileOf("damaged")));
}

TEST_F(MailingListsTest, AnUnchangedFileIsNotOpenedAgainAndAMissingOneNever) {
  EXPECT_EQ(CodeOf(Try(ListOp::kPost, "team", "alice")), ErrorCode::kNotFound);
  EXPECT_EQ(keys_->opens, 0) << "no list: no OpenRecord";
  Apply(ListOp::kCreate, "team", "alice");
  Apply(ListOp::kAdd, "team", "alice", "bob");
  const int after_write = keys_->opens;
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(Apply(ListOp::kPost, "team", "bob").members, (Members{"alice", "bob"}));
    EXPECT_EQ(CodeOf(Try(ListOp::kPost, "team", "carol")), ErrorCode::kPermissionDenied);
  }
  EXPECT_EQ(keys_->opens, after_write + 1) << "one read, then the cache";
  EXPECT_EQ(lists_->cached_lists(), 1u);
}

TEST_F(MailingListsTest, AChangeByAnotherInstanceIsPickedUp) {
  Apply(ListOp::kCreate, "team", "alice");
  EXPECT_EQ(CodeOf(Try(ListOp::kPost, "team", "bob")), ErrorCode::kPermissionDenied);  // cached
  auto other = Make();
  auto exists = [](std::string_view) -> Result<bool> { return true; };
  ASSERT_TRUE(other->Apply("team", "alice", ListOp::kAdd, "bob", exists).ok());
  EXPECT_EQ(Apply(ListOp::kPost, "team", "bob").members, (Members{"alice", "bob"}));
  ASSERT_TRUE(other->RemoveUser("bob").ok());
  EXPECT_EQ(CodeOf(Try(ListOp::kPost, "team", "bob")), ErrorCode::kPermissionDenied);
  ASSERT_TRUE(other->Apply("team", "alice", ListOp::kDestroy, "", exists).ok());
  EXPECT_EQ(CodeOf(Try(ListOp::kPost, "team", "alice")), ErrorCode::kNotFound);
  EXPECT_EQ(lists_->cached_lists(), 0u);
}

TEST_F(MailingListsTest, TheCacheIsBounded) {
  const size_t n = MailingLists::kMaxCachedLists + 1;
  std::vector<std::string> names;
  for (size_t i = 0; i < n; ++i) {
    names.push_back("l" + std::to_string(i));
    WriteSealed(names.back(), Encoded(names.back(), "alice", {"alice"}));
  }
  for (const std::string& name : names) {
    ASSERT_EQ(Apply(ListOp::kPost, name, "alice").owner, "alice");
    EXPECT_LE(lists_->cached_lists(), MailingLists::kMaxCachedLists);
  }
  EXPECT_GE(lists_->cached_lists(), 1u);
}

TEST_F(MailingListsTest, ConcurrentPostsAndEditsAgree) {
  Apply(ListOp::kCreate, "team", "alice");
  std::atomic<bool> wrong{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto r = lists_->Apply("team", "alice", ListOp::kPost, "", nullptr);
        if (!r.ok() || r->owner != "alice") wrong = true;
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    users_.insert("u" + std::to_string(i));
    ASSERT_TRUE(Try(ListOp::kAdd, "team", "alice", "u" + std::to_string(i)).ok());
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(wrong);
  EXPECT_EQ(Stored("team")->members.size(), 21u);
}

}  // namespace
}  // namespace onionmail::keys
