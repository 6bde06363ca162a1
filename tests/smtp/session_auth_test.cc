// Session AUTH (RFC 4954, PLAIN and LOGIN) and the sender rules that depend
// on it: a sender in our own domain must be authenticated as that user.
#include <gtest/gtest.h>

#include <chrono>

#include "smtp/session.h"
#include "tests/smtp/session_fixture.h"

namespace onionmail::smtp {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST_F(SessionTest, AuthPlainWithInitialResponseSucceeds) {
  RunTls("AUTH PLAIN " + Plain("", "alice", "alice-pw") + "\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235));
  EXPECT_EQ(replies[4], "235 2.7.0 Authentication successful\r\n");
  EXPECT_THAT(backend.verify_calls, ElementsAre("alice"));
}

TEST_F(SessionTest, AuthPlainWithContinuationSucceeds) {
  RunTls("AUTH PLAIN\r\n" + Plain("", "alice", "alice-pw") + "\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(334, 235));
  EXPECT_EQ(replies[4], "334 \r\n");
}

TEST_F(SessionTest, AuthPlainUserNameIsLowerCasedAndOwnDomainStripped) {
  RunTls("AUTH PLAIN " + Plain("", "ALICE@Example.Onion", "alice-pw") + "\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235));
  EXPECT_THAT(backend.verify_calls, ElementsAre("alice"));
}

TEST_F(SessionTest, AuthPlainWithMatchingAuthzidSucceeds) {
  RunTls("AUTH PLAIN " + Plain("alice", "alice", "alice-pw") + "\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235));
}

TEST_F(SessionTest, AuthPlainWithForeignAuthzidFailsWithoutVerifying) {
  RunTls("AUTH PLAIN " + Plain("bob", "alice", "alice-pw") + "\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(535));
  EXPECT_TRUE(backend.verify_calls.empty());
}

TEST_F(SessionTest, AuthPlainWrongPasswordIs535) {
  RunTls("AUTH PLAIN " + Plain("", "alice", "wrong") + "\r\nMAIL FROM:<alice@example.onion>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(535, 530));
  EXPECT_EQ(replies[4], "535 5.7.8 Authentication credentials invalid\r\n");
}

TEST_F(SessionTest, AuthPlainUnknownUserIs535) {
  RunTls("AUTH PLAIN " + Plain("", "mallory", "x") + "\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(535));
}

TEST_F(SessionTest, AuthWithInvalidUserNameFailsWithoutVerifying) {
  RunTls("AUTH PLAIN " + Plain("", "../alice", "alice-pw") + "\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(535));
  EXPECT_TRUE(backend.verify_calls.empty());
}

TEST_F(SessionTest, AuthLoginSucceeds) {
  RunTls("AUTH LOGIN\r\n" + Base64("alice") + "\r\n" + Base64("alice-pw") + "\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(334, 334, 235));
  EXPECT_EQ(replies[4], "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(replies[5], "334 UGFzc3dvcmQ6\r\n");
}

TEST_F(SessionTest, AuthLoginWithInitialUserNameSucceeds) {
  RunTls("AUTH LOGIN " + Base64("alice") + "\r\n" + Base64("alice-pw") + "\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(334, 235));
  EXPECT_EQ(replies[4], "334 UGFzc3dvcmQ6\r\n");
}

TEST_F(SessionTest, AuthLoginWrongPasswordIs535) {
  RunTls("AUTH LOGIN\r\n" + Base64("alice") + "\r\n" + Base64("bob-pw") + "\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(334, 334, 535));
}

TEST_F(SessionTest, AuthCancelledWithStarIs501) {
  RunTls("AUTH LOGIN\r\n*\r\nAUTH PLAIN\r\n*\r\nNOOP\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(334, 501, 334, 501, 250));
  EXPECT_EQ(replies[5], "501 5.7.0 Authentication cancelled\r\n");
  EXPECT_TRUE(backend.verify_calls.empty());
}

TEST_F(SessionTest, AuthWithInvalidBase64Is501) {
  RunTls("AUTH PLAIN not*base64\r\nAUTH PLAIN\r\nYWJj=\r\nAUTH LOGIN\r\nYW Jj\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(501, 334, 501, 334, 501));
  EXPECT_EQ(replies[4], "501 5.5.2 Cannot decode base64 response\r\n");
  EXPECT_TRUE(backend.verify_calls.empty());
}

TEST_F(SessionTest, AuthWithUnknownMechanismIs504) {
  RunTls("AUTH CRAM-MD5\r\nAUTH\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(504, 501));
}

TEST_F(SessionTest, AuthTwiceIs503) {
  RunTls("AUTH PLAIN " + Plain("", "alice", "alice-pw") + "\r\nAUTH PLAIN " +
         Plain("", "bob", "bob-pw") + "\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 503));
  EXPECT_EQ(backend.verify_calls.size(), 1u);
}

TEST_F(SessionTest, AuthDuringATransactionIs503) {
  RunTls("MAIL FROM:<x@remote.onion>\r\nAUTH PLAIN " + Plain("", "alice", "alice-pw") + "\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 503));
  EXPECT_TRUE(backend.verify_calls.empty());
}

TEST_F(SessionTest, AuthBeforeEhloInsideTlsIs503) {
  Run("EHLO c\r\nSTARTTLS\r\n", "AUTH PLAIN " + Plain("", "alice", "alice-pw") + "\r\n");
  EXPECT_THAT(Codes(), ElementsAre(220, 250, 220, 503));
}

TEST_F(SessionTest, AuthBackendUnavailableIs454) {
  backend.verify_error = ErrorCode::kUnavailable;
  RunTls("AUTH PLAIN " + Plain("", "alice", "alice-pw") + "\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(454));
  EXPECT_EQ(replies[4].substr(0, 10), "454 4.7.0 ");
}

TEST_F(SessionTest, TooManyAuthFailuresGet421AndClose) {
  std::string bad = "AUTH PLAIN " + Plain("", "alice", "nope") + "\r\n";
  RunTls(bad + bad + bad + "NOOP\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(535, 535, 421));
  EXPECT_THAT(Last(), HasSubstr("421 4.7.0 mx.example.onion "));
}

TEST_F(SessionTest, FailedAuthIsDelayed) {
  cfg.auth_failure_delay_ms = 60;
  auto start = std::chrono::steady_clock::now();
  RunTls("AUTH PLAIN " + Plain("", "alice", "nope") + "\r\n");
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_THAT(CodesAfterTls(), ElementsAre(535));
  EXPECT_GE(elapsed, std::chrono::milliseconds(60));
}

TEST_F(SessionTest, BareLfInAuthContinuationIs521AndCloses) {
  RunTls("AUTH PLAIN\r\n" + Plain("", "alice", "alice-pw") + "\nNOOP\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(334, 521));
  EXPECT_TRUE(backend.verify_calls.empty());
}

TEST_F(SessionTest, AuthenticatedUserMaySendAsHerself) {
  RunTls(
      "AUTH PLAIN " + Plain("", "alice", "alice-pw") +
      "\r\nMAIL FROM:<Alice@EXAMPLE.onion>\r\nRCPT TO:<bob@example.onion>\r\nDATA\r\nhi\r\n.\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 354, 250));
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_THAT(backend.delivered[0].bytes, HasSubstr("(onionmaild) with ESMTPSA; "));
}

TEST_F(SessionTest, UnauthenticatedLocalSenderIs530) {
  RunTls("MAIL FROM:<alice@example.onion>\r\nMAIL FROM:<ALICE@Example.Onion>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(530, 530));
  EXPECT_EQ(replies[4].substr(0, 10), "530 5.7.0 ");
}

TEST_F(SessionTest, AuthenticatedUserCannotClaimAnotherLocalAddress) {
  RunTls("AUTH PLAIN " + Plain("", "bob", "bob-pw") + "\r\nMAIL FROM:<alice@example.onion>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 553));
  EXPECT_EQ(replies[5].substr(0, 10), "553 5.7.1 ");
}

TEST_F(SessionTest, ExternalSenderNeedsNoAuth) {
  RunTls("MAIL FROM:<someone@other.onion>\r\nRCPT TO:<bob@example.onion>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250));
}

TEST_F(SessionTest, AuthInPlaintextIsRefusedWith530EvenWithValidCredentials) {
  // AUTH is refused in plaintext even with valid credentials, and the
  // credentials never reach the backend.
  Run("EHLO c\r\nAUTH PLAIN " + Plain("", "alice", "alice-pw") + "\r\n");
  EXPECT_THAT(Codes(), ElementsAre(220, 250, 530));
  EXPECT_TRUE(backend.verify_calls.empty());
}

}  // namespace
}  // namespace onionmail::smtp
