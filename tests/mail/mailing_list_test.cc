// mail::ApplyListOp, the list names, the members (local and remote) and the
// header fields (mail/mailing_list.h).
#include "mail/mailing_list.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "tests/mail/test_onions.h"

namespace onionmail::mail {
namespace {

const ListRecord kTeam{"alice", {"alice", "bob", "carol"}};

const std::vector<std::string>& kOnions = mail::kTestOnions;
// kOnions[0] with one checksum character changed.
constexpr char kBadChecksumOnion[] =
    "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3iead.onion";

Result<std::optional<ListRecord>> Apply(ListOp op, std::string_view actor,
                                        std::string_view user = "") {
  return ApplyListOp(kTeam, op, actor, user);
}

ErrorCode CodeOf(const Result<std::optional<ListRecord>>& r) {
  EXPECT_FALSE(r.ok());
  return r.ok() ? ErrorCode::kInternal : r.error().code;
}

TEST(ListNameTest, ListAddressesMapToTheirName) {
  EXPECT_EQ(ListNameOf("team.list"), "team");
  EXPECT_EQ(ListNameOf("a.b.list"), "a.b");
  EXPECT_EQ(ListNameOf("team"), std::nullopt);
  EXPECT_EQ(ListNameOf(".list"), std::nullopt);
  EXPECT_EQ(ListNameOf("x.list.list"), std::nullopt);
  EXPECT_EQ(ListNameOf("bad..name.list"), std::nullopt);
}

TEST(ListNameTest, NamesAreLocalPartsThatLeaveRoomForTheSuffix) {
  EXPECT_TRUE(ValidListName("team"));
  EXPECT_TRUE(ValidListName(std::string(kMaxListNameBytes, 'a')));
  EXPECT_FALSE(ValidListName(std::string(kMaxListNameBytes + 1, 'a')));
  EXPECT_FALSE(ValidListName("Team"));
  EXPECT_FALSE(ValidListName("x.list"));
  EXPECT_FALSE(ValidListName(""));
  EXPECT_FALSE(ValidListName("a b"));
}

TEST(ListNameTest, CanonicalNameAcceptsWhatUsersType) {
  const std::string domain = "abc.onion";
  EXPECT_EQ(CanonicalListName("team", domain), "team");
  EXPECT_EQ(CanonicalListName("TEAM", domain), "team");
  EXPECT_EQ(CanonicalListName("team.list", domain), "team");
  EXPECT_EQ(CanonicalListName("Team.List@ABC.onion", domain), "team");
  EXPECT_EQ(CanonicalListName("team@abc.onion", domain), std::nullopt);
  EXPECT_EQ(CanonicalListName("team.list@other.onion", domain), std::nullopt);
  EXPECT_EQ(CanonicalListName("te am", domain), std::nullopt);
  EXPECT_EQ(CanonicalListName("", domain), std::nullopt);
}

TEST(ListMemberTest, LocalPartsAndAddressesAtV3OnionsAreMembers) {
  EXPECT_TRUE(ValidListMember("bob"));
  EXPECT_FALSE(IsRemoteMember("bob"));
  const std::string remote = "bob@" + kOnions[0];
  EXPECT_TRUE(ValidListMember(remote));
  EXPECT_TRUE(IsRemoteMember(remote));
  const std::string longest = std::string(64, 'l') + "@" + kOnions[1];
  EXPECT_EQ(longest.size(), kMaxListMemberBytes);
  EXPECT_TRUE(ValidListMember(longest));
  EXPECT_TRUE(ValidListMember("a.b_c-d@" + kOnions[2]));
}

TEST(ListMemberTest, AddressesNotAtAV3OnionInLowerCaseAreRefused) {
  const std::vector<std::string> refused = {
      "",
      "Bob",
      "bob@",
      "@" + kOnions[0],
      "bob@exampleonionaddress.onion",          // not a v3 onion name
      "bob@example.org",                        // not an onion
      "bob@expyuzz4wqqyqhjn.onion",             // a v2 onion name
      std::string("bob@") + kBadChecksumOnion,  // bad checksum
      "Bob@" + kOnions[0],                      // upper case local part
      "bob@AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYP3KEAD.ONION",
      "bob@" + kOnions[0] + ".",
      "bob@" + kOnions[0] + "@" + kOnions[1],  // two '@'
      "bob@@" + kOnions[0],
      "bad..user@" + kOnions[0],
      ".bob@" + kOnions[0],
      "bob+tag@" + kOnions[0],
      "bob @" + kOnions[0],
      std::string(65, 'l') + "@" + kOnions[0],  // local part too long
      "<bob@" + kOnions[0] + ">",
  };
  for (const std::string& member : refused) EXPECT_FALSE(ValidListMember(member)) << member;
}

TEST(ListMemberTest, ThisServersOwnDomainIsNeverKeptWithAnAt) {
  const std::string& own = kOnions[0];
  std::string upper_own = own;
  for (char& c : upper_own) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  EXPECT_EQ(CanonicalListMember("bob@" + own, own), "bob");
  EXPECT_EQ(CanonicalListMember("Bob@" + upper_own, own), "bob");
  EXPECT_EQ(CanonicalListMember("BOB", own), "bob");
  EXPECT_EQ(CanonicalListMember("Bob@" + upper_own, "exampleonionaddress.onion"), "bob@" + own);
  EXPECT_EQ(CanonicalListMember("bob@exampleonionaddress.onion", "ExampleOnionAddress.onion"),
            "bob");
  EXPECT_EQ(CanonicalListMember("bob@other.onion", own), std::nullopt);
  EXPECT_EQ(CanonicalListMember("bad..user@" + own, own), std::nullopt);
  EXPECT_EQ(CanonicalListMember("@" + own, own), std::nullopt);
  EXPECT_EQ(CanonicalListMember("bob@" + own + "@" + own, own), std::nullopt);
  EXPECT_EQ(CanonicalListMember("bob@", ""), std::nullopt);
  EXPECT_EQ(CanonicalListMember(std::string("bob@") + kBadChecksumOnion, own), std::nullopt);
}

TEST(ListRecordTest, WellFormedNeedsSortedUniqueMembersHoldingTheOwner) {
  EXPECT_TRUE(WellFormedListRecord(kTeam));
  EXPECT_FALSE(WellFormedListRecord({"alice", {"bob", "alice"}}));
  EXPECT_FALSE(WellFormedListRecord({"alice", {"alice", "alice"}}));
  EXPECT_FALSE(WellFormedListRecord({"dave", {"alice", "bob"}}));
  EXPECT_FALSE(WellFormedListRecord({"alice", {}}));
  EXPECT_FALSE(WellFormedListRecord({"alice", {"Alice"}}));
  ListRecord big{"a0", {}};
  for (size_t i = 0; i <= kMaxListMembers; ++i) big.members.push_back("a" + std::to_string(i));
  std::sort(big.members.begin(), big.members.end());
  EXPECT_FALSE(WellFormedListRecord(big));
}

TEST(ListRecordTest, RemoteMembersAreWellFormedFromAtMostEightServers) {
  ListRecord record{"alice", {"alice", "bob", "bob@" + kOnions[1], "carol@" + kOnions[0]}};
  EXPECT_TRUE(WellFormedListRecord(record));
  EXPECT_FALSE(WellFormedListRecord({"bob@" + kOnions[0], {"alice", "bob@" + kOnions[0]}}));
  EXPECT_FALSE(WellFormedListRecord({"alice", {"alice", "bob@other.onion"}}));
  EXPECT_FALSE(WellFormedListRecord({"alice", {"alice", "Bob@" + kOnions[0]}}));
  EXPECT_FALSE(WellFormedListRecord({"alice", {"bob@" + kOnions[0], "alice"}}));  // unsorted
  ListRecord eight{"alice", {"alice"}};
  for (size_t i = 0; i < kMaxListRemoteServers; ++i) {
    eight.members.push_back("bob@" + kOnions[i]);
    eight.members.push_back("carol@" + kOnions[i]);
  }
  std::sort(eight.members.begin(), eight.members.end());
  EXPECT_TRUE(WellFormedListRecord(eight));
  ListRecord nine = eight;
  nine.members.push_back("bob@" + kOnions[kMaxListRemoteServers]);
  std::sort(nine.members.begin(), nine.members.end());
  EXPECT_FALSE(WellFormedListRecord(nine));
}

TEST(ApplyListOpTest, CreateMakesTheActorOwnerAndOnlyMember) {
  auto r = ApplyListOp(std::nullopt, ListOp::kCreate, "dave", "");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(**r, (ListRecord{"dave", {"dave"}}));
  EXPECT_EQ(CodeOf(Apply(ListOp::kCreate, "dave")), ErrorCode::kAlreadyExists);
}

TEST(ApplyListOpTest, EveryOpButCreateOnAMissingListIsNotFound) {
  for (ListOp op : {ListOp::kShow, ListOp::kAdd, ListOp::kRemove, ListOp::kLeave, ListOp::kDestroy,
                    ListOp::kPost}) {
    EXPECT_EQ(CodeOf(ApplyListOp(std::nullopt, op, "alice", "bob")), ErrorCode::kNotFound);
  }
}

TEST(ApplyListOpTest, MembersShowAndPostNonMembersAreDeniedWhateverTheOp) {
  for (ListOp op : {ListOp::kShow, ListOp::kPost}) {
    auto r = Apply(op, "bob");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(**r, kTeam);
  }
  for (ListOp op : {ListOp::kShow, ListOp::kAdd, ListOp::kRemove, ListOp::kLeave, ListOp::kDestroy,
                    ListOp::kPost}) {
    EXPECT_EQ(CodeOf(Apply(op, "mallory", "mallory")), ErrorCode::kPermissionDenied);
  }
}

TEST(ApplyListOpTest, OnlyTheOwnerAddsKeepingMembersSorted) {
  auto r = Apply(ListOp::kAdd, "alice", "bea");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->members, (std::vector<std::string>{"alice", "bea", "bob", "carol"}));
  auto again = Apply(ListOp::kAdd, "alice", "bob");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(**again, kTeam);
  EXPECT_EQ(CodeOf(Apply(ListOp::kAdd, "bob", "dave")), ErrorCode::kPermissionDenied);
  EXPECT_EQ(CodeOf(Apply(ListOp::kAdd, "alice", "Not Valid")), ErrorCode::kInvalidArgument);
}

TEST(ApplyListOpTest, AFullListRefusesANewMember) {
  ListRecord full{"a000", {}};
  for (size_t i = 0; i < kMaxListMembers; ++i) {
    char name[8];
    std::snprintf(name, sizeof name, "a%03zu", i);
    full.members.push_back(name);
  }
  ASSERT_TRUE(WellFormedListRecord(full));
  auto r = ApplyListOp(full, ListOp::kAdd, "a000", "zed");
  EXPECT_EQ(CodeOf(r), ErrorCode::kResourceExhausted);
  auto known = ApplyListOp(full, ListOp::kAdd, "a000", "a001");
  EXPECT_TRUE(known.ok());
}

TEST(ApplyListOpTest, TheOwnerAddsRemoteMembersKeepingMembersSorted) {
  const std::string dave = "dave@" + kOnions[0];
  auto r = Apply(ListOp::kAdd, "alice", dave);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->members, (std::vector<std::string>{"alice", "bob", "carol", dave}));
  EXPECT_TRUE(WellFormedListRecord(**r));
  const std::string bob_remote = "bob@" + kOnions[1];
  auto both = ApplyListOp(**r, ListOp::kAdd, "alice", bob_remote);
  ASSERT_TRUE(both.ok());
  EXPECT_EQ((*both)->members,
            (std::vector<std::string>{"alice", "bob", bob_remote, "carol", dave}));
  auto again = ApplyListOp(**both, ListOp::kAdd, "alice", dave);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(**again, **both);
  EXPECT_EQ(CodeOf(Apply(ListOp::kAdd, "bob", dave)), ErrorCode::kPermissionDenied);
}

TEST(ApplyListOpTest, AddressesThatAreNotMembersAreInvalidArguments) {
  for (const std::string& user :
       {std::string("bob@exampleonionaddress.onion"), std::string("bob@example.org"),
        std::string("bob@expyuzz4wqqyqhjn.onion"), std::string("bob@") + kBadChecksumOnion,
        "Bob@" + kOnions[0], "bob@" + kOnions[0] + "@" + kOnions[1]}) {
    EXPECT_EQ(CodeOf(Apply(ListOp::kAdd, "alice", user)), ErrorCode::kInvalidArgument) << user;
    EXPECT_EQ(CodeOf(Apply(ListOp::kRemove, "alice", user)), ErrorCode::kInvalidArgument) << user;
  }
  // The actor is a user of this server, never a remote address.
  EXPECT_EQ(CodeOf(Apply(ListOp::kShow, "alice@" + kOnions[0])), ErrorCode::kInvalidArgument);
}

TEST(ApplyListOpTest, ANinthRemoteServerIsRefusedAsAFullList) {
  ListRecord eight{"alice", {"alice"}};
  for (size_t i = 0; i < kMaxListRemoteServers; ++i) eight.members.push_back("bob@" + kOnions[i]);
  std::sort(eight.members.begin(), eight.members.end());
  ASSERT_TRUE(WellFormedListRecord(eight));
  const std::string ninth = "bob@" + kOnions[kMaxListRemoteServers];
  EXPECT_EQ(CodeOf(ApplyListOp(eight, ListOp::kAdd, "alice", ninth)),
            ErrorCode::kResourceExhausted);
  // Another user at a server already there, and a local user, still fit.
  auto same_server = ApplyListOp(eight, ListOp::kAdd, "alice", "carol@" + kOnions[3]);
  ASSERT_TRUE(same_server.ok());
  EXPECT_EQ((*same_server)->members.size(), eight.members.size() + 1);
  EXPECT_TRUE(ApplyListOp(eight, ListOp::kAdd, "alice", "dave").ok());
  // One server fewer: the ninth fits again.
  auto fewer = ApplyListOp(eight, ListOp::kRemove, "alice", "bob@" + kOnions[0]);
  ASSERT_TRUE(fewer.ok());
  EXPECT_TRUE(ApplyListOp(**fewer, ListOp::kAdd, "alice", ninth).ok());
}

TEST(ApplyListOpTest, OnlyTheOwnerRemovesARemoteMember) {
  const std::string dave = "dave@" + kOnions[0];
  const ListRecord mixed{"alice", {"alice", "bob", "carol", dave}};
  auto r = ApplyListOp(mixed, ListOp::kRemove, "alice", dave);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(**r, kTeam);
  EXPECT_EQ(CodeOf(ApplyListOp(mixed, ListOp::kRemove, "bob", dave)), ErrorCode::kPermissionDenied);
  // A local bob leaving leaves a remote bob where it is.
  const std::string bob_remote = "bob@" + kOnions[1];
  const ListRecord two_bobs{"alice", {"alice", "bob", bob_remote}};
  auto left = ApplyListOp(two_bobs, ListOp::kLeave, "bob", "");
  ASSERT_TRUE(left.ok());
  EXPECT_EQ((*left)->members, (std::vector<std::string>{"alice", bob_remote}));
  auto absent = ApplyListOp(mixed, ListOp::kRemove, "alice", "dave@" + kOnions[1]);
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(**absent, mixed);
}

TEST(ApplyListOpTest, OwnerRemovesAnyoneMembersRemoveOnlyThemselves) {
  auto r = Apply(ListOp::kRemove, "alice", "bob");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->members, (std::vector<std::string>{"alice", "carol"}));
  auto self = Apply(ListOp::kRemove, "carol", "carol");
  ASSERT_TRUE(self.ok());
  EXPECT_EQ((*self)->members, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(CodeOf(Apply(ListOp::kRemove, "carol", "bob")), ErrorCode::kPermissionDenied);
  auto absent = Apply(ListOp::kRemove, "alice", "zed");
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(**absent, kTeam);
}

TEST(ApplyListOpTest, LeaveRemovesTheActorButNeverTheOwner) {
  auto r = Apply(ListOp::kLeave, "bob");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->members, (std::vector<std::string>{"alice", "carol"}));
  EXPECT_EQ(CodeOf(Apply(ListOp::kLeave, "alice")), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(CodeOf(Apply(ListOp::kRemove, "alice", "alice")), ErrorCode::kFailedPrecondition);
}

TEST(ApplyListOpTest, OnlyTheOwnerDestroys) {
  auto r = Apply(ListOp::kDestroy, "alice");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  EXPECT_EQ(CodeOf(Apply(ListOp::kDestroy, "bob")), ErrorCode::kPermissionDenied);
}

TEST(ApplyListOpTest, ARemoteMemberMayPostAndLeaveAndDoNothingElse) {
  const std::string dave = "dave@" + kOnions[0];
  ListRecord team{"alice", {"alice", "bob", dave}};
  auto post = ApplyListOp(team, ListOp::kPost, dave, "");
  ASSERT_TRUE(post.ok());
  EXPECT_EQ(**post, team);
  // Not a member: denied, as for a local non-member.
  EXPECT_EQ(CodeOf(ApplyListOp(team, ListOp::kPost, "erin@" + kOnions[0], "")),
            ErrorCode::kPermissionDenied);
  auto left = ApplyListOp(team, ListOp::kLeave, dave, "");
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(**left, (ListRecord{"alice", {"alice", "bob"}}));
  EXPECT_EQ(CodeOf(ApplyListOp(**left, ListOp::kLeave, dave, "")), ErrorCode::kPermissionDenied);
  // Every other op needs a user of this server as actor.
  for (ListOp op :
       {ListOp::kShow, ListOp::kCreate, ListOp::kAdd, ListOp::kRemove, ListOp::kDestroy}) {
    EXPECT_EQ(CodeOf(ApplyListOp(team, op, dave, "bob")), ErrorCode::kInvalidArgument)
        << static_cast<int>(op);
  }
  // An address that is no valid member cannot post either.
  EXPECT_EQ(CodeOf(ApplyListOp(team, ListOp::kPost, "Dave@" + kOnions[0], "")),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(ApplyListOp(team, ListOp::kPost, "dave@example.org", "")),
            ErrorCode::kInvalidArgument);
}

TEST(ApplyListOpTest, OnlyTheOwnerMakesAListAnAnnounceListAndOpensItAgain) {
  auto announce = Apply(ListOp::kAnnounce, "alice");
  ASSERT_TRUE(announce.ok());
  EXPECT_EQ(**announce, (ListRecord{"alice", {"alice", "bob", "carol"}, true}));
  auto again = ApplyListOp(**announce, ListOp::kAnnounce, "alice", "");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(**again, **announce);  // unchanged
  auto open = ApplyListOp(**announce, ListOp::kOpen, "alice", "");
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(**open, kTeam);
  EXPECT_EQ(CodeOf(Apply(ListOp::kAnnounce, "bob")), ErrorCode::kPermissionDenied);
  EXPECT_EQ(CodeOf(ApplyListOp(**announce, ListOp::kOpen, "bob", "")),
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(CodeOf(Apply(ListOp::kAnnounce, "erin")), ErrorCode::kPermissionDenied);
  EXPECT_EQ(CodeOf(ApplyListOp(std::nullopt, ListOp::kOpen, "alice", "")), ErrorCode::kNotFound);
  EXPECT_FALSE(ListRecord{}.announce) << "a new list is open";
}

TEST(ApplyListOpTest, OnAnAnnounceListOnlyTheOwnerPostsAndMembersStillShowAndLeave) {
  const std::string dave = "dave@" + kOnions[0];
  const ListRecord news{"alice", {"alice", "bob", dave}, true};
  auto post = ApplyListOp(news, ListOp::kPost, "alice", "");
  ASSERT_TRUE(post.ok());
  EXPECT_EQ(**post, news);
  EXPECT_EQ(CodeOf(ApplyListOp(news, ListOp::kPost, "bob", "")), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(CodeOf(ApplyListOp(news, ListOp::kPost, dave, "")), ErrorCode::kFailedPrecondition);
  // A non-member learns only that the list exists, as on any list.
  EXPECT_EQ(CodeOf(ApplyListOp(news, ListOp::kPost, "erin", "")), ErrorCode::kPermissionDenied);
  EXPECT_TRUE(ApplyListOp(news, ListOp::kShow, "bob", "").ok());
  auto left = ApplyListOp(news, ListOp::kLeave, dave, "");
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(**left, (ListRecord{"alice", {"alice", "bob"}, true}));
  // A remote member cannot change it.
  EXPECT_EQ(CodeOf(ApplyListOp(news, ListOp::kOpen, dave, "")), ErrorCode::kInvalidArgument);
}

TEST(ApplyListOpTest, OnlyTheOwnerModeratesAListAndEachModeReplacesTheOther) {
  auto moderated = Apply(ListOp::kModerate, "alice");
  ASSERT_TRUE(moderated.ok());
  EXPECT_EQ(**moderated, (ListRecord{"alice", {"alice", "bob", "carol"}, false, true}));
  auto announce = ApplyListOp(**moderated, ListOp::kAnnounce, "alice", "");
  ASSERT_TRUE(announce.ok());
  EXPECT_EQ(**announce, (ListRecord{"alice", {"alice", "bob", "carol"}, true, false}));
  auto back = ApplyListOp(**announce, ListOp::kModerate, "alice", "");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(**back, **moderated);
  auto open = ApplyListOp(**moderated, ListOp::kOpen, "alice", "");
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(**open, kTeam);
  EXPECT_EQ(CodeOf(Apply(ListOp::kModerate, "bob")), ErrorCode::kPermissionDenied);
  EXPECT_EQ(CodeOf(ApplyListOp(**moderated, ListOp::kOpen, "bob", "")),
            ErrorCode::kPermissionDenied);
  EXPECT_FALSE(ListRecord{}.moderated) << "a new list is open";
  EXPECT_FALSE(WellFormedListRecord(ListRecord{"alice", {"alice"}, true, true}));
}

TEST(ApplyListOpTest, OnAModeratedListAMembersPostIsHeldForTheOwnerAndTheOwnersGoesOut) {
  const std::string dave = "dave@" + kOnions[0];
  const ListRecord team{"alice", {"alice", "bob", dave}, false, true};
  const ListRecord held{"alice", {"alice"}, false, true};
  auto by_owner = ApplyListOp(team, ListOp::kPost, "alice", "");
  ASSERT_TRUE(by_owner.ok());
  EXPECT_EQ(**by_owner, team);
  for (const std::string& poster : {std::string("bob"), dave}) {
    auto post = ApplyListOp(team, ListOp::kPost, poster, "");
    ASSERT_TRUE(post.ok()) << poster;
    EXPECT_EQ(**post, held) << poster;
    EXPECT_TRUE(WellFormedListRecord(**post));
  }
  EXPECT_EQ(CodeOf(ApplyListOp(team, ListOp::kPost, "erin", "")), ErrorCode::kPermissionDenied);
  auto shown = ApplyListOp(team, ListOp::kShow, "bob", "");
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(**shown, team) << "only a post is cut to the owner";
}

TEST(ApplyListOpTest, AMalformedStoredRecordIsDataLoss) {
  ListRecord bad{"zed", {"alice"}};
  EXPECT_EQ(CodeOf(ApplyListOp(bad, ListOp::kPost, "alice", "")), ErrorCode::kDataLoss);
}

TEST(ApplyListOpTest, AnInvalidActorIsRefused) {
  EXPECT_EQ(CodeOf(Apply(ListOp::kShow, "")), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(ApplyListOp(std::nullopt, ListOp::kCreate, "A", "")),
            ErrorCode::kInvalidArgument);
}

TEST(ListHeadersTest, FieldsNameTheListAndHowToLeave) {
  EXPECT_EQ(ListHeaders("team", "abc.onion"),
            "List-Id: <team.list.abc.onion>\r\n"
            "List-Post: <mailto:team.list@abc.onion>\r\n"
            "List-Help: <mailto:server@abc.onion?subject=HELP>\r\n"
            "List-Unsubscribe: <mailto:server@abc.onion?subject=LIST%20team%20LEAVE>\r\n"
            "Precedence: list\r\n");
}

}  // namespace
}  // namespace onionmail::mail
