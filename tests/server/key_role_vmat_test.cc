// The key role's side of an enter gateway's VMAT aliases
// (key_service_role.h, "VMAT"): an SMTP session looks an alias up and gets
// its target; an unknown alias or a name that is no alias is kNotFound and
// the session goes on; a POP3 session cannot ask. A real State (file key
// store, LocalKeyService) served by KeyRoleServer::ServeControl; the test
// plays the SMTP front end (RemoteDelivery, the front end's VmatService).
#include <gtest/gtest.h>

#include <chrono>
#include <string>

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

TEST_F(KeyRoleTest, Pop3SessionCannotLookUpAVmatAlias) {
  auto link = pop3_.NewSession();
  auto r = link->Call<ipc::VmatLookupReply>(ipc::VmatLookupRequest{"vmat-alice"},
                                            std::chrono::milliseconds(5000));
  EXPECT_FALSE(r.ok() && r->status == ipc::Status::kOk);
}

}  // namespace
}  // namespace onionmail::server
