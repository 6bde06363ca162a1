// TormCall against a scripted peer (real TLS through net::SocketConnection,
// canned SMTP replies): multi-line replies, odd or hostile answers, STARTTLS
// injection, unknown refusal keywords, malformed TORM replies.
#include <gtest/gtest.h>

#include <mutex>

#include "net/socket_connection.h"
#include "peer/torm_client.h"
#include "smtp/base64.h"
#include "tests/peer/peer_test_util.h"

namespace onionmail::peer {
namespace {

using namespace std::chrono_literals;
using mail::TormOutcome;
using mail::TormVerb;

struct Script {
  std::string greeting = "220-peer.onion ESMTP\r\n220-second line\r\n220 third line\r\n";
  std::string ehlo = "250-peer.onion\r\n250-PIPELINING\r\n250 STARTTLS\r\n";
  std::string starttls = "220 2.0.0 Ready to start TLS\r\n";
  std::string ehlo_tls = "250-peer.onion\r\n250-SIZE 1000\r\n250 torm\r\n";
  std::string torm_reply = "250 2.0.0 AQID\r\n";
};

// Plays `script`, records the client's lines.
class ScriptedPeer {
 public:
  explicit ScriptedPeer(Script script)
      : id(MakeTestIdentity()),
        script_(std::move(script)),
        server_([this](int fd) { Serve(fd); }) {}
  PeerEndpoint endpoint() const { return {server_.address(), id.pin}; }
  std::vector<std::string> Lines() {
    server_.Stop();
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }
  TestIdentity id;

 private:
  bool Step(net::SocketConnection& conn, const std::string& reply) {
    auto line = conn.ReadLine(30000);
    if (!line.ok()) return false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.push_back(line->text);
    }
    return conn.Write(reply).ok() && conn.Flush().ok();
  }
  void Serve(int fd) {
    net::SocketConnection conn(fd, id.tls, net::Timeouts{5000ms, 10000ms});
    if (!conn.Write(script_.greeting).ok() || !conn.Flush().ok()) return;
    if (!Step(conn, script_.ehlo)) return;
    if (!Step(conn, script_.starttls)) return;
    if (script_.starttls.rfind("220 ", 0) != 0 || !conn.StartTls().ok()) {
      (void)Step(conn, "221 bye\r\n");
      return;
    }
    if (!Step(conn, script_.ehlo_tls)) return;
    if (!Step(conn, script_.torm_reply)) return;
    (void)Step(conn, "221 2.0.0 bye\r\n");
  }
  Script script_;
  std::mutex mu_;
  std::vector<std::string> lines_;
  LoopbackServer server_;
};

Result<TormResponse> Call(const ScriptedPeer& peer, std::vector<uint8_t> request = {7, 8, 9}) {
  ClientOptions o;
  o.timeout = 5000ms;
  o.helo_name = "me.onion";
  return TormCall(
      peer.endpoint(), TormVerb::kStat,
      [request](const mail::ChannelBinding&) -> Result<std::vector<uint8_t>> { return request; },
      o);
}

TEST(TormClientScriptTest, MultiLineRepliesAndLowerCaseKeywordsAreUnderstood) {
  ScriptedPeer peer{Script{}};
  auto r = Call(peer);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->outcome, TormOutcome::kOk);
  EXPECT_EQ(r->reply, (std::vector<uint8_t>{1, 2, 3}));
  auto lines = peer.Lines();
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], "EHLO me.onion");
  EXPECT_EQ(lines[1], "STARTTLS");
  EXPECT_EQ(lines[2], "EHLO me.onion");
  EXPECT_EQ(lines[3], "TORM STAT " + smtp::EncodeBase64(std::vector<uint8_t>{7, 8, 9}));
  EXPECT_EQ(lines[4], "QUIT");
}

TEST(TormClientScriptTest, LargestRequestLeavesAsOneIntactLine) {
  std::vector<uint8_t> big(mail::kMaxTormBlobBytes);
  uint32_t x = 2463534242u;  // xorshift32: no short period hides a repeat
  for (uint8_t& byte : big) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    byte = static_cast<uint8_t>(x);
  }
  ScriptedPeer peer{Script{}};
  auto r = Call(peer, big);
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto lines = peer.Lines();
  ASSERT_GE(lines.size(), 4u);
  std::string want = "TORM STAT " + smtp::EncodeBase64(big);
  EXPECT_EQ(lines[3].size(), want.size());
  size_t i = 0;
  while (i < want.size() && i < lines[3].size() && want[i] == lines[3][i]) ++i;
  EXPECT_EQ(i, want.size()) << "first difference at " << i;
}

TEST(TormClientScriptTest, UnknownRefusalKeywordIsTemporary) {
  Script s;
  s.torm_reply = "554 5.7.1 TORM refused: solar-flare\r\n";
  ScriptedPeer peer{s};
  auto r = Call(peer);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->outcome, TormOutcome::kTemporary);
}

TEST(TormClientScriptTest, OkKeywordInARefusalIsNotSuccess) {
  Script s;
  s.torm_reply = "554 5.7.1 TORM refused: ok\r\n";
  ScriptedPeer peer{s};
  auto r = Call(peer);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->outcome, TormOutcome::kTemporary);
}

TEST(TormClientScriptTest, MalformedTormRepliesAreUnavailable) {
  for (std::string reply : {
           "250 2.0.0 AQI\r\n",              // not a multiple of 4
           "250 2.0.0 AQJ=\r\n",             // non-canonical padding bits
           "250 2.0.0 AQ ID\r\n",            // space inside
           "250 OK AQID\r\n",                // wrong enhanced code
           "250-2.0.0 AQID\r\n250 x\r\n",    // multi-line
           "500 5.5.1 Unknown command\r\n",  // not a TORM answer
           "354 go ahead\r\n",
           "2x0 2.0.0 AQID\r\n",
           "250\t2.0.0 AQID\r\n",
       }) {
    Script s;
    s.torm_reply = reply;
    ScriptedPeer peer{s};
    auto r = Call(peer);
    ASSERT_FALSE(r.ok()) << reply;
    EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << reply;
    EXPECT_EQ(r.error().message.rfind("TORM reply: ", 0), 0u) << r.error().message;
  }
}

TEST(TormClientScriptTest, EmptySuccessPayloadIsAnEmptyReply) {
  Script s;
  s.torm_reply = "250 2.0.0 \r\n";
  ScriptedPeer peer{s};
  auto r = Call(peer);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->outcome, TormOutcome::kOk);
  EXPECT_TRUE(r->reply.empty());
}

TEST(TormClientScriptTest, OversizedReplyPayloadIsRefused) {
  Script s;
  std::vector<uint8_t> big(mail::kMaxTormBlobBytes + 3, 1);
  s.torm_reply = "250 2.0.0 " + smtp::EncodeBase64(big) + "\r\n";
  ScriptedPeer peer{s};
  auto r = Call(peer);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

TEST(TormClientScriptTest, ReplyLineOverTheLimitIsRefused) {
  Script s;
  s.greeting = "220 " + std::string(kMaxPeerLineBytes, 'x') + "\r\n";
  ScriptedPeer peer{s};
  auto r = Call(peer);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().message, "greeting: line too long");
}

TEST(TormClientScriptTest, EndlessMultiLineReplyIsRefused) {
  Script s;
  s.greeting.clear();
  for (int i = 0; i < 200; ++i) s.greeting += "220-more\r\n";
  s.greeting += "220 done\r\n";
  ScriptedPeer peer{s};
  auto r = Call(peer);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

TEST(TormClientScriptTest, ReplyCodeChangingMidReplyIsRefused) {
  Script s;
  s.ehlo = "250-peer.onion\r\n251 STARTTLS\r\n";
  ScriptedPeer peer{s};
  auto r = Call(peer);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

TEST(TormClientScriptTest, RefusingGreetingIsUnavailable) {
  Script s;
  s.greeting = "554 5.3.2 go away\r\n";
  ScriptedPeer peer{s};
  auto r = Call(peer);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().message, "greeting: unexpected reply 554");
}

TEST(TormClientScriptTest, PeerWithoutStartTlsIsFailedPreconditionAndGetsQuit) {
  Script s;
  s.ehlo = "250-peer.onion\r\n250-XSTARTTLS\r\n250 SIZE 10\r\n";
  s.starttls = "221 bye\r\n";  // answer to QUIT
  ScriptedPeer peer{s};
  auto r = Call(peer);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message.find("STARTTLS"), std::string::npos);
  auto lines = peer.Lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1], "QUIT");
}

TEST(TormClientScriptTest, StartTlsRefusedIsUnavailable) {
  Script s;
  s.starttls = "454 4.7.0 TLS not available\r\n";
  ScriptedPeer peer{s};
  auto r = Call(peer);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().message, "STARTTLS: unexpected reply 454");
}

TEST(TormClientScriptTest, PlaintextInjectedAfterStartTlsReplyIsRefused) {
  Script s;
  s.starttls = "220 2.0.0 go\r\n250-peer.onion\r\n250 TORM\r\n";
  ScriptedPeer peer{s};
  auto r = Call(peer);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("plaintext"), std::string::npos) << r.error().message;
}

TEST(TormClientScriptTest, TormOfferedOnlyBeforeTlsDoesNotCount) {
  Script s;
  s.ehlo = "250-peer.onion\r\n250-TORM\r\n250 STARTTLS\r\n";
  s.ehlo_tls = "250-peer.onion\r\n250 SIZE 10\r\n";
  s.torm_reply = "221 bye\r\n";  // answer to QUIT
  ScriptedPeer peer{s};
  auto r = Call(peer);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message.find("peer does not offer TORM"), std::string::npos);
}

}  // namespace
}  // namespace onionmail::peer
