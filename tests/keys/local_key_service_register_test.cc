// keys::LocalKeyService's self-registration (local_key_service.h,
// "Self-registration"; mail::RegistrationService::Register's contract): every
// error and its order (the voucher before the name), the voucher kept when
// the name is taken or the account cannot be made, a success that gives two
// working passwords and uses the voucher up, concurrent registrations, and
// the operator's AddVouchers/CountVouchers/ClearVouchers.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/log.h"
#include "keys/local_key_service.h"
#include "mail/registration.h"
#include "tests/store/test_util.h"

namespace onionmail::keys {
namespace {

using onionmail::testing::TempDir;
using onionmail::testing::WriteFileBytes;

SecretBytes Pw(std::string_view s) { return SecretBytes(SecretAccess::Grant(), s); }
std::string Text(const SecretBytes& s) {
  return std::string(s.RevealString(SecretAccess::Grant()));
}

const std::optional<ErrorCode> kOk;

template <typename T>
ErrorCode CodeOf(const Result<T>& r) {
  return r.ok() ? ErrorCode::kInternal : r.error().code;
}

bool Base32Lower(std::string_view s) {
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'))) return false;
  }
  return true;
}

class RegisterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ks = hsm::CreateFileKeyStore(dir_.path() + "/server.key");
    ASSERT_TRUE(ks.ok());
    key_store_ = std::move(*ks);
    LocalKeyService::Options o;
    o.state_dir = dir_.path();
    o.kdf = crypto::Argon2Params{1, 8192, 1};
    service_ = std::make_unique<LocalKeyService>(*key_store_, o);
    ASSERT_TRUE(service_->CreateUser("alice", Pw("smtp-secret"), Pw("pop3-secret")).ok());
  }
  std::string Voucher() {
    auto made = service_->AddVouchers(1);
    EXPECT_TRUE(made.ok());
    return made.ok() && made->size() == 1 ? Text((*made)[0]) : std::string();
  }
  size_t Vouchers() {
    auto n = service_->CountVouchers();
    EXPECT_TRUE(n.ok());
    return n.ok() ? *n : 0;
  }
  // The error code, or kOk (nullopt) on success.
  std::optional<ErrorCode> Register(std::string_view voucher, std::string_view user) {
    auto r = service_->RegisterUser(voucher, user);
    if (r.ok()) return std::nullopt;
    return r.error().code;
  }
  bool UserExists(std::string_view user) { return service_->LookupUser(user).ok(); }

  TempDir dir_;
  std::unique_ptr<hsm::KeyStore> key_store_;
  std::unique_ptr<LocalKeyService> service_;
};

TEST_F(RegisterTest, AVoucherOpensOneAccountWithTwoWorkingPasswords) {
  const std::string voucher = Voucher();
  ASSERT_EQ(Vouchers(), 1u);
  auto made = service_->RegisterUser(voucher, "dave");
  ASSERT_TRUE(made.ok()) << made.error().message;
  const std::string smtp = Text(made->smtp_password);
  const std::string pop3 = Text(made->pop3_password);
  EXPECT_EQ(smtp.size(), mail::kGeneratedPasswordChars);
  EXPECT_EQ(pop3.size(), mail::kGeneratedPasswordChars);
  EXPECT_TRUE(Base32Lower(smtp)) << smtp;
  EXPECT_TRUE(Base32Lower(pop3)) << pop3;
  EXPECT_NE(smtp, pop3);
  EXPECT_TRUE(UserExists("dave"));
  EXPECT_TRUE(service_->VerifySmtpPassword("dave", made->smtp_password).ok());
  auto inbox = service_->OpenInbox("dave", made->pop3_password);
  ASSERT_TRUE(inbox.ok());
  EXPECT_EQ((*inbox)->mailbox_id(), service_->LookupUser("dave")->mailbox_id);
  // One password does not do the other's work.
  EXPECT_EQ(CodeOf(service_->VerifySmtpPassword("dave", made->pop3_password)),
            ErrorCode::kUnauthenticated);
  EXPECT_EQ(CodeOf(service_->OpenInbox("dave", made->smtp_password)), ErrorCode::kUnauthenticated);
  // The voucher is used up.
  EXPECT_EQ(Vouchers(), 0u);
  EXPECT_EQ(Register(voucher, "erin"), ErrorCode::kUnauthenticated);
  EXPECT_FALSE(UserExists("erin"));
  EXPECT_EQ(*service_->CountUsers(), 2u);
}

TEST_F(RegisterTest, AVoucherMayBeTypedInUpperCase) {
  std::string voucher = Voucher();
  for (char& c : voucher) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  EXPECT_EQ(Register(voucher, "dave"), kOk);
  EXPECT_TRUE(UserExists("dave"));
  EXPECT_EQ(Vouchers(), 0u);
}

TEST_F(RegisterTest, WithoutAGoodVoucherNothingIsSaidAboutTheName) {
  const std::string used = Voucher();
  ASSERT_EQ(Register(used, "dave"), kOk);  // used up now
  const std::string valid = Voucher();     // stays unused throughout
  for (std::string_view voucher :
       {std::string_view("abcdefghijklmnopqrst"),  // well formed, never made
        std::string_view(used),                    // used
        std::string_view("abcdefghijklmnopqrs1"),  // '1' is not base32
        std::string_view("short"), std::string_view("")}) {
    // Free, taken, reserved, invalid: always the voucher's error.
    for (std::string_view name :
         {"frank", "alice", "dave", "postmaster", "server", "team.list", "Bad Name", ""}) {
      EXPECT_EQ(Register(voucher, name), ErrorCode::kUnauthenticated) << voucher << " " << name;
    }
  }
  EXPECT_FALSE(UserExists("frank"));
  EXPECT_EQ(Vouchers(), 1u);
  EXPECT_EQ(Register(valid, "frank"), kOk);
}

TEST_F(RegisterTest, ATakenNameLeavesTheVoucherUsable) {
  const std::string voucher = Voucher();
  EXPECT_EQ(Register(voucher, "alice"), ErrorCode::kAlreadyExists);
  EXPECT_EQ(Vouchers(), 1u);
  // alice's passwords are untouched.
  EXPECT_TRUE(service_->VerifySmtpPassword("alice", Pw("smtp-secret")).ok());
  EXPECT_TRUE(service_->OpenInbox("alice", Pw("pop3-secret")).ok());
  EXPECT_EQ(Register(voucher, "dave"), kOk);
  EXPECT_EQ(Vouchers(), 0u);
}

TEST_F(RegisterTest, ReservedNamesAreRefusedAndTheVoucherKept) {
  const std::string voucher = Voucher();
  for (std::string_view name :
       {"server", "postmaster", "abuse", "hostmaster", "webmaster", "root", "admin",
        "administrator", "sysop", "mailer-daemon", "nobody", "noreply", "no-reply", "onionmail",
        "security", "support", "info", "team.list", "x.list"}) {
    EXPECT_EQ(Register(voucher, name), ErrorCode::kInvalidArgument) << name;
    EXPECT_FALSE(UserExists(name)) << name;
  }
  EXPECT_EQ(Vouchers(), 1u);
  // `user add` may still make a role name; the name check comes before the
  // taken check, so it stays kInvalidArgument.
  ASSERT_TRUE(service_->CreateUser("postmaster", Pw("smtp-secret"), Pw("pop3-secret")).ok());
  EXPECT_EQ(Register(voucher, "postmaster"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Vouchers(), 1u);
}

TEST_F(RegisterTest, InvalidNamesAreRefusedAndTheVoucherKept) {
  const std::string voucher = Voucher();
  for (std::string_view name : {"", "Dave", "DAVE", ".dave", "dave.", "da..ve", "da ve", "dave@x",
                                "dave+tag", "d/ave", "d\xc3\xa9"}) {
    EXPECT_EQ(Register(voucher, name), ErrorCode::kInvalidArgument) << name;
  }
  EXPECT_EQ(Register(voucher, std::string(65, 'a')), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(UserExists("dave"));
  EXPECT_EQ(Vouchers(), 1u);
  EXPECT_EQ(Register(voucher, std::string(64, 'a')), kOk);  // 64 is allowed
}

TEST_F(RegisterTest, AFailedAccountCreationGivesTheVoucherBack) {
  const std::string voucher = Voucher();
  // <state>/tmp a file: the record cannot be written (even as root).
  std::filesystem::remove_all(dir_.path() + "/tmp");
  WriteFileBytes(dir_.path() + "/tmp", {'x'});
  EXPECT_NE(Register(voucher, "dave"), kOk);
  EXPECT_EQ(Vouchers(), 1u);
  EXPECT_NE(Register(voucher, "dave"), kOk);  // and again: the voucher was back
  EXPECT_FALSE(UserExists("dave"));
  EXPECT_EQ(Vouchers(), 1u);
  std::filesystem::remove(dir_.path() + "/tmp");
  EXPECT_TRUE(service_->RegisterUser(voucher, "dave").ok());
  EXPECT_TRUE(UserExists("dave"));
  EXPECT_EQ(Vouchers(), 0u);
}

TEST_F(RegisterTest, ConcurrentRegistrationsOfOneNameHaveOneWinnerAndTheLoserKeepsItsVoucher) {
  const std::string first = Voucher();
  const std::string second = Voucher();
  std::atomic<int> ok{0};
  std::atomic<int> taken{0};
  std::vector<std::thread> threads;
  for (const std::string* v : {&first, &second}) {
    threads.emplace_back([&, v] {
      auto r = service_->RegisterUser(*v, "dave");
      if (r.ok()) {
        ++ok;
      } else if (r.error().code == ErrorCode::kAlreadyExists) {
        ++taken;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(taken.load(), 1);
  EXPECT_EQ(Vouchers(), 1u);  // the loser's voucher is usable
  EXPECT_TRUE(Register(first, "erin") == kOk || Register(second, "erin") == kOk);
  EXPECT_EQ(Vouchers(), 0u);
}

TEST_F(RegisterTest, ConcurrentRegistrationsWithOneVoucherOpenOneAccount) {
  const std::string voucher = Voucher();
  std::atomic<int> ok{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (std::string name : {"dave", "erin", "frank", "gina"}) {
    threads.emplace_back([&, name] {
      auto r = service_->RegisterUser(voucher, name);
      if (r.ok()) {
        ++ok;
      } else if (r.error().code == ErrorCode::kUnauthenticated) {
        ++refused;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(refused.load(), 3);
  EXPECT_EQ(*service_->CountUsers(), 2u);
  EXPECT_EQ(Vouchers(), 0u);
}

TEST_F(RegisterTest, NothingSecretOrNamedIsLogged) {
  log::SetLevel(log::Level::kDebug);
  const std::string voucher = Voucher();
  const std::string spare = Voucher();
  ::testing::internal::CaptureStderr();
  auto made = service_->RegisterUser(voucher, "dave");
  (void)service_->RegisterUser(spare, "alice");
  (void)service_->RegisterUser(voucher, "erin");
  std::filesystem::remove_all(dir_.path() + "/tmp");
  WriteFileBytes(dir_.path() + "/tmp", {'x'});
  (void)service_->RegisterUser(spare, "frank");
  const std::string logged = ::testing::internal::GetCapturedStderr();
  log::SetLevel(log::Level::kInfo);
  ASSERT_TRUE(made.ok());
  EXPECT_NE(logged.find("an account was opened with a voucher"), std::string::npos) << logged;
  for (const std::string& secret :
       {voucher, spare, Text(made->smtp_password), Text(made->pop3_password), std::string("dave"),
        std::string("alice"), std::string("erin"), std::string("frank")}) {
    EXPECT_EQ(logged.find(secret), std::string::npos) << secret;
  }
}

TEST_F(RegisterTest, AddCountAndClearVouchers) {
  EXPECT_EQ(Vouchers(), 0u);
  EXPECT_EQ(CodeOf(service_->AddVouchers(0)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(service_->AddVouchers(1001)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Vouchers(), 0u);
  auto made = service_->AddVouchers(1000);
  ASSERT_TRUE(made.ok());
  ASSERT_EQ(made->size(), 1000u);
  for (const SecretBytes& v : *made) {
    ASSERT_EQ(mail::CanonicalVoucher(Text(v)), Text(v));
  }
  EXPECT_EQ(Vouchers(), 1000u);
  ASSERT_TRUE(service_->ClearVouchers().ok());
  EXPECT_EQ(Vouchers(), 0u);
  EXPECT_EQ(Register(Text((*made)[0]), "dave"), ErrorCode::kUnauthenticated);
  ASSERT_TRUE(service_->ClearVouchers().ok());  // none: still ok
}

TEST_F(RegisterTest, VouchersLiveInTheStateDirectoryAcrossInstances) {
  const std::string voucher = Voucher();
  LocalKeyService::Options o;
  o.state_dir = dir_.path();
  o.kdf = crypto::Argon2Params{1, 8192, 1};
  LocalKeyService other(*key_store_, o);  // e.g. onionmailctl made it, the key role uses it
  EXPECT_EQ(*other.CountVouchers(), 1u);
  ASSERT_TRUE(other.RegisterUser(voucher, "dave").ok());
  EXPECT_EQ(Vouchers(), 0u);
  EXPECT_TRUE(UserExists("dave"));
}

}  // namespace
}  // namespace onionmail::keys
