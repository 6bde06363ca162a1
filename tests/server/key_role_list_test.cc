// The key role's side of mailing lists (key_service_role.h, "mailing
// lists"): a session acts only as the user who authenticated on it (a failed
// AUTH forgets that user), POP3 sessions are refused, bad requests are
// answered kInvalidArgument and the session goes on, and a list is created,
// filled, posted to and destroyed through RemoteDelivery; a session without a
// login acts for a remote member only once it showed a vouch for that
// member's server (TkimProvenRequest, server/tkim_vouch.h). A real State (file
// key store, LocalKeyService) served by KeyRoleServer::ServeControl; the test
// plays the SMTP front end.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <string>
#include <vector>

#include "ipc/messages.h"
#include "mail/mailing_list.h"
#include "server/tkim_vouch.h"
#include "tests/mail/test_onions.h"
#include "tests/server/remote_backend_fixture.h"

namespace onionmail::server {
namespace {

using Op = mail::ListOp;
using Members = std::vector<std::string>;

// A fresh list name per call (tests share the state directory).
std::string NewListName() {
  static std::atomic<int> n{0};
  return "team" + std::to_string(++n);
}

Members Sorted(Members m) {
  std::sort(m.begin(), m.end());
  return m;
}

// An SMTP session authenticated as `user`.
struct Session {
  Session(ControlChannel& smtp, const std::string& user)
      : link(smtp.NewSession()), delivery(*link) {
    auto r = delivery.VerifySmtpPassword(user, Pw(user + "-smtp"));
    EXPECT_TRUE(r.ok()) << r.error().message;
  }
  std::unique_ptr<SessionLink> link;
  RemoteDelivery delivery;
};

uint64_t Now() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// What the SMTP front end does once the relay role found a client's TKIM
// proof for `onion` good: shows the key role the vouch it got.
ipc::Status ShowVouch(SessionLink& link, const std::string& onion, std::vector<uint8_t> vouch) {
  auto r = link.Call<ipc::StatusReply>(ipc::TkimProvenRequest{onion, std::move(vouch)},
                                       std::chrono::seconds(10));
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? r->status : ipc::Status::kInternal;
}

ipc::Status Prove(SessionLink& link, const std::string& onion) {
  return ShowVouch(link, onion, Env().vouches->Mint(onion, Now()).value());
}

TEST_F(KeyRoleTest, ListNeedsAUserAuthenticatedOnTheSession) {
  std::string user = NewUser();
  std::string name = NewListName();
  auto link = smtp_.NewSession();
  RemoteDelivery delivery(*link);
  EXPECT_TRUE(Fails(delivery.Apply(Op::kCreate, name, ""), ErrorCode::kPermissionDenied));
  EXPECT_TRUE(Fails(delivery.Apply(Op::kShow, name, ""), ErrorCode::kPermissionDenied));
  // A failed AUTH authenticates nobody.
  EXPECT_FALSE(delivery.VerifySmtpPassword(user, Pw("wrong")).ok());
  EXPECT_TRUE(Fails(delivery.Apply(Op::kCreate, name, ""), ErrorCode::kPermissionDenied));
  ASSERT_TRUE(delivery.VerifySmtpPassword(user, Pw(user + "-smtp")).ok());
  auto created = delivery.Apply(Op::kCreate, name, "");
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(*created, (mail::ListRecord{user, {user}}));
  // A failed AUTH on the same session forgets the user.
  EXPECT_FALSE(delivery.VerifySmtpPassword(user, Pw("wrong")).ok());
  EXPECT_TRUE(Fails(delivery.Apply(Op::kShow, name, ""), ErrorCode::kPermissionDenied));
  EXPECT_TRUE(Fails(delivery.Apply(Op::kDestroy, name, ""), ErrorCode::kPermissionDenied));
  EXPECT_FALSE(link->broken());
  // The list is still there for its owner.
  Session again(smtp_, user);
  auto shown = again.delivery.Apply(Op::kShow, name, "");
  ASSERT_TRUE(shown.ok()) << shown.error().message;
  EXPECT_EQ(shown->owner, user);
}

TEST_F(KeyRoleTest, EachSessionActsOnlyAsItsOwnUser) {
  std::string alice = NewUser();
  std::string bob = NewUser();
  std::string name = NewListName();
  Session a(smtp_, alice);
  ASSERT_TRUE(a.delivery.Apply(Op::kCreate, name, "").ok());
  Session b(smtp_, bob);
  // Bob is no member: he learns only that the list exists.
  EXPECT_TRUE(Fails(b.delivery.Apply(Op::kShow, name, ""), ErrorCode::kPermissionDenied));
  EXPECT_TRUE(Fails(b.delivery.Apply(Op::kAdd, name, bob), ErrorCode::kPermissionDenied));
  EXPECT_TRUE(Fails(b.delivery.Apply(Op::kDestroy, name, ""), ErrorCode::kPermissionDenied));
  EXPECT_TRUE(Fails(b.delivery.Apply(Op::kCreate, name, ""), ErrorCode::kAlreadyExists));
  ASSERT_TRUE(a.delivery.Apply(Op::kAdd, name, bob).ok());
  // A member, not the owner: he may read and leave, not remove the owner,
  // add anyone or destroy the list.
  auto seen = b.delivery.Apply(Op::kShow, name, "");
  ASSERT_TRUE(seen.ok()) << seen.error().message;
  EXPECT_EQ(seen->owner, alice);
  EXPECT_EQ(seen->members, Sorted({alice, bob}));
  EXPECT_TRUE(Fails(b.delivery.Apply(Op::kRemove, name, alice), ErrorCode::kPermissionDenied));
  EXPECT_TRUE(Fails(b.delivery.Apply(Op::kDestroy, name, ""), ErrorCode::kPermissionDenied));
  // The session acts as the user of its last successful AUTH: now alice.
  ASSERT_TRUE(b.delivery.VerifySmtpPassword(alice, Pw(alice + "-smtp")).ok());
  auto removed = b.delivery.Apply(Op::kRemove, name, bob);
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_EQ(removed->members, Members{alice});
}

TEST_F(KeyRoleTest, CreateAddPostLeaveAndDestroyRoundTrip) {
  std::string owner = NewUser();
  std::string bob = NewUser();
  std::string carol = NewUser();
  std::string outsider = NewUser();
  std::string name = NewListName();
  Session o(smtp_, owner);
  ASSERT_TRUE(o.delivery.Apply(Op::kCreate, name, "").ok());
  ASSERT_TRUE(o.delivery.Apply(Op::kAdd, name, bob).ok());
  auto added = o.delivery.Apply(Op::kAdd, name, carol);
  ASSERT_TRUE(added.ok()) << added.error().message;
  EXPECT_EQ(*added, (mail::ListRecord{owner, Sorted({owner, bob, carol})}));
  // Adding a member again changes nothing.
  EXPECT_EQ(o.delivery.Apply(Op::kAdd, name, carol).value(), *added);

  // kPost, as the SMTP session asks at RCPT: a member gets the members.
  Session c(smtp_, carol);
  auto post = c.delivery.Apply(Op::kPost, name, "");
  ASSERT_TRUE(post.ok()) << post.error().message;
  EXPECT_EQ(post->members, Sorted({owner, bob, carol}));
  // A non-member may not post; an unknown list is kNotFound.
  Session x(smtp_, outsider);
  EXPECT_TRUE(Fails(x.delivery.Apply(Op::kPost, name, ""), ErrorCode::kPermissionDenied));
  EXPECT_TRUE(Fails(x.delivery.Apply(Op::kPost, NewListName(), ""), ErrorCode::kNotFound));

  // Carol leaves; she may then no longer post.
  auto left = c.delivery.Apply(Op::kLeave, name, "");
  ASSERT_TRUE(left.ok()) << left.error().message;
  EXPECT_EQ(left->members, Sorted({owner, bob}));
  EXPECT_TRUE(Fails(c.delivery.Apply(Op::kPost, name, ""), ErrorCode::kPermissionDenied));
  // The owner cannot leave; the owner destroys the list.
  EXPECT_TRUE(Fails(o.delivery.Apply(Op::kLeave, name, ""), ErrorCode::kFailedPrecondition));
  auto destroyed = o.delivery.Apply(Op::kDestroy, name, "");
  ASSERT_TRUE(destroyed.ok()) << destroyed.error().message;
  EXPECT_EQ(*destroyed, mail::ListRecord{});
  EXPECT_TRUE(Fails(o.delivery.Apply(Op::kShow, name, ""), ErrorCode::kNotFound));
  EXPECT_FALSE(o.link->broken());
}

TEST_F(KeyRoleTest, SessionWithoutALoginActsOnlyForARemoteMembersPostOrLeave) {
  const std::string owner = NewUser();
  const std::string name = NewListName();
  const std::string dave = "dave@" + mail::kTestOnions[0];
  Session o(smtp_, owner);
  ASSERT_TRUE(o.delivery.Apply(Op::kCreate, name, "").ok());
  ASSERT_TRUE(o.delivery.Apply(Op::kAdd, name, dave).ok());
  // The front end of a session whose client proved kTestOnions[0] by TKIM.
  auto link = smtp_.NewSession();
  RemoteDelivery remote(*link);
  ASSERT_EQ(Prove(*link, mail::kTestOnions[0]), ipc::Status::kOk);
  auto post = remote.Apply(Op::kPost, name, dave);
  ASSERT_TRUE(post.ok()) << post.error().message;
  EXPECT_EQ(post->members, Sorted({owner, dave}));
  // Another user at that server is no member; nothing else is allowed.
  EXPECT_TRUE(Fails(remote.Apply(Op::kPost, name, "erin@" + mail::kTestOnions[0]),
                    ErrorCode::kPermissionDenied));
  EXPECT_TRUE(Fails(remote.Apply(Op::kShow, name, dave), ErrorCode::kPermissionDenied));
  EXPECT_TRUE(Fails(remote.Apply(Op::kRemove, name, dave), ErrorCode::kPermissionDenied));
  EXPECT_TRUE(Fails(remote.Apply(Op::kPost, name, ""), ErrorCode::kPermissionDenied));
  // A local user cannot be named: a local member posts only logged in.
  EXPECT_TRUE(Fails(remote.Apply(Op::kPost, name, owner), ErrorCode::kInvalidArgument));
  EXPECT_FALSE(link->broken());
  // A session with a login posts as its user, never as someone named.
  EXPECT_TRUE(Fails(o.delivery.Apply(Op::kPost, name, dave), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(Fails(o.delivery.Apply(Op::kLeave, name, dave), ErrorCode::kInvalidArgument));
  auto own = o.delivery.Apply(Op::kPost, name, "");
  ASSERT_TRUE(own.ok()) << own.error().message;
  EXPECT_FALSE(o.link->broken());
  // The remote member leaves (List-Unsubscribe through its own server).
  auto left = remote.Apply(Op::kLeave, name, dave);
  ASSERT_TRUE(left.ok()) << left.error().message;
  EXPECT_EQ(left->members, Members{owner});
  EXPECT_TRUE(Fails(remote.Apply(Op::kLeave, name, dave), ErrorCode::kPermissionDenied));
  EXPECT_TRUE(Fails(remote.Apply(Op::kPost, name, dave), ErrorCode::kPermissionDenied));
}

TEST_F(KeyRoleTest, ARemoteMemberIsActedForOnlyAfterItsServerIsVouchedForOnTheSession) {
  const std::string owner = NewUser();
  const std::string name = NewListName();
  const std::string dave = "dave@" + mail::kTestOnions[0];
  Session o(smtp_, owner);
  ASSERT_TRUE(o.delivery.Apply(Op::kCreate, name, "").ok());
  ASSERT_TRUE(o.delivery.Apply(Op::kAdd, name, dave).ok());
  auto link = smtp_.NewSession();
  RemoteDelivery remote(*link);
  // A subverted front end that names a member without any proof.
  EXPECT_TRUE(Fails(remote.Apply(Op::kPost, name, dave), ErrorCode::kUnauthenticated));
  EXPECT_TRUE(Fails(remote.Apply(Op::kLeave, name, dave), ErrorCode::kUnauthenticated));
  // Vouches it might make or bend: none holds.
  auto good = Env().vouches->Mint(mail::kTestOnions[0], Now()).value();
  std::vector<uint8_t> forged = good;
  forged.back() ^= 1;
  EXPECT_EQ(ShowVouch(*link, mail::kTestOnions[0], forged), ipc::Status::kUnauthenticated);
  EXPECT_EQ(ShowVouch(*link, mail::kTestOnions[1], good), ipc::Status::kUnauthenticated);
  TkimVouches other_key_role;
  EXPECT_EQ(ShowVouch(*link, mail::kTestOnions[0],
                      other_key_role.Mint(mail::kTestOnions[0], Now()).value()),
            ipc::Status::kUnauthenticated);
  auto stale = Env().vouches->Mint(mail::kTestOnions[0], Now() - kTkimVouchLifetime).value();
  EXPECT_EQ(ShowVouch(*link, mail::kTestOnions[0], stale), ipc::Status::kUnauthenticated);
  EXPECT_TRUE(Fails(remote.Apply(Op::kPost, name, dave), ErrorCode::kUnauthenticated));
  // Another onion proven on the session does not speak for dave's server.
  ASSERT_EQ(Prove(*link, mail::kTestOnions[1]), ipc::Status::kOk);
  EXPECT_TRUE(Fails(remote.Apply(Op::kPost, name, dave), ErrorCode::kUnauthenticated));
  // Dave's server (named in upper case, as a client may write it): now the post goes.
  std::string upper = mail::kTestOnions[0];
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ASSERT_EQ(ShowVouch(*link, upper, good), ipc::Status::kOk);
  auto post = remote.Apply(Op::kPost, name, dave);
  ASSERT_TRUE(post.ok()) << post.error().message;
  EXPECT_EQ(post->members, Sorted({owner, dave}));
  // A vouch that does not hold forgets the server proven before it.
  EXPECT_EQ(ShowVouch(*link, mail::kTestOnions[0], forged), ipc::Status::kUnauthenticated);
  EXPECT_TRUE(Fails(remote.Apply(Op::kPost, name, dave), ErrorCode::kUnauthenticated));
  // Another session gets nothing from this one's proof.
  auto other = smtp_.NewSession();
  EXPECT_TRUE(
      Fails(RemoteDelivery(*other).Apply(Op::kPost, name, dave), ErrorCode::kUnauthenticated));
  EXPECT_FALSE(link->broken());
  EXPECT_FALSE(other->broken());
}

TEST_F(KeyRoleTest, AnAnnounceListTakesPostsOnlyFromItsOwnerAndOpensAgain) {
  const std::string owner = NewUser();
  const std::string bob = NewUser();
  const std::string name = NewListName();
  const std::string dave = "dave@" + mail::kTestOnions[1];
  Session o(smtp_, owner);
  ASSERT_TRUE(o.delivery.Apply(Op::kCreate, name, "").ok());
  ASSERT_TRUE(o.delivery.Apply(Op::kAdd, name, bob).ok());
  ASSERT_TRUE(o.delivery.Apply(Op::kAdd, name, dave).ok());
  Session b(smtp_, bob);
  EXPECT_TRUE(Fails(b.delivery.Apply(Op::kAnnounce, name, ""), ErrorCode::kPermissionDenied));
  auto announced = o.delivery.Apply(Op::kAnnounce, name, "");
  ASSERT_TRUE(announced.ok()) << announced.error().message;
  EXPECT_EQ(*announced, (mail::ListRecord{owner, Sorted({owner, bob, dave}), true}));
  // The flag crosses the IPC both ways and is kept: every answer carries it.
  auto shown = b.delivery.Apply(Op::kShow, name, "");
  ASSERT_TRUE(shown.ok()) << shown.error().message;
  EXPECT_TRUE(shown->announce);
  EXPECT_TRUE(Fails(b.delivery.Apply(Op::kPost, name, ""), ErrorCode::kFailedPrecondition));
  auto link = smtp_.NewSession();
  RemoteDelivery remote(*link);
  ASSERT_EQ(Prove(*link, mail::kTestOnions[1]), ipc::Status::kOk);
  EXPECT_TRUE(Fails(remote.Apply(Op::kPost, name, dave), ErrorCode::kFailedPrecondition));
  auto own = o.delivery.Apply(Op::kPost, name, "");
  ASSERT_TRUE(own.ok()) << own.error().message;
  EXPECT_EQ(own->members, Sorted({owner, bob, dave}));
  // A remote member cannot change it; the owner opens it again.
  EXPECT_TRUE(Fails(remote.Apply(Op::kOpen, name, dave), ErrorCode::kPermissionDenied));
  auto opened = o.delivery.Apply(Op::kOpen, name, "");
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_FALSE(opened->announce);
  EXPECT_TRUE(b.delivery.Apply(Op::kPost, name, "").ok());
  EXPECT_FALSE(o.link->broken());
  EXPECT_FALSE(b.link->broken());
  EXPECT_FALSE(link->broken());
}

TEST_F(KeyRoleTest, AModeratedListGivesAMembersPostTheOwnerAloneAndTheOwnersPostAll) {
  const std::string owner = NewUser();
  const std::string bob = NewUser();
  const std::string name = NewListName();
  const std::string dave = "dave@" + mail::kTestOnions[1];
  Session o(smtp_, owner);
  ASSERT_TRUE(o.delivery.Apply(Op::kCreate, name, "").ok());
  ASSERT_TRUE(o.delivery.Apply(Op::kAdd, name, bob).ok());
  ASSERT_TRUE(o.delivery.Apply(Op::kAdd, name, dave).ok());
  Session b(smtp_, bob);
  EXPECT_TRUE(Fails(b.delivery.Apply(Op::kModerate, name, ""), ErrorCode::kPermissionDenied));
  auto moderated = o.delivery.Apply(Op::kModerate, name, "");
  ASSERT_TRUE(moderated.ok()) << moderated.error().message;
  EXPECT_EQ(*moderated, (mail::ListRecord{owner, Sorted({owner, bob, dave}), false, true}));
  const mail::ListRecord held{owner, {owner}, false, true};
  auto by_bob = b.delivery.Apply(Op::kPost, name, "");
  ASSERT_TRUE(by_bob.ok()) << by_bob.error().message;
  EXPECT_EQ(*by_bob, held);
  auto link = smtp_.NewSession();
  RemoteDelivery remote(*link);
  ASSERT_EQ(Prove(*link, mail::kTestOnions[1]), ipc::Status::kOk);
  auto by_dave = remote.Apply(Op::kPost, name, dave);
  ASSERT_TRUE(by_dave.ok()) << by_dave.error().message;
  EXPECT_EQ(*by_dave, held);
  auto by_owner = o.delivery.Apply(Op::kPost, name, "");
  ASSERT_TRUE(by_owner.ok()) << by_owner.error().message;
  EXPECT_EQ(*by_owner, *moderated);
  auto opened = o.delivery.Apply(Op::kOpen, name, "");
  ASSERT_TRUE(opened.ok());
  EXPECT_FALSE(opened->moderated);
  EXPECT_EQ(b.delivery.Apply(Op::kPost, name, "")->members, Sorted({owner, bob, dave}));
}

TEST_F(KeyRoleTest, BadListRequestsAreRefusedAndTheSessionGoesOn) {
  std::string user = NewUser();
  std::string name = NewListName();
  Session s(smtp_, user);
  ASSERT_TRUE(s.delivery.Apply(Op::kCreate, name, "").ok());
  // Names that mail::ValidListName refuses, though within the IPC bounds.
  for (const std::string& bad :
       {std::string("Team"), name + ".list", std::string("a..b"), std::string(".a"),
        std::string("a b"), std::string(mail::kMaxListNameBytes + 1, 'n')}) {
    EXPECT_TRUE(Fails(s.delivery.Apply(Op::kShow, bad, ""), ErrorCode::kInvalidArgument)) << bad;
  }
  // A user argument where the op takes none, or a bad one where it does.
  EXPECT_TRUE(Fails(s.delivery.Apply(Op::kShow, name, user), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(Fails(s.delivery.Apply(Op::kDestroy, name, user), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(Fails(s.delivery.Apply(Op::kAdd, name, ""), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(Fails(s.delivery.Apply(Op::kAdd, name, "Bob"), ErrorCode::kInvalidArgument));
  // kAdd of a user that does not exist.
  EXPECT_TRUE(
      Fails(s.delivery.Apply(Op::kAdd, name, "nobody-here"), ErrorCode::kFailedPrecondition));
  EXPECT_FALSE(s.link->broken());
  // Outside the IPC bounds: refused before it is sent; the link stays up.
  EXPECT_TRUE(Fails(s.delivery.Apply(Op::kShow, std::string(ipc::kMaxListNameBytes + 1, 'n'), ""),
                    ErrorCode::kInvalidArgument));
  EXPECT_TRUE(Fails(s.delivery.Apply(Op::kShow, "", ""), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(Fails(s.delivery.Apply(Op::kShow, "te\r\nam", ""), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(Fails(s.delivery.Apply(static_cast<Op>(mail::kMaxListOp + 1), name, ""),
                    ErrorCode::kInvalidArgument));
  EXPECT_FALSE(s.link->broken());
  auto shown = s.delivery.Apply(Op::kShow, name, "");
  ASSERT_TRUE(shown.ok()) << shown.error().message;
  EXPECT_EQ(*shown, (mail::ListRecord{user, {user}}));
}

TEST_F(KeyRoleTest, ListRequestOverTheBareChannel) {
  std::string user = NewUser();
  std::string name = NewListName();
  auto link = smtp_.NewSession();
  const auto timeout = std::chrono::milliseconds(5000);
  auto denied = link->Call<ipc::ListReply>(ipc::ListRequest{0, name, ""}, timeout);
  ASSERT_TRUE(denied.ok()) << denied.error().message;
  EXPECT_EQ(denied->status, ipc::Status::kPermissionDenied);
  EXPECT_TRUE(denied->owner.empty() && denied->members.empty());
  ASSERT_TRUE(RemoteDelivery(*link).VerifySmtpPassword(user, Pw(user + "-smtp")).ok());
  auto created = link->Call<ipc::ListReply>(
      ipc::ListRequest{static_cast<uint16_t>(Op::kCreate), name, ""}, timeout);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(created->status, ipc::Status::kOk);
  EXPECT_EQ(created->owner, user);
  EXPECT_EQ(created->members, Members{user});
}

TEST_F(KeyRoleTest, Pop3SessionCannotTouchAList) {
  std::string user = NewUser();
  auto link = pop3_.NewSession();
  auto r =
      link->Call<ipc::ListReply>(ipc::ListRequest{0, "team", ""}, std::chrono::milliseconds(5000));
  EXPECT_FALSE(r.ok() && r->status == ipc::Status::kOk);
  EXPECT_TRUE(link->broken());  // the key role ended the session
}

}  // namespace
}  // namespace onionmail::server
