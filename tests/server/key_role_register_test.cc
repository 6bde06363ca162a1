// The key role's side of self-registration (key_service_role.h, "POP3
// sessions may register an account"): a voucher made by the real
// LocalKeyService::AddVouchers opens an account through RemoteMailboxes, and
// its two passwords log in; a bad or used voucher is kUnauthenticated; a
// session gets one success and 3 failures, then kPermissionDenied without the
// key store being asked; SMTP sessions are refused; a request outside the
// IPC bounds is refused before it is sent; the log names outcomes only. A
// real State (file key store) served by KeyRoleServer::ServeControl; the
// test plays the POP3 and SMTP front ends.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>

#include "mail/registration.h"
#include "tests/server/remote_backend_fixture.h"

namespace onionmail::server {
namespace {

std::string Reveal(const SecretBytes& s) {
  return std::string(s.RevealString(SecretAccess::Grant()));
}

// A fresh voucher from the key store, as `onionmailctl voucher add` makes it.
std::string NewVoucher() {
  auto made = Env().state->keys().AddVouchers(1);
  EXPECT_TRUE(made.ok()) << made.error().message;
  if (!made.ok() || made->size() != 1) return std::string(mail::kVoucherChars, 'a');
  return Reveal((*made)[0]);
}

// A well-formed voucher no one issued.
std::string UnknownVoucher() {
  static std::atomic<int> n{0};
  std::string v = "unknownvoucher" + std::string(6, 'a');
  v[19] = static_cast<char>('a' + (++n % 26));
  v[18] = static_cast<char>('a' + (n / 26 % 26));
  return v;
}

// A fresh name no one has (tests share the state directory).
std::string NewName() {
  static std::atomic<int> n{0};
  return "newcomer" + std::to_string(++n);
}

class KeyRoleRegisterTest : public KeyRoleTest {
 protected:
  // A POP3 session's registration.
  struct Pop3 {
    explicit Pop3(ControlChannel& pop3) : link(pop3.NewSession()), mailboxes(*link) {}
    std::unique_ptr<SessionLink> link;
    RemoteMailboxes mailboxes;
  };

  // `user` logs in with both passwords (and not with each other's).
  void ExpectLogins(const std::string& user, const mail::Registration& reg) {
    auto smtp_link = smtp_.NewSession();
    RemoteDelivery delivery(*smtp_link);
    EXPECT_TRUE(
        Fails(delivery.VerifySmtpPassword(user, reg.pop3_password), ErrorCode::kUnauthenticated));
    EXPECT_TRUE(delivery.VerifySmtpPassword(user, reg.smtp_password).ok());
    auto pop3_link = pop3_.NewSession();
    RemoteMailboxes mailboxes(*pop3_link);
    EXPECT_TRUE(Fails(mailboxes.Open(user, reg.smtp_password), ErrorCode::kUnauthenticated));
    auto box = mailboxes.Open(user, reg.pop3_password);
    ASSERT_TRUE(box.ok()) << box.error().message;
    EXPECT_TRUE((*box)->Messages().empty());
  }
};

TEST_F(KeyRoleRegisterTest, AVoucherOpensAnAccountWhosePasswordsLogIn) {
  const std::string voucher = NewVoucher();
  const std::string user = NewName();
  Pop3 s(pop3_);
  auto reg = s.mailboxes.Register(voucher, user);
  ASSERT_TRUE(reg.ok()) << reg.error().message;
  EXPECT_EQ(reg->smtp_password.size(), mail::kGeneratedPasswordChars);
  EXPECT_EQ(reg->pop3_password.size(), mail::kGeneratedPasswordChars);
  EXPECT_FALSE(reg->smtp_password.Equals(reg->pop3_password));
  ExpectLogins(user, *reg);
  // The account is real for the SMTP side too: it takes mail.
  auto smtp_link = smtp_.NewSession();
  EXPECT_TRUE(RemoteDelivery(*smtp_link).CheckRecipient(user, 0, "").ok());
  // The voucher is used up.
  Pop3 again(pop3_);
  EXPECT_TRUE(Fails(again.mailboxes.Register(voucher, NewName()), ErrorCode::kUnauthenticated));
  EXPECT_FALSE(s.link->broken());
}

TEST_F(KeyRoleRegisterTest, ABadVoucherIsUnauthenticated) {
  const std::string user = NewName();
  Pop3 s(pop3_);
  EXPECT_TRUE(Fails(s.mailboxes.Register(UnknownVoucher(), user), ErrorCode::kUnauthenticated));
  // Before any name is looked at: a taken name changes nothing.
  EXPECT_TRUE(
      Fails(s.mailboxes.Register(UnknownVoucher(), NewUser()), ErrorCode::kUnauthenticated));
  EXPECT_FALSE(s.link->broken());
  // The name is still free for a real voucher.
  Pop3 t(pop3_);
  auto reg = t.mailboxes.Register(NewVoucher(), user);
  ASSERT_TRUE(reg.ok()) << reg.error().message;
}

TEST_F(KeyRoleRegisterTest, OneSuccessPerSession) {
  Pop3 s(pop3_);
  ASSERT_TRUE(s.mailboxes.Register(NewVoucher(), NewName()).ok());
  const std::string voucher = NewVoucher();
  const std::string user = NewName();
  EXPECT_TRUE(Fails(s.mailboxes.Register(voucher, user), ErrorCode::kPermissionDenied));
  EXPECT_TRUE(
      Fails(s.mailboxes.Register(UnknownVoucher(), NewName()), ErrorCode::kPermissionDenied));
  EXPECT_FALSE(s.link->broken());
  // The refused request touched nothing: the voucher and the name are free.
  Pop3 t(pop3_);
  auto reg = t.mailboxes.Register(voucher, user);
  ASSERT_TRUE(reg.ok()) << reg.error().message;
  ExpectLogins(user, *reg);
}

TEST_F(KeyRoleRegisterTest, ThreeFailuresPerSession) {
  const std::string voucher = NewVoucher();
  Pop3 s(pop3_);
  // Three failures of three kinds; the voucher stays valid through them.
  EXPECT_TRUE(Fails(s.mailboxes.Register(voucher, NewUser()), ErrorCode::kAlreadyExists));
  EXPECT_TRUE(Fails(s.mailboxes.Register(voucher, "postmaster"), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(
      Fails(s.mailboxes.Register(UnknownVoucher(), NewName()), ErrorCode::kUnauthenticated));
  const std::string user = NewName();
  EXPECT_TRUE(Fails(s.mailboxes.Register(voucher, user), ErrorCode::kPermissionDenied));
  EXPECT_TRUE(Fails(s.mailboxes.Register(voucher, user), ErrorCode::kPermissionDenied));
  EXPECT_FALSE(s.link->broken());
  // The session still serves the rest of POP3.
  std::string someone = NewUser();
  EXPECT_TRUE(s.mailboxes.Open(someone, Pw(someone + "-pop3")).ok());
  // Another session may use the voucher.
  Pop3 t(pop3_);
  auto reg = t.mailboxes.Register(voucher, user);
  ASSERT_TRUE(reg.ok()) << reg.error().message;
}

TEST_F(KeyRoleRegisterTest, FailuresBeforeTheSuccessCountAgainstTheSession) {
  Pop3 s(pop3_);
  EXPECT_TRUE(
      Fails(s.mailboxes.Register(UnknownVoucher(), NewName()), ErrorCode::kUnauthenticated));
  EXPECT_TRUE(
      Fails(s.mailboxes.Register(UnknownVoucher(), NewName()), ErrorCode::kUnauthenticated));
  ASSERT_TRUE(s.mailboxes.Register(NewVoucher(), NewName()).ok());
  EXPECT_TRUE(Fails(s.mailboxes.Register(NewVoucher(), NewName()), ErrorCode::kPermissionDenied));
}

TEST_F(KeyRoleRegisterTest, RequestsOutsideTheIpcBoundsAreNeverSent) {
  Pop3 s(pop3_);
  const std::string voucher = NewVoucher();
  std::string upper = voucher;
  for (char& c : upper) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
  for (const std::string& bad_voucher :
       {std::string(), voucher.substr(1), voucher + "a", upper, voucher.substr(1) + "0"}) {
    EXPECT_TRUE(Fails(s.mailboxes.Register(bad_voucher, NewName()), ErrorCode::kInvalidArgument))
        << bad_voucher;
  }
  for (const std::string& bad_user :
       {std::string(), std::string(ipc::kMaxLocalPartBytes + 1, 'u'), std::string("bo\r\nb")}) {
    EXPECT_TRUE(Fails(s.mailboxes.Register(voucher, bad_user), ErrorCode::kInvalidArgument));
  }
  EXPECT_FALSE(s.link->broken());
  // None reached the key role: none counted against the session's three
  // failures, and the voucher is unused.
  auto reg = s.mailboxes.Register(voucher, NewName());
  ASSERT_TRUE(reg.ok()) << reg.error().message;
}

TEST_F(KeyRoleRegisterTest, SmtpSessionCannotRegister) {
  const std::string voucher = NewVoucher();
  const std::string user = NewName();
  auto link = smtp_.NewSession();
  auto r = link->Call<ipc::RegisterReply>(ipc::Message(ipc::RegisterRequest{Pw(voucher), user}),
                                          std::chrono::milliseconds(5000));
  EXPECT_FALSE(r.ok() && r->status == ipc::Status::kOk);
  EXPECT_TRUE(link->broken());  // the key role ended the session
  // Nothing was made and the voucher is unused.
  auto check = smtp_.NewSession();
  EXPECT_TRUE(Fails(RemoteDelivery(*check).CheckRecipient(user, 0, ""), ErrorCode::kNotFound));
  Pop3 s(pop3_);
  EXPECT_TRUE(s.mailboxes.Register(voucher, user).ok());
}

// The user named by [bot] sysop in the fixture's config, made once.
void MakeSysop() {
  auto made = Env().state->keys().CreateUser("sysop", Pw("sysop-smtp"), Pw("sysop-pop3"));
  ASSERT_TRUE(made.ok() || made.error().code == ErrorCode::kAlreadyExists) << made.error().message;
}

TEST_F(KeyRoleRegisterTest, TheSysopGetsVouchersThatOpenAccountsUpToTenASession) {
  MakeSysop();
  auto link = smtp_.NewSession();
  RemoteDelivery delivery(*link);
  // Not before the sysop logs in on the session.
  EXPECT_TRUE(Fails(delivery.Issue(1), ErrorCode::kPermissionDenied));
  ASSERT_TRUE(delivery.VerifySmtpPassword("sysop", Pw("sysop-smtp")).ok());
  auto before = Env().state->keys().CountVouchers();
  ASSERT_TRUE(before.ok());
  auto three = delivery.Issue(3);
  ASSERT_TRUE(three.ok()) << three.error().message;
  ASSERT_EQ(three->size(), 3u);
  EXPECT_EQ(Env().state->keys().CountVouchers().value(), *before + 3) << "durable, unused";
  // One of them opens an account.
  auto pop3 = Pop3(pop3_);
  const std::string name = NewName();
  auto reg = pop3.mailboxes.Register(Reveal((*three)[1]), name);
  ASSERT_TRUE(reg.ok()) << reg.error().message;
  ExpectLogins(name, *reg);
  // Ten on one session at most; a new session may ask again.
  EXPECT_TRUE(delivery.Issue(7).ok());
  EXPECT_TRUE(Fails(delivery.Issue(1), ErrorCode::kPermissionDenied));
  EXPECT_TRUE(Fails(delivery.Issue(11), ErrorCode::kInvalidArgument)) << "never sent";
  EXPECT_FALSE(link->broken());
  auto again = smtp_.NewSession();
  RemoteDelivery fresh(*again);
  ASSERT_TRUE(fresh.VerifySmtpPassword("sysop", Pw("sysop-smtp")).ok());
  EXPECT_EQ(fresh.Issue(10)->size(), 10u);
  ASSERT_TRUE(Env().state->keys().ClearVouchers().ok());
}

TEST_F(KeyRoleRegisterTest, AnyOtherUserAndAPop3SessionGetNoVoucher) {
  const std::string user = NewUser();
  auto link = smtp_.NewSession();
  RemoteDelivery delivery(*link);
  ASSERT_TRUE(delivery.VerifySmtpPassword(user, Pw(user + "-smtp")).ok());
  auto before = Env().state->keys().CountVouchers();
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(Fails(delivery.Issue(1), ErrorCode::kPermissionDenied));
  // A failed AUTH as the sysop after a good one forgets the sysop.
  MakeSysop();
  ASSERT_TRUE(delivery.VerifySmtpPassword("sysop", Pw("sysop-smtp")).ok());
  EXPECT_FALSE(delivery.VerifySmtpPassword("sysop", Pw("wrong")).ok());
  EXPECT_TRUE(Fails(delivery.Issue(1), ErrorCode::kPermissionDenied));
  EXPECT_FALSE(link->broken());
  EXPECT_EQ(Env().state->keys().CountVouchers().value(), *before);
  // A POP3 session that asks is ended.
  auto pop3_link = pop3_.NewSession();
  auto r = pop3_link->Call<ipc::IssueVouchersReply>(ipc::IssueVouchersRequest{1},
                                                    std::chrono::seconds(10));
  EXPECT_FALSE(r.ok());
}

TEST_F(KeyRoleRegisterTest, TheLogNamesOutcomesOnly) {
  const std::string voucher = NewVoucher();
  const std::string unknown = UnknownVoucher();
  const std::string user = NewName();
  Pop3 s(pop3_);
  ::testing::internal::CaptureStderr();
  auto refused = s.mailboxes.Register(unknown, user);
  auto reg = s.mailboxes.Register(voucher, user);
  auto denied = s.mailboxes.Register(unknown, user);
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(Fails(refused, ErrorCode::kUnauthenticated));
  ASSERT_TRUE(reg.ok()) << reg.error().message;
  EXPECT_TRUE(Fails(denied, ErrorCode::kPermissionDenied));
  EXPECT_NE(log.find("a pop3 registration: unauthenticated"), std::string::npos) << log;
  EXPECT_NE(log.find("a pop3 registration: ok"), std::string::npos) << log;
  EXPECT_NE(log.find("a pop3 registration: permission-denied"), std::string::npos) << log;
  for (const std::string& secret :
       {voucher, unknown, user, Reveal(reg->smtp_password), Reveal(reg->pop3_password)}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << "logged: " << secret;
  }
}

}  // namespace
}  // namespace onionmail::server
