// TKIM in the SMTP session (docs/PROTOCOL.md, "TKIM: which onion server
// relays a message"): offered only inside TLS 1.3 with a service; the proof
// and the connection's channel binding reach the service unchanged; each
// failure has its fixed reply; a proven server sends only as its own onion
// and is named in the Received header.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "smtp/base64.h"
#include "smtp/session.h"
#include "tests/smtp/fake_tkim.h"
#include "tests/smtp/session_fixture.h"

namespace onionmail::smtp {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// v3 onion names (docs/PROTOCOL.md, "TKIM test vectors").
constexpr char kSender[] = "c5j427vx2jqfswevlixlr6xoshvaojzfnfyq2verfqys43ddjyim56qd.onion";
constexpr char kOther[] = "hb53jwwf6mybde3jqmx4xys74nsvw3esiswtyhegofrgmexlfqx7gpid.onion";

std::string B64(std::vector<uint8_t> bytes) { return EncodeBase64(bytes); }

const std::string kProof = "TKIM " + B64({1, 2, 3, 4}) + "\r\n";

class SessionTkimTest : public SessionTest {
 protected:
  SessionTkimTest() {
    tkim = &service;
    service.domain = kSender;
    for (size_t i = 0; i < binding.size(); ++i) binding[i] = static_cast<uint8_t>(200 - i);
    conn.set_binding(binding);
  }
  // A fresh connection for another session in the same test.
  void Reconnect() {
    conn = net::FakeConnection();
    conn.set_binding(binding);
  }
  FakeTkim service;
  mail::ChannelBinding binding{};
};

TEST_F(SessionTkimTest, EhloInsideTls13OffersTkimButNotBefore) {
  RunTls("");
  EXPECT_NE(replies[3].find("250 TKIM\r\n"), std::string::npos) << replies[3];
  EXPECT_EQ(replies[1].find("TKIM"), std::string::npos) << "not offered before TLS";
}

TEST_F(SessionTkimTest, WithoutAServiceTkimIsAnUnknownCommandAndNotOffered) {
  tkim = nullptr;
  RunTls("TKIM KEY\r\n" + kProof);
  EXPECT_EQ(replies[3].find("TKIM"), std::string::npos) << replies[3];
  EXPECT_THAT(CodesAfterTls(), ElementsAre(500, 500));
  EXPECT_EQ(replies[4], "500 5.5.1 Error: command not recognized\r\n");
}

TEST_F(SessionTkimTest, TkimBeforeStartTlsIsRefusedWith530) {
  Run("EHLO client.test\r\nTKIM KEY\r\n" + kProof);
  EXPECT_THAT(Codes(), ElementsAre(220, 250, 530, 530));
  EXPECT_EQ(service.key_calls, 0);
  EXPECT_TRUE(service.calls.empty());
}

TEST_F(SessionTkimTest, InsideTls12TkimIsNotOfferedAndRefusedWith502) {
  conn.set_tls13(false);
  RunTls("TKIM KEY\r\n" + kProof);
  EXPECT_EQ(replies[3].find("TKIM"), std::string::npos) << replies[3];
  EXPECT_THAT(CodesAfterTls(), ElementsAre(502, 502));
  EXPECT_EQ(replies[4], "502 5.5.1 TKIM not offered: TLS 1.3 required\r\n");
  EXPECT_TRUE(service.calls.empty());
}

TEST_F(SessionTkimTest, TkimNeedsEhloAfterStartTls) {
  Run("EHLO client.test\r\nSTARTTLS\r\n", "TKIM KEY\r\n" + kProof);
  EXPECT_THAT(Codes(), ElementsAre(220, 250, 220, 503, 503));
  EXPECT_EQ(replies[3], "503 5.5.1 Error: send EHLO/HELO first\r\n");
  EXPECT_TRUE(service.calls.empty());
}

TEST_F(SessionTkimTest, KeyIsAnsweredWithTheServerKeyInBase64) {
  RunTls("TKIM KEY\r\ntkim key\r\n");
  ASSERT_EQ(replies.size(), 6u);
  EXPECT_EQ(replies[4], "250 2.0.0 +/8wggE=\r\n");
  EXPECT_EQ(replies[5], replies[4]);
  EXPECT_EQ(service.key_calls, 2);
}

TEST_F(SessionTkimTest, KeyFailureIsALocalError) {
  service.key_error = ErrorCode::kUnavailable;
  RunTls("TKIM KEY\r\nNOOP\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(451, 250));
  EXPECT_EQ(replies[4], "451 4.3.0 Local error in processing, try again later\r\n");
}

TEST_F(SessionTkimTest, ProofAndChannelBindingReachTheServiceAndTheDomainIsAnswered) {
  RunTls(kProof);
  ASSERT_EQ(service.calls.size(), 1u);
  EXPECT_EQ(service.calls[0].binding, binding);
  EXPECT_EQ(service.calls[0].proof, (std::vector<uint8_t>{1, 2, 3, 4}));
  ASSERT_EQ(replies.size(), 5u);
  EXPECT_EQ(replies[4], "250 2.7.0 Authenticated as " + std::string(kSender) + "\r\n");
}

TEST_F(SessionTkimTest, CheckErrorsMapToTheirFixedReplies) {
  const std::pair<ErrorCode, std::string> cases[] = {
      {ErrorCode::kInvalidArgument, "501 5.5.4 Malformed TKIM proof\r\n"},
      {ErrorCode::kUnauthenticated, "535 5.7.8 TKIM proof refused\r\n"},
      {ErrorCode::kUnavailable,
       "451 4.4.1 Sender's server unreachable for its key, try again later\r\n"},
      {ErrorCode::kDeadlineExceeded,
       "451 4.4.1 Sender's server unreachable for its key, try again later\r\n"},
      {ErrorCode::kResourceExhausted,
       "451 4.3.2 Too many connections out at once, try again later\r\n"},
      {ErrorCode::kInternal, "451 4.3.0 Local error in processing, try again later\r\n"},
      {ErrorCode::kNotFound, "451 4.3.0 Local error in processing, try again later\r\n"},
  };
  for (const auto& [code, expected] : cases) {
    service.check_error = code;
    Reconnect();
    RunTls(kProof + "NOOP\r\n");
    ASSERT_EQ(replies.size(), 6u) << ErrorCodeName(code);
    EXPECT_EQ(replies[4], expected) << ErrorCodeName(code);
    EXPECT_EQ(replies[5], "250 2.0.0 Ok\r\n");
  }
}

TEST_F(SessionTkimTest, RefusedProofNeverEchoesTheClientInput) {
  service.check_error = ErrorCode::kUnauthenticated;
  const std::string proof = B64({'e', 'v', 'i', 'l'});
  RunTls("TKIM " + proof + "\r\n");
  EXPECT_EQ(Last().find(proof), std::string::npos);
  EXPECT_EQ(Last().find("evil"), std::string::npos);
}

TEST_F(SessionTkimTest, MalformedProofsGet501AndNeverReachTheService) {
  RunTls("TKIM\r\nTKIM not*base64\r\nTKIM " + B64({1}) + "x\r\nTKIM =\r\nTKIM " + B64({1}) +
         " \r\nTKIM KEYS\r\nNOOP\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(501, 501, 421));
  EXPECT_EQ(replies[4], "501 5.5.4 Malformed TKIM proof\r\n");
  EXPECT_TRUE(service.calls.empty());
}

TEST_F(SessionTkimTest, OversizedProofIsMalformedAndTheLargestFits) {
  cfg.max_auth_failures = 10;
  RunTls("TKIM " + B64(std::vector<uint8_t>(mail::kMaxTormBlobBytes + 1, 7)) + "\r\nTKIM " +
         B64(std::vector<uint8_t>(mail::kMaxTormBlobBytes, 7)) + "\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(501, 250));
  ASSERT_EQ(service.calls.size(), 1u);
  EXPECT_EQ(service.calls[0].proof.size(), mail::kMaxTormBlobBytes);
}

TEST_F(SessionTkimTest, RefusedProofsCountAsFailedAuthenticationsAndCloseAtTheLimit) {
  service.check_error = ErrorCode::kUnauthenticated;
  RunTls(kProof + kProof + kProof + "NOOP\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(535, 535, 421));
  EXPECT_EQ(Last(),
            "421 4.7.0 mx.example.onion Error: too many failed authentication attempts, "
            "closing\r\n");
}

TEST_F(SessionTkimTest, TemporaryFailuresDoNotCountTowardsTheLimit) {
  service.check_error = ErrorCode::kUnavailable;
  RunTls(kProof + kProof + kProof + kProof + "NOOP\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(451, 451, 451, 451, 250));
}

TEST_F(SessionTkimTest, SecondProofAfterASuccessIsABadSequence) {
  RunTls(kProof + kProof + "TKIM KEY\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 503, 250));
  EXPECT_EQ(replies[5], "503 5.5.1 Error: a server is already proven in this session\r\n");
  EXPECT_EQ(service.calls.size(), 1u);
}

TEST_F(SessionTkimTest, NewEhloForgetsTheProvenDomain) {
  RunTls(kProof + "EHLO again.test\r\nMAIL FROM:<x@" + std::string(kOther) + ">\r\nRSET\r\n" +
         kProof);
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 250, 250, 250));
  EXPECT_EQ(service.calls.size(), 2u);
}

TEST_F(SessionTkimTest, TkimInsideAMailTransactionIsABadSequence) {
  RunTls("MAIL FROM:<x@remote.onion>\r\n" + kProof + "TKIM KEY\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 503, 503));
  EXPECT_EQ(replies[5], "503 5.5.1 Error: TKIM not allowed during a mail transaction\r\n");
  EXPECT_TRUE(service.calls.empty());
  EXPECT_EQ(service.key_calls, 0);
}

TEST_F(SessionTkimTest, AfterAProofMailFromAnotherOnionIsRefusedWith550) {
  RunTls(kProof + "MAIL FROM:<x@" + std::string(kOther) + ">\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 550));
  EXPECT_EQ(Last(),
            "550 5.7.1 Sender's onion is not the server proven by TKIM in this session\r\n");
}

TEST_F(SessionTkimTest, AfterAProofMailFromTheProvenOnionIsAcceptedInAnyCase) {
  std::string upper = kSender;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  RunTls(kProof + "MAIL FROM:<x@" + upper + ">\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250));
}

TEST_F(SessionTkimTest, AfterAProofNonOnionAndNullSendersAreAccepted) {
  RunTls(kProof + "MAIL FROM:<x@remote.onion>\r\nRSET\r\nMAIL FROM:<x@example.org>\r\nRSET\r\n" +
         "MAIL FROM:<>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 250, 250, 250, 250));
}

TEST_F(SessionTkimTest, AfterAProofOurOwnOnionIsGovernedByAuthNotByTkim) {
  cfg.domain = kOther;
  RunTls(kProof + "MAIL FROM:<alice@" + std::string(kOther) + ">\r\nAUTH PLAIN " +
         Plain("", "alice", "alice-pw") + "\r\nMAIL FROM:<alice@" + std::string(kOther) + ">\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 530, 235, 250));
}

TEST_F(SessionTkimTest, WithoutAProofMailFromAnyOnionIsAccepted) {
  RunTls("MAIL FROM:<x@" + std::string(kOther) + ">\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250));
}

TEST_F(SessionTkimTest, RequireTkimRefusesAnOnionSenderWithoutAProofWith550) {
  cfg.require_tkim = true;
  RunTls("MAIL FROM:<x@" + std::string(kOther) + ">\r\nMAIL FROM:<x@" + std::string(kSender) +
         ">\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(550, 550));
  EXPECT_EQ(Last(), "550 5.7.1 Mail from an onion server needs a TKIM proof of that server\r\n");
}

TEST_F(SessionTkimTest, RequireTkimAcceptsTheProvenOnionNonOnionsNullAndOurOwnDomain) {
  cfg.require_tkim = true;
  RunTls("MAIL FROM:<x@example.org>\r\nRSET\r\nMAIL FROM:<>\r\nRSET\r\nAUTH PLAIN " +
         Plain("", "alice", "alice-pw") + "\r\nMAIL FROM:<alice@example.onion>\r\nRSET\r\n" +
         kProof + "MAIL FROM:<x@" + std::string(kSender) + ">\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 250, 250, 235, 250, 250, 250, 250));
}

TEST_F(SessionTkimTest, RequireTkimAfterAProofThatCouldNotBeCheckedIs451AndNewEhloForgetsIt) {
  cfg.require_tkim = true;
  service.check_error = ErrorCode::kUnavailable;
  RunTls(kProof + "MAIL FROM:<x@" + std::string(kSender) + ">\r\nEHLO again.test\r\n" +
         "MAIL FROM:<x@" + std::string(kSender) + ">\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(451, 451, 250, 550));
  EXPECT_EQ(replies[replies.size() - 3],
            "451 4.7.1 The TKIM proof of the sender's server could not be checked, try again "
            "later\r\n");
}

TEST_F(SessionTkimTest, RequireTkimAfterARefusedProofIs550) {
  cfg.require_tkim = true;
  service.check_error = ErrorCode::kUnauthenticated;
  RunTls(kProof + "MAIL FROM:<x@" + std::string(kSender) + ">\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(535, 550));
}

TEST_F(SessionTkimTest, ServiceAnswerThatIsNotAV3OnionIsALocalError) {
  for (const std::string bad : {"remote.onion", "evil\r\n250 x",
                                "C5J427VX2JQFSWEVLIXLR6XOSHVAOJZFNF"
                                "YQ2VERFQYS43DDJYIM56QD.ONION"}) {
    service.domain = bad;
    Reconnect();
    RunTls(kProof + "MAIL FROM:<x@" + std::string(kOther) + ">\r\n");
    EXPECT_THAT(CodesAfterTls(), ElementsAre(451, 250)) << bad;
  }
}

TEST_F(SessionTkimTest, ReceivedHeaderNamesTheProvenOnion) {
  RunTls(kProof + "MAIL FROM:<x@" + std::string(kSender) +
         ">\r\nRCPT TO:<bob@example.onion>\r\nDATA\r\nhi\r\n.\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 250, 354, 250));
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_THAT(backend.delivered[0].bytes,
              StartsWith("Return-Path: <x@" + std::string(kSender) +
                         ">\r\nReceived: by mx.example.onion (onionmaild) with ESMTPS (TKIM " +
                         kSender + "); "));
  EXPECT_EQ(backend.delivered[0].bytes.find("client.test"), std::string::npos);
}

TEST_F(SessionTkimTest, WithoutAProofTheReceivedHeaderIsUnchanged) {
  service.check_error = ErrorCode::kUnauthenticated;
  RunTls(kProof + "MAIL FROM:<x@" + std::string(kSender) +
         ">\r\nRCPT TO:<bob@example.onion>\r\nDATA\r\nhi\r\n.\r\n");
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_THAT(backend.delivered[0].bytes,
              HasSubstr("\r\nReceived: by mx.example.onion (onionmaild) with ESMTPS; "));
  EXPECT_EQ(backend.delivered[0].bytes.find("TKIM"), std::string::npos);
}

TEST_F(SessionTkimTest, ProvenDomainDoesNotOutliveTheConnection) {
  RunTls(kProof);
  Reconnect();
  service.check_error = ErrorCode::kUnauthenticated;
  RunTls("MAIL FROM:<x@" + std::string(kOther) + ">\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250));
}

}  // namespace
}  // namespace onionmail::smtp
