// The VMAT command of an enter gateway (session.h, "VMAT command";
// docs/PROTOCOL.md, "VMAT: aliases for users of other servers"): a server
// proven by TKIM asks for, shows or removes the alias of one of its users;
// the session parses, checks the proof and maps the service's answer to a
// fixed reply, and sends only an address it checked.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mail/vmat.h"
#include "smtp/base64.h"
#include "smtp/session.h"
#include "tests/smtp/fake_server_vmat.h"
#include "tests/smtp/fake_tkim.h"
#include "tests/smtp/session_fixture.h"

namespace onionmail::smtp {
namespace {

using ::testing::ElementsAre;

constexpr char kAsking[] = "c5j427vx2jqfswevlixlr6xoshvaojzfnfyq2verfqys43ddjyim56qd.onion";

using RecordingVmat = FakeServerVmat;

class SessionVmatCommandTest : public SessionTest {
 protected:
  SessionVmatCommandTest() {
    cfg.exit_domain = "mx.example.org";
    cfg.vmat_for_servers = true;
    tkim = &prover;
    vmat = &service;
    prover.domain = kAsking;
    mail::ChannelBinding binding{};
    binding.fill(7);
    conn.set_binding(binding);
  }
  // TKIM proof first (250), then `commands`.
  void RunProven(const std::string& commands) {
    RunTls("TKIM " + EncodeBase64(std::vector<uint8_t>{1, 2, 3}) + "\r\n" + commands);
  }
  FakeTkim prover;
  RecordingVmat service;
};

TEST_F(SessionVmatCommandTest, EhloOffersVmatNextToTkimOnlyWhenServed) {
  RunTls("");
  EXPECT_NE(replies[3].find("250-TKIM\r\n250 VMAT\r\n"), std::string::npos) << replies[3];
  EXPECT_EQ(replies[1].find("VMAT"), std::string::npos) << "not before TLS";
  conn = net::FakeConnection();
  mail::ChannelBinding binding{};
  conn.set_binding(binding);
  cfg.vmat_for_servers = false;
  RunTls("VMAT SHOW dave\r\n");
  EXPECT_EQ(replies[3].find("VMAT"), std::string::npos) << replies[3];
  EXPECT_THAT(CodesAfterTls(), ElementsAre(500));
  EXPECT_TRUE(service.calls.empty());
}

TEST_F(SessionVmatCommandTest, AnInternetClientGetsVmatAsAnUnknownCommand) {
  cfg.internet_client = true;
  RunTls("VMAT SHOW dave\r\n");
  EXPECT_EQ(replies[3].find("VMAT"), std::string::npos) << replies[3];
  EXPECT_THAT(CodesAfterTls(), ElementsAre(500));
  EXPECT_TRUE(service.calls.empty());
}

TEST_F(SessionVmatCommandTest, VmatWithoutATkimProofIsRefusedWith530) {
  RunTls("VMAT ON dave dave.b\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(530));
  EXPECT_EQ(replies[4], "530 5.7.0 VMAT needs a TKIM proof of the asking server first\r\n");
  EXPECT_TRUE(service.calls.empty());
}

TEST_F(SessionVmatCommandTest, OnShowAndOffReachTheServiceLowerCasedAndAnswerTheAddress) {
  RunProven("VMAT ON Dave Dave.B\r\nvmat show DAVE\r\nVMAT OFF dave\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 250, 250));
  EXPECT_EQ(replies[5], "250 2.0.0 dave.b@mx.example.org\r\n");
  ASSERT_EQ(service.calls.size(), 3u);
  EXPECT_EQ(service.calls[0].op, mail::VmatOwnOp::kOn);
  EXPECT_EQ(service.calls[0].user, "dave");
  EXPECT_EQ(service.calls[0].alias, "dave.b");
  EXPECT_EQ(service.calls[1].op, mail::VmatOwnOp::kShow);
  EXPECT_EQ(service.calls[1].user, "dave");
  EXPECT_EQ(service.calls[1].alias, "");
  EXPECT_EQ(service.calls[2].op, mail::VmatOwnOp::kOff);
}

TEST_F(SessionVmatCommandTest, MalformedCommandsGet501AndNeverReachTheService) {
  RunProven(
      "VMAT\r\nVMAT ON dave\r\nVMAT SHOW\r\nVMAT SHOW dave extra\r\nVMAT ON dave a b\r\n"
      "VMAT  SHOW dave\r\nVMAT SHOW dave \r\nVMAT LIST dave\r\nVMAT SHOW " +
      std::string(65, 'a') + "\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 501, 501, 501, 501, 501, 501, 501, 501, 501));
  EXPECT_EQ(replies[5], "501 5.5.4 Syntax: VMAT ON <user> <alias> | SHOW <user> | OFF <user>\r\n");
  EXPECT_TRUE(service.calls.empty());
}

TEST_F(SessionVmatCommandTest, VmatInsideAMailTransactionIsRefusedWith503) {
  RunProven("MAIL FROM:<>\r\nVMAT SHOW dave\r\nRSET\r\nVMAT SHOW dave\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 503, 250, 250));
  EXPECT_EQ(service.calls.size(), 1u);
}

TEST_F(SessionVmatCommandTest, EachRefusalOfTheServiceIsItsFixedReply) {
  const std::map<ErrorCode, std::string> expected = {
      {ErrorCode::kPermissionDenied,
       "550 5.7.1 This gateway takes no aliases from users of that server\r\n"},
      {ErrorCode::kNotFound, "550 5.1.1 That user has no alias at this gateway\r\n"},
      {ErrorCode::kFailedPrecondition,
       "550 5.7.0 That user already has another alias at this gateway\r\n"},
      {ErrorCode::kAlreadyExists,
       "553 5.1.0 That alias leads to another mailbox: choose another name\r\n"},
      {ErrorCode::kInvalidArgument,
       "553 5.1.3 Not a valid alias (a-z 0-9 . _ -, not a reserved name)\r\n"},
      {ErrorCode::kResourceExhausted, "452 4.3.1 Insufficient system storage, try again later\r\n"},
      {ErrorCode::kSealed, "451 4.3.0 Server sealed, waiting for its peers; try again later\r\n"},
      {ErrorCode::kUnavailable, "451 4.3.0 Local error in processing, try again later\r\n"},
  };
  for (const auto& [code, reply] : expected) {
    conn = net::FakeConnection();
    mail::ChannelBinding binding{};
    conn.set_binding(binding);
    service.error = code;
    RunProven("VMAT ON dave dave.b\r\n");
    ASSERT_EQ(replies.size(), 6u) << conn.Output();
    EXPECT_EQ(replies[5], reply) << ErrorCodeName(code);
  }
}

TEST_F(SessionVmatCommandTest, AnAddressOutsideTheExitDomainIsNeverSent) {
  for (const std::string& bad :
       {std::string("dave.b@other.example"), std::string("dave.b"),
        std::string("postmaster@mx.example.org"), std::string("dave.b@") + kAsking}) {
    conn = net::FakeConnection();
    mail::ChannelBinding binding{};
    conn.set_binding(binding);
    service.answer = bad;
    RunProven("VMAT SHOW dave\r\n");
    ASSERT_EQ(replies.size(), 6u) << conn.Output();
    EXPECT_EQ(replies[5], "451 4.3.0 Local error in processing, try again later\r\n") << bad;
  }
}

}  // namespace
}  // namespace onionmail::smtp
