// mail::ApplyListOp, the list names and header fields (mail/mailing_list.h).
#include "mail/mailing_list.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace onionmail::mail {
namespace {

const ListRecord kTeam{"alice", {"alice", "bob", "carol"}};

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
