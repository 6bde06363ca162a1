// The key role's side of an enter gateway's VMAT aliases
// (key_service_role.h, "VMAT"): an SMTP session looks an alias up and gets
// its target; an unknown alias or a name that is no alias is kNotFound and
// the session goes on; a POP3 session cannot ask. A sender's sending alias
// (for the exit direction) goes only to its own logged-in user or to a
// session that proved the sender's onion with TKIM. A server in [exit]
// vmat_servers, proven by TKIM, keeps one alias per user of its own (SMTP
// VMAT). A real State (file key
// store, LocalKeyService) served by KeyRoleServer::ServeControl; the test
// plays the SMTP front end (RemoteDelivery, the front end's VmatService).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "server/tkim_vouch.h"
#include "tests/mail/test_onions.h"
#include "tests/server/remote_backend_fixture.h"

namespace onionmail::server {
namespace {

TEST_F(KeyRoleTest, AnSmtpSessionLooksUpAVmatAliasWithoutALogin) {
  const std::string target = "alice@" + mail::kTestOnions[2];
  ASSERT_TRUE(Env().state->keys().AddVmat("vmat-alice", target).ok());
  auto link = smtp_.NewSession();
  RemoteDelivery delivery(*link);
  auto found = delivery.Lookup("vmat-alice");
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(*found, target);
  EXPECT_TRUE(Fails(delivery.Lookup("vmat-nobody"), ErrorCode::kNotFound));
  ASSERT_TRUE(Env().state->keys().RemoveVmat("vmat-alice").ok());
  EXPECT_TRUE(Fails(delivery.Lookup("vmat-alice"), ErrorCode::kNotFound));
  EXPECT_FALSE(link->broken());
}

TEST_F(KeyRoleTest, ANameThatIsNoAliasIsNotFoundAndTheSessionGoesOn) {
  auto link = smtp_.NewSession();
  RemoteDelivery delivery(*link);
  for (const char* name : {"postmaster", "Alice", "a..b", "team.list", ""}) {
    EXPECT_TRUE(Fails(delivery.Lookup(name), ErrorCode::kNotFound)) << name;
  }
  EXPECT_TRUE(Fails(delivery.Lookup(std::string(65, 'a')), ErrorCode::kNotFound));
  EXPECT_FALSE(link->broken());
}

TEST_F(KeyRoleTest, AUserMakesShowsAndRemovesTheirOwnAliasOnly) {
  const std::string user = NewUser();
  const std::string own = user + "@" + Env().config.domain;
  auto link = smtp_.NewSession();
  RemoteDelivery delivery(*link);
  EXPECT_TRUE(Fails(delivery.Own(mail::VmatOwnOp::kOn), ErrorCode::kPermissionDenied));
  ASSERT_TRUE(delivery.VerifySmtpPassword(user, Pw(user + "-smtp")).ok());
  EXPECT_TRUE(Fails(delivery.Own(mail::VmatOwnOp::kShow), ErrorCode::kNotFound));
  EXPECT_TRUE(Fails(delivery.Own(mail::VmatOwnOp::kOff), ErrorCode::kNotFound));
  ASSERT_TRUE(delivery.Own(mail::VmatOwnOp::kOn).ok());
  EXPECT_EQ(*Env().state->keys().LookupVmat(user), own);
  EXPECT_TRUE(delivery.Own(mail::VmatOwnOp::kOn).ok()) << "again: still ok";
  EXPECT_TRUE(delivery.Own(mail::VmatOwnOp::kShow).ok());
  auto looked_up = delivery.Lookup(user);
  ASSERT_TRUE(looked_up.ok());
  EXPECT_EQ(*looked_up, own);
  ASSERT_TRUE(delivery.Own(mail::VmatOwnOp::kOff).ok());
  EXPECT_EQ(*Env().state->keys().LookupVmat(user), std::nullopt);
  // A failed AUTH forgets the user.
  EXPECT_FALSE(delivery.VerifySmtpPassword(user, Pw("wrong")).ok());
  EXPECT_TRUE(Fails(delivery.Own(mail::VmatOwnOp::kOn), ErrorCode::kPermissionDenied));
  EXPECT_FALSE(link->broken());
}

TEST_F(KeyRoleTest, TheOperatorsAliasOfTheSameNameIsNeverTouched) {
  const std::string user = NewUser();
  const std::string elsewhere = "someone@" + mail::kTestOnions[3];
  ASSERT_TRUE(Env().state->keys().AddVmat(user, elsewhere).ok());
  auto link = smtp_.NewSession();
  RemoteDelivery delivery(*link);
  ASSERT_TRUE(delivery.VerifySmtpPassword(user, Pw(user + "-smtp")).ok());
  EXPECT_TRUE(Fails(delivery.Own(mail::VmatOwnOp::kOn), ErrorCode::kAlreadyExists));
  EXPECT_TRUE(Fails(delivery.Own(mail::VmatOwnOp::kShow), ErrorCode::kNotFound));
  EXPECT_TRUE(Fails(delivery.Own(mail::VmatOwnOp::kOff), ErrorCode::kNotFound));
  EXPECT_EQ(*Env().state->keys().LookupVmat(user), elsewhere);
  ASSERT_TRUE(Env().state->keys().RemoveVmat(user).ok());
}

TEST_F(KeyRoleTest, AReservedUserNameGetsNoAlias) {
  auto r =
      Env().state->keys().CreateUser("postmaster", Pw("postmaster-smtp"), Pw("postmaster-pop3"));
  ASSERT_TRUE(r.ok() || r.error().code == ErrorCode::kAlreadyExists);
  auto link = smtp_.NewSession();
  RemoteDelivery delivery(*link);
  ASSERT_TRUE(delivery.VerifySmtpPassword("postmaster", Pw("postmaster-smtp")).ok());
  EXPECT_TRUE(Fails(delivery.Own(mail::VmatOwnOp::kOn), ErrorCode::kInvalidArgument));
}

uint64_t Now() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// What the SMTP front end does once the relay role found a TKIM proof for
// `onion` good: shows the key role the vouch it got.
bool Prove(SessionLink& link, const std::string& onion) {
  auto r = link.Call<ipc::StatusReply>(
      ipc::TkimProvenRequest{onion, Env().vouches->Mint(onion, Now()).value()},
      std::chrono::seconds(10));
  return r.ok() && r->status == ipc::Status::kOk;
}

TEST_F(KeyRoleTest, ASenderAtTheProvenOnionGetsItsSendingAliasAndNoOneElse) {
  const std::string carol = "carol@" + mail::kTestOnions[5];
  ASSERT_TRUE(Env().state->keys().AddVmat("carol.c", carol).ok());
  ASSERT_TRUE(Env().state->keys().AddVmat("carol.too", carol).ok());
  auto link = smtp_.NewSession();
  RemoteDelivery delivery(*link);
  EXPECT_TRUE(Fails(delivery.SenderAddress(carol), ErrorCode::kPermissionDenied));
  ASSERT_TRUE(Prove(*link, mail::kTestOnions[5]));
  auto address = delivery.SenderAddress("Carol@" + mail::kTestOnions[5]);
  ASSERT_TRUE(address.ok()) << address.error().message;
  EXPECT_EQ(*address, "carol.c@mail.example.org");  // the first alias made
  EXPECT_TRUE(Fails(delivery.SenderAddress("dave@" + mail::kTestOnions[5]), ErrorCode::kNotFound));
  EXPECT_TRUE(
      Fails(delivery.SenderAddress("carol@" + mail::kTestOnions[6]), ErrorCode::kPermissionDenied));
  EXPECT_TRUE(Fails(delivery.SenderAddress("not an address"), ErrorCode::kNotFound));
  ASSERT_TRUE(Env().state->keys().RemoveVmat("carol.c").ok());
  address = delivery.SenderAddress(carol);
  ASSERT_TRUE(address.ok()) << address.error().message;
  EXPECT_EQ(*address, "carol.too@mail.example.org");
  ASSERT_TRUE(Env().state->keys().RemoveVmat("carol.too").ok());
  EXPECT_TRUE(Fails(delivery.SenderAddress(carol), ErrorCode::kNotFound));
  EXPECT_FALSE(link->broken());
}

TEST_F(KeyRoleTest, TheLoggedInUserGetsTheirOwnSendingAliasOnly) {
  const std::string user = NewUser();
  const std::string other = NewUser();
  const std::string domain = Env().config.domain;
  auto link = smtp_.NewSession();
  RemoteDelivery delivery(*link);
  EXPECT_TRUE(Fails(delivery.SenderAddress(user + "@" + domain), ErrorCode::kPermissionDenied));
  ASSERT_TRUE(delivery.VerifySmtpPassword(user, Pw(user + "-smtp")).ok());
  EXPECT_TRUE(Fails(delivery.SenderAddress(user + "@" + domain), ErrorCode::kNotFound));
  ASSERT_TRUE(delivery.Own(mail::VmatOwnOp::kOn).ok());
  auto address = delivery.SenderAddress(user + "@" + domain);
  ASSERT_TRUE(address.ok()) << address.error().message;
  EXPECT_EQ(*address, user + "@mail.example.org");
  EXPECT_TRUE(Fails(delivery.SenderAddress(other + "@" + domain), ErrorCode::kPermissionDenied));
  ASSERT_TRUE(delivery.Own(mail::VmatOwnOp::kOff).ok());
  EXPECT_TRUE(Fails(delivery.SenderAddress(user + "@" + domain), ErrorCode::kNotFound));
  EXPECT_FALSE(link->broken());
}

TEST_F(KeyRoleTest, VmatOnMakesTheUsersOwnAliasTheirSendingAliasEvenIfAnotherCameFirst) {
  const std::string user = NewUser();
  const std::string own = user + "@" + Env().config.domain;
  ASSERT_TRUE(Env().state->keys().AddVmat("op-made." + user, own).ok());
  EXPECT_EQ(*Env().state->keys().SenderVmat(own), "op-made." + user);
  auto link = smtp_.NewSession();
  RemoteDelivery delivery(*link);
  ASSERT_TRUE(delivery.VerifySmtpPassword(user, Pw(user + "-smtp")).ok());
  ASSERT_TRUE(delivery.Own(mail::VmatOwnOp::kOn).ok());
  EXPECT_EQ(*Env().state->keys().SenderVmat(own), user);
  auto address = delivery.SenderAddress(own);
  ASSERT_TRUE(address.ok()) << address.error().message;
  EXPECT_EQ(*address, user + "@mail.example.org");
  // The operator names the other one; VMAT ON, asked again, takes it back.
  ASSERT_TRUE(Env().state->keys().MakeSenderVmat("op-made." + user).ok());
  EXPECT_EQ(*Env().state->keys().SenderVmat(own), "op-made." + user);
  ASSERT_TRUE(delivery.Own(mail::VmatOwnOp::kOn).ok());
  EXPECT_EQ(*Env().state->keys().SenderVmat(own), user);
  // VMAT OFF passes the role back to the operator's alias.
  ASSERT_TRUE(delivery.Own(mail::VmatOwnOp::kOff).ok());
  EXPECT_EQ(*Env().state->keys().SenderVmat(own), "op-made." + user);
  ASSERT_TRUE(Env().state->keys().RemoveVmat("op-made." + user).ok());
  EXPECT_FALSE(link->broken());
}

TEST_F(KeyRoleTest, AListedProvenServerMakesShowsAndRemovesOneAliasPerUser) {
  const std::string& onion = mail::kTestOnions[7];
  const std::string dave = "dave@" + onion;
  auto link = smtp_.NewSession();
  RemoteDelivery delivery(*link);
  EXPECT_TRUE(Fails(delivery.ForServer(mail::VmatOwnOp::kOn, "dave", "dave.g"),
                    ErrorCode::kPermissionDenied))
      << "no TKIM proof";
  ASSERT_TRUE(Prove(*link, onion));
  EXPECT_TRUE(Fails(delivery.ForServer(mail::VmatOwnOp::kShow, "dave", ""), ErrorCode::kNotFound));
  EXPECT_TRUE(Fails(delivery.ForServer(mail::VmatOwnOp::kOff, "dave", ""), ErrorCode::kNotFound));
  auto made = delivery.ForServer(mail::VmatOwnOp::kOn, "Dave", "Dave.G");
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_EQ(*made, "dave.g@mail.example.org");
  EXPECT_EQ(*Env().state->keys().LookupVmat("dave.g"), dave);
  EXPECT_EQ(*Env().state->keys().SenderVmat(dave), "dave.g");
  auto again = delivery.ForServer(mail::VmatOwnOp::kOn, "dave", "dave.g");
  ASSERT_TRUE(again.ok()) << "the same alias again is ok";
  EXPECT_TRUE(Fails(delivery.ForServer(mail::VmatOwnOp::kOn, "dave", "dave.two"),
                    ErrorCode::kFailedPrecondition))
      << "one alias per user";
  EXPECT_EQ(*Env().state->keys().LookupVmat("dave.two"), std::nullopt);
  auto shown = delivery.ForServer(mail::VmatOwnOp::kShow, "dave", "");
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(*shown, "dave.g@mail.example.org");
  auto removed = delivery.ForServer(mail::VmatOwnOp::kOff, "dave", "");
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, "dave.g@mail.example.org");
  EXPECT_EQ(*Env().state->keys().LookupVmat("dave.g"), std::nullopt);
  EXPECT_FALSE(link->broken());
}

TEST_F(KeyRoleTest, AServerNeverTakesAnAliasOfAnotherMailboxOrAReservedName) {
  const std::string& onion = mail::kTestOnions[7];
  const std::string elsewhere = "erin@" + mail::kTestOnions[3];
  ASSERT_TRUE(Env().state->keys().AddVmat("erin", elsewhere).ok());
  auto link = smtp_.NewSession();
  RemoteDelivery delivery(*link);
  ASSERT_TRUE(Prove(*link, onion));
  EXPECT_TRUE(
      Fails(delivery.ForServer(mail::VmatOwnOp::kOn, "erin", "erin"), ErrorCode::kAlreadyExists));
  EXPECT_EQ(*Env().state->keys().LookupVmat("erin"), elsewhere);
  for (const char* bad : {"postmaster", "team.list", "a..b", "x y"}) {
    EXPECT_TRUE(
        Fails(delivery.ForServer(mail::VmatOwnOp::kOn, "erin", bad), ErrorCode::kInvalidArgument))
        << bad;
  }
  EXPECT_TRUE(Fails(delivery.ForServer(mail::VmatOwnOp::kOn, "a..b", "erin.x"),
                    ErrorCode::kInvalidArgument))
      << "not a user name";
  EXPECT_TRUE(Fails(delivery.ForServer(mail::VmatOwnOp::kOn, std::string(65, 'a'), "erin.x"),
                    ErrorCode::kInvalidArgument))
      << "outside the IPC bounds: never sent";
  // The other server's user's alias is not this one's to remove.
  EXPECT_TRUE(Fails(delivery.ForServer(mail::VmatOwnOp::kOff, "erin", ""), ErrorCode::kNotFound));
  EXPECT_EQ(*Env().state->keys().LookupVmat("erin"), elsewhere);
  ASSERT_TRUE(Env().state->keys().RemoveVmat("erin").ok());
  EXPECT_FALSE(link->broken());
}

TEST_F(KeyRoleTest, AProvenServerNotInVmatServersIsRefused) {
  auto link = smtp_.NewSession();
  RemoteDelivery delivery(*link);
  ASSERT_TRUE(Prove(*link, mail::kTestOnions[6]));
  EXPECT_TRUE(Fails(delivery.ForServer(mail::VmatOwnOp::kOn, "fred", "fred"),
                    ErrorCode::kPermissionDenied));
  EXPECT_TRUE(
      Fails(delivery.ForServer(mail::VmatOwnOp::kShow, "fred", ""), ErrorCode::kPermissionDenied));
  EXPECT_EQ(*Env().state->keys().LookupVmat("fred"), std::nullopt);
  EXPECT_FALSE(link->broken());
}

TEST_F(KeyRoleTest, Pop3SessionCannotAskForAnAliasForAServer) {
  auto link = pop3_.NewSession();
  auto r = link->Call<ipc::VmatLookupReply>(
      ipc::VmatServerRequest{static_cast<uint16_t>(mail::VmatOwnOp::kOn), "gina", "gina"},
      std::chrono::milliseconds(5000));
  EXPECT_FALSE(r.ok() && r->status == ipc::Status::kOk);
  EXPECT_EQ(*Env().state->keys().LookupVmat("gina"), std::nullopt);
}

TEST_F(KeyRoleTest, Pop3SessionCannotAskForASendingAlias) {
  auto link = pop3_.NewSession();
  auto r = link->Call<ipc::VmatLookupReply>(ipc::VmatSenderRequest{"carol@" + mail::kTestOnions[5]},
                                            std::chrono::milliseconds(5000));
  EXPECT_FALSE(r.ok() && r->status == ipc::Status::kOk);
}

TEST_F(KeyRoleTest, Pop3SessionCannotLookUpAVmatAlias) {
  auto link = pop3_.NewSession();
  auto r = link->Call<ipc::VmatLookupReply>(ipc::VmatLookupRequest{"vmat-alice"},
                                            std::chrono::milliseconds(5000));
  EXPECT_FALSE(r.ok() && r->status == ipc::Status::kOk);
}

}  // namespace
}  // namespace onionmail::server
