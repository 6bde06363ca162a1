// TORM in the SMTP session (docs/PROTOCOL.md, "TORM over SMTP"): offered only
// inside TLS 1.3 when a service is configured; the blob and the connection's
// channel binding reach the service unchanged; every refusal is a fixed reply.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "smtp/base64.h"
#include "smtp/session.h"
#include "tests/smtp/session_fixture.h"

namespace onionmail::smtp {
namespace {

using ::testing::ElementsAre;

struct RecordingTorm : mail::TormService {
  struct Call {
    mail::TormVerb verb;
    mail::ChannelBinding binding;
    std::vector<uint8_t> request;
  };
  Result<mail::TormAnswer> Handle(mail::TormVerb verb, const mail::ChannelBinding& binding,
                                  std::span<const uint8_t> request) override {
    calls.push_back({verb, binding, {request.begin(), request.end()}});
    if (fail) return MakeError(ErrorCode::kUnavailable, "key role gone");
    return answer;
  }
  std::vector<Call> calls;
  mail::TormAnswer answer{mail::TormOutcome::kOk, {0xde, 0xad, 0xbe, 0xef}};
  bool fail = false;
};

std::string B64(std::vector<uint8_t> bytes) { return EncodeBase64(bytes); }

class SessionTormTest : public SessionTest {
 protected:
  SessionTormTest() {
    torm = &service;
    mail::ChannelBinding cb{};
    for (size_t i = 0; i < cb.size(); ++i) cb[i] = static_cast<uint8_t>(i * 7);
    binding = cb;
    conn.set_binding(cb);
  }
  RecordingTorm service;
  mail::ChannelBinding binding{};
};

TEST_F(SessionTormTest, EhloInsideTls13OffersTorm) {
  RunTls("");
  EXPECT_NE(replies[3].find("250 TORM\r\n"), std::string::npos) << replies[3];
  EXPECT_EQ(replies[1].find("TORM"), std::string::npos) << "not offered before TLS";
}

TEST_F(SessionTormTest, EhloInsideTls12DoesNotOfferTormAndTormIsNotOffered) {
  conn.set_tls13(false);
  RunTls("TORM DERK " + B64({1, 2, 3}) + "\r\n");
  EXPECT_EQ(replies[3].find("TORM"), std::string::npos) << replies[3];
  ASSERT_EQ(replies.size(), 5u);
  EXPECT_EQ(replies[4], "502 5.5.1 TORM refused: not-offered\r\n");
  EXPECT_TRUE(service.calls.empty());
}

TEST_F(SessionTormTest, WithoutAServiceTormIsAnUnknownCommandAndNotAdvertised) {
  torm = nullptr;
  RunTls("TORM DERK " + B64({1}) + "\r\n");
  EXPECT_EQ(replies[3].find("TORM"), std::string::npos);
  EXPECT_THAT(CodesAfterTls(), ElementsAre(500));
}

TEST_F(SessionTormTest, TormBeforeTlsIsRejectedWith530) {
  Run("EHLO client.test\r\nTORM DERK " + B64({1}) + "\r\n");
  EXPECT_THAT(Codes(), ElementsAre(220, 250, 530));
  EXPECT_TRUE(service.calls.empty());
}

TEST_F(SessionTormTest, RequestAndChannelBindingReachTheServiceAndTheAnswerIsBase64) {
  RunTls("TORM DERK " + B64({1, 2, 3, 4, 5}) + "\r\ntorm stat " + B64({9}) + "\r\n");
  ASSERT_EQ(service.calls.size(), 2u);
  EXPECT_EQ(service.calls[0].verb, mail::TormVerb::kDerk);
  EXPECT_EQ(service.calls[0].binding, binding);
  EXPECT_EQ(service.calls[0].request, (std::vector<uint8_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(service.calls[1].verb, mail::TormVerb::kStat);
  ASSERT_EQ(replies.size(), 6u);
  EXPECT_EQ(replies[4], "250 2.0.0 3q2+7w==\r\n");
}

TEST_F(SessionTormTest, EveryVerbIsRecognised) {
  RunTls("TORM PUSH " + B64({1}) + "\r\nTORM DERK " + B64({1}) + "\r\nTORM STAT " + B64({1}) +
         "\r\nTORM KCTL " + B64({1}) + "\r\n");
  ASSERT_EQ(service.calls.size(), 4u);
  EXPECT_EQ(service.calls[0].verb, mail::TormVerb::kPush);
  EXPECT_EQ(service.calls[1].verb, mail::TormVerb::kDerk);
  EXPECT_EQ(service.calls[2].verb, mail::TormVerb::kStat);
  EXPECT_EQ(service.calls[3].verb, mail::TormVerb::kKctl);
}

TEST_F(SessionTormTest, MalformedTormCommandsGet501AndNeverReachTheService) {
  RunTls("TORM\r\nTORM DERK\r\nTORM FOO " + B64({1}) + "\r\nTORM DERK not*base64\r\n" +
         "TORM DERK " + B64({1}) + "x\r\nTORM DERK =\r\n" + "TORM DERK " +
         B64(std::vector<uint8_t>(mail::kMaxTormBlobBytes + 1, 7)) + "\r\nNOOP\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(501, 501, 501, 501, 501, 501, 501, 250));
  EXPECT_EQ(replies[4], "501 5.5.4 TORM refused: bad-request\r\n");
  EXPECT_TRUE(service.calls.empty());
}

TEST_F(SessionTormTest, LargestRequestFitsOnOneCommandLine) {
  RunTls("TORM PUSH " + B64(std::vector<uint8_t>(mail::kMaxTormBlobBytes, 7)) + "\r\n");
  ASSERT_EQ(service.calls.size(), 1u);
  EXPECT_EQ(service.calls[0].request.size(), mail::kMaxTormBlobBytes);
}

TEST_F(SessionTormTest, RefusalsUseTheirFixedReplies) {
  const std::pair<mail::TormOutcome, std::string> cases[] = {
      {mail::TormOutcome::kBadSignature, "554 5.7.1 TORM refused: bad-signature\r\n"},
      {mail::TormOutcome::kDisabled, "554 5.7.1 TORM refused: disabled\r\n"},
      {mail::TormOutcome::kNoCredits, "554 5.7.1 TORM refused: no-credits\r\n"},
      {mail::TormOutcome::kRateLimited, "450 4.7.1 TORM refused: rate-limited\r\n"},
      {mail::TormOutcome::kTemporary, "451 4.3.0 TORM refused: temporary\r\n"},
  };
  for (const auto& [outcome, expected] : cases) {
    service.answer = {outcome, {1, 2, 3}};
    conn = net::FakeConnection();
    conn.set_binding(binding);
    RunTls("TORM DERK " + B64({1}) + "\r\n");
    ASSERT_EQ(replies.size(), 5u);
    EXPECT_EQ(replies[4], expected);
  }
}

TEST_F(SessionTormTest, ServiceFailureIsATemporaryReplyAndTheSessionGoesOn) {
  service.fail = true;
  RunTls("TORM DERK " + B64({1}) + "\r\nNOOP\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(451, 250));
}

TEST_F(SessionTormTest, TormInsideAMailTransactionIsABadSequence) {
  RunTls("MAIL FROM:<x@remote.onion>\r\nTORM DERK " + B64({1}) + "\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 503));
  EXPECT_TRUE(service.calls.empty());
}

TEST_F(SessionTormTest, TormNeedsEhloAfterStartTls) {
  Run("EHLO client.test\r\nSTARTTLS\r\n", "TORM DERK " + B64({1}) + "\r\n");
  EXPECT_THAT(Codes(), ElementsAre(220, 250, 220, 503));
}

TEST(Base64Test, EncodeIsCanonicalAndRoundTrips) {
  EXPECT_EQ(EncodeBase64(std::vector<uint8_t>{}), "");
  EXPECT_EQ(EncodeBase64(std::vector<uint8_t>{'f'}), "Zg==");
  EXPECT_EQ(EncodeBase64(std::vector<uint8_t>{'f', 'o'}), "Zm8=");
  EXPECT_EQ(EncodeBase64(std::vector<uint8_t>{'f', 'o', 'o', 'b', 'a', 'r'}), "Zm9vYmFy");
  for (size_t n = 0; n < 70; ++n) {
    std::vector<uint8_t> data(n);
    for (size_t i = 0; i < n; ++i) data[i] = static_cast<uint8_t>(i * 37 + n);
    auto back = DecodeBase64(EncodeBase64(data));
    ASSERT_TRUE(back.ok());
    auto view = back->Reveal(SecretAccess::Grant());
    EXPECT_EQ(std::vector<uint8_t>(view.begin(), view.end()), data);
  }
}

}  // namespace
}  // namespace onionmail::smtp
