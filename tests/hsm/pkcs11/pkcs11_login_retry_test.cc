// Pkcs11Token::Open when the module fails C_Login before judging the PIN: a
// real SoftHSM2 token behind flaky_login_module.cc, which fails the first
// C_Login calls as a test asks. One more login is allowed, and only when the
// token counts no failed PIN attempt; a wrong PIN is never tried again.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <p11-kit/pkcs11.h>
#include <stdlib.h>

#include <cstdint>
#include <string>
#include <vector>

#include "hsm/pkcs11/pkcs11_token.h"
#include "softhsm_fixture.h"

namespace onionmail::hsm {
namespace {

class FlakyLoginTest : public softhsm::SoftHsmTest {
 protected:
  void SetUp() override {
    SoftHsmTest::SetUp();
    ASSERT_EQ(::setenv("OM_FLAKY_P11_REAL", module_.c_str(), 1), 0);
    Fail(0);
    ::unsetenv("OM_FLAKY_P11_RV");
    // The wrapper stays loaded while this handle is held, so its count is
    // the one p11-kit's copy of the module increments.
    handle_ = ::dlopen(OM_FLAKY_P11_MODULE, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle_, nullptr) << ::dlerror();
    calls_ = reinterpret_cast<int (*)()>(::dlsym(handle_, "om_flaky_login_calls"));
    auto reset = reinterpret_cast<void (*)()>(::dlsym(handle_, "om_flaky_reset"));
    ASSERT_NE(calls_, nullptr);
    ASSERT_NE(reset, nullptr);
    reset();
  }

  void TearDown() override {
    if (handle_ != nullptr) ::dlclose(handle_);
    SoftHsmTest::TearDown();
  }

  static void Fail(int first_logins) {
    ASSERT_EQ(::setenv("OM_FLAKY_P11_FAILS", std::to_string(first_logins).c_str(), 1), 0);
  }

  Pkcs11Options FlakyOptions() const {
    Pkcs11Options options = Options();
    options.module_path = OM_FLAKY_P11_MODULE;
    return options;
  }

  void* handle_ = nullptr;
  int (*calls_)() = nullptr;
};

TEST_F(FlakyLoginTest, LoginFailedOnceWithGeneralErrorIsTriedOnceMoreAndOpens) {
  Fail(1);
  auto token = Pkcs11Token::Open(FlakyOptions());
  ASSERT_TRUE(token.ok()) << token.error().message;
  EXPECT_EQ(calls_(), 2);
  EXPECT_TRUE((*token)->Provision(2048).ok());
  EXPECT_TRUE((*token)->Probe().ok());
}

TEST_F(FlakyLoginTest, LoginFailedOnceWithDeviceErrorIsTriedOnceMore) {
  Fail(1);
  ASSERT_EQ(::setenv("OM_FLAKY_P11_RV", std::to_string(CKR_DEVICE_ERROR).c_str(), 1), 0);
  auto token = Pkcs11Token::Open(FlakyOptions());
  ASSERT_TRUE(token.ok()) << token.error().message;
  EXPECT_EQ(calls_(), 2);
}

TEST_F(FlakyLoginTest, LoginFailingTwiceIsNotTriedAThirdTime) {
  Fail(5);
  auto token = Pkcs11Token::Open(FlakyOptions());
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(token.error().message.find("C_Login"), std::string::npos);
  EXPECT_NE(token.error().message.find("CKR_GENERAL_ERROR"), std::string::npos);
  EXPECT_EQ(calls_(), 2);
}

TEST_F(FlakyLoginTest, NoSecondLoginWhenTokenWaitIsZero) {
  Fail(1);
  Pkcs11Options options = FlakyOptions();
  options.token_wait_ms = 0;
  auto token = Pkcs11Token::Open(options);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(calls_(), 1);
}

TEST_F(FlakyLoginTest, WrongPinIsTriedOnlyOnce) {
  softhsm::WriteFile(pin_file_, "999999\n", 0600);
  auto token = Pkcs11Token::Open(FlakyOptions());
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(calls_(), 1);
}

TEST_F(FlakyLoginTest, PinIncorrectFromTheModuleIsNeverTriedAgain) {
  Fail(1);
  ASSERT_EQ(::setenv("OM_FLAKY_P11_RV", std::to_string(CKR_PIN_INCORRECT).c_str(), 1), 0);
  auto token = Pkcs11Token::Open(FlakyOptions());
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(calls_(), 1);
}

TEST_F(FlakyLoginTest, NoSecondLoginWhenTheTokenCountsAFailedPinAttempt) {
  // A wrong PIN first: SoftHSM2 then sets CKF_USER_PIN_COUNT_LOW, which a
  // correct login would clear. A general error now is not tried again: the
  // token may have counted it.
  softhsm::WriteFile(pin_file_, "999999\n", 0600);
  ASSERT_FALSE(Pkcs11Token::Open(FlakyOptions()).ok());
  softhsm::WriteFile(pin_file_, std::string(kUserPin) + "\n", 0600);
  Fail(2);  // the wrong-PIN call above was the first
  auto token = Pkcs11Token::Open(FlakyOptions());
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(calls_(), 2);
  // The token still opens once the module logs in again.
  auto later = Pkcs11Token::Open(FlakyOptions());
  ASSERT_TRUE(later.ok()) << later.error().message;
  EXPECT_EQ(calls_(), 3);
}

TEST_F(FlakyLoginTest, PinRefusedAtAReconnectIsNotTriedAgainByLaterCalls) {
  auto token = Pkcs11Token::Open(FlakyOptions());
  ASSERT_TRUE(token.ok()) << token.error().message;
  ASSERT_TRUE((*token)->Provision(2048).ok());
  softhsm::WriteFile(pin_file_, "999999\n", 0600);  // the PIN file changes while running
  auto reconnected = (*token)->ReinitializeAfterFork();
  ASSERT_FALSE(reconnected.ok());
  EXPECT_EQ(reconnected.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(calls_(), 2);
  const std::vector<uint8_t> data = {1, 2, 3};
  for (int i = 0; i < 3; ++i) {
    auto hmac = (*token)->Hmac(data);
    ASSERT_FALSE(hmac.ok());
    EXPECT_EQ(hmac.error().code, ErrorCode::kUnauthenticated);
    EXPECT_NE(hmac.error().message.find("not tried again"), std::string::npos);
  }
  EXPECT_EQ(calls_(), 2);
}

TEST_F(FlakyLoginTest, GeneralErrorAtAReconnectIsTriedAgainByTheNextCall) {
  auto token = Pkcs11Token::Open(FlakyOptions());
  ASSERT_TRUE(token.ok()) << token.error().message;
  ASSERT_TRUE((*token)->Provision(2048).ok());
  Fail(2);  // the reconnect's login (the second call) fails
  auto reconnected = (*token)->ReinitializeAfterFork();
  ASSERT_FALSE(reconnected.ok());
  EXPECT_EQ(reconnected.error().code, ErrorCode::kUnavailable);
  const std::vector<uint8_t> data = {1, 2, 3};
  auto hmac = (*token)->Hmac(data);
  EXPECT_TRUE(hmac.ok()) << hmac.error().message;
  EXPECT_EQ(calls_(), 3);
}

}  // namespace
}  // namespace onionmail::hsm
