// The key role's side of the server@ bot's SPAM commands (key_service_role.h,
// "block list"): a session changes only the list of the user who
// authenticated on it, and CheckRecipient refuses a sender on the
// recipient's list. A real State (file key store, LocalKeyService) served by
// KeyRoleServer::ServeControl; the test plays the SMTP front end.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/server/remote_backend_fixture.h"

namespace onionmail::server {
namespace {

using Op = mail::BlockListOp;
using Entries = std::vector<std::string>;

TEST_F(KeyRoleTest, BlockListNeedsAUserAuthenticatedOnTheSession) {
  std::string user = NewUser();
  auto link = smtp_.NewSession();
  RemoteDelivery delivery(*link);
  EXPECT_TRUE(Fails(delivery.Apply(Op::kList, ""), ErrorCode::kPermissionDenied));
  EXPECT_TRUE(Fails(delivery.Apply(Op::kAdd, "x@y.onion"), ErrorCode::kPermissionDenied));
  ASSERT_TRUE(delivery.VerifySmtpPassword(user, Pw(user + "-smtp")).ok());
  auto added = delivery.Apply(Op::kAdd, "x@y.onion");
  ASSERT_TRUE(added.ok()) << added.error().message;
  EXPECT_EQ(*added, Entries{"x@y.onion"});
  // A failed AUTH on the same session forgets the user.
  EXPECT_FALSE(delivery.VerifySmtpPassword(user, Pw("wrong")).ok());
  EXPECT_TRUE(Fails(delivery.Apply(Op::kList, ""), ErrorCode::kPermissionDenied));
  EXPECT_FALSE(link->broken());
}

TEST_F(KeyRoleTest, EachSessionChangesOnlyItsOwnUsersList) {
  std::string alice = NewUser();
  std::string bob = NewUser();
  auto a_link = smtp_.NewSession();
  RemoteDelivery a(*a_link);
  ASSERT_TRUE(a.VerifySmtpPassword(alice, Pw(alice + "-smtp")).ok());
  ASSERT_TRUE(a.Apply(Op::kAdd, "@spam.onion").ok());
  auto b_link = smtp_.NewSession();
  RemoteDelivery b(*b_link);
  ASSERT_TRUE(b.VerifySmtpPassword(bob, Pw(bob + "-smtp")).ok());
  auto bobs = b.Apply(Op::kList, "");
  ASSERT_TRUE(bobs.ok());
  EXPECT_TRUE(bobs->empty());
  // Any session checks recipients against their own lists.
  auto c_link = smtp_.NewSession();
  RemoteDelivery c(*c_link);
  EXPECT_TRUE(Fails(c.CheckRecipient(alice, 0, "Someone@Spam.Onion"), ErrorCode::kRefused));
  EXPECT_TRUE(c.CheckRecipient(alice, 0, "someone@other.onion").ok());
  EXPECT_TRUE(c.CheckRecipient(alice, 0, "").ok());  // the null sender
  EXPECT_TRUE(c.CheckRecipient(bob, 0, "someone@spam.onion").ok());
  ASSERT_TRUE(a.Apply(Op::kDelete, "@spam.onion").ok());
  EXPECT_TRUE(c.CheckRecipient(alice, 0, "someone@spam.onion").ok());
}

TEST_F(KeyRoleTest, BlockListRequestWithABadEntryIsRefusedAndTheSessionGoesOn) {
  std::string user = NewUser();
  auto link = smtp_.NewSession();
  RemoteDelivery delivery(*link);
  ASSERT_TRUE(delivery.VerifySmtpPassword(user, Pw(user + "-smtp")).ok());
  EXPECT_TRUE(Fails(delivery.Apply(Op::kAdd, "Upper@Case.onion"), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(Fails(delivery.Apply(Op::kAdd, ""), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(Fails(delivery.Apply(Op::kList, "x@y.onion"), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(Fails(delivery.Apply(Op::kDelete, "no-at-sign"), ErrorCode::kInvalidArgument));
  auto listed = delivery.Apply(Op::kList, "");
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  EXPECT_FALSE(link->broken());
}

TEST_F(KeyRoleTest, Pop3SessionCannotTouchABlockList) {
  std::string user = NewUser();
  auto link = pop3_.NewSession();
  auto r = link->Call<ipc::BlockListReply>(ipc::BlockListRequest{0, ""},
                                           std::chrono::milliseconds(5000));
  EXPECT_FALSE(r.ok() && r->status == ipc::Status::kOk);
}

}  // namespace
}  // namespace onionmail::server
