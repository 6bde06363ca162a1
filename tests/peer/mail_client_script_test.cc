// MailClient against a scripted peer (real TLS through net::SocketConnection,
// canned SMTP replies, every line the client sent recorded): no STARTTLS,
// malformed and odd replies, a peer that closes during DATA or never answers
// the final dot, path injection and bare line endings refused with nothing
// sent, calls out of order.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "net/socket_connection.h"
#include "peer/mail_client.h"
#include "tests/peer/peer_test_util.h"

namespace onionmail::peer {
namespace {

using namespace std::chrono_literals;

constexpr char kClose[] = "<close>";    // a reply ending in this: send the rest, then close
constexpr char kSilent[] = "<silent>";  // never answer (until the test ends)

struct Script {
  std::string greeting = "220 peer.onion ESMTP\r\n";
  std::string ehlo = "250-peer.onion\r\n250-PIPELINING\r\n250 STARTTLS\r\n";
  std::string starttls = "220 2.0.0 Ready to start TLS\r\n";
  std::string ehlo_tls = "250-peer.onion\r\n250-SIZE 1000\r\n250 8BITMIME\r\n";
  // One per command after the EHLO in TLS (the final dot counts as one);
  // past the end: 221 to QUIT, 354 to DATA, else 250.
  std::vector<std::string> replies;
};

// Plays `script`, records the client's lines (message data included, as sent).
class ScriptedPeer {
 public:
  explicit ScriptedPeer(Script script)
      : id(MakeTestIdentity()),
        script_(std::move(script)),
        server_([this](int fd) { Serve(fd); }) {}
  ~ScriptedPeer() {
    done_ = true;  // ends a silent reply
    server_.Stop();
  }
  std::string address() const { return server_.address(); }
  // Ends the peer (the client must have closed) and gives the lines.
  std::vector<std::string> Lines() {
    done_ = true;
    server_.Stop();
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }
  TestIdentity id;

 private:
  bool Read(net::SocketConnection& conn, std::string* text) {
    auto line = conn.ReadLine(30000);
    if (!line.ok()) return false;
    std::lock_guard<std::mutex> lock(mu_);
    lines_.push_back(line->text);
    *text = line->text;
    return true;
  }
  bool Reply(net::SocketConnection& conn, std::string reply) {
    if (reply == kSilent) {
      while (!done_) std::this_thread::sleep_for(5ms);
      return false;
    }
    bool close = reply.size() >= sizeof(kClose) - 1 &&
                 reply.compare(reply.size() - (sizeof(kClose) - 1), std::string::npos, kClose) == 0;
    if (close) reply.resize(reply.size() - (sizeof(kClose) - 1));
    return conn.Write(reply).ok() && conn.Flush().ok() && !close;
  }
  void Serve(int fd) {
    net::SocketConnection conn(fd, id.tls, net::Timeouts{5000ms, 10000ms});
    std::string text;
    if (!Reply(conn, script_.greeting)) return;
    if (!Read(conn, &text) || !Reply(conn, script_.ehlo)) return;
    if (!Read(conn, &text)) return;
    if (text != "STARTTLS") {
      (void)Reply(conn, "221 bye\r\n");
      return;
    }
    if (!Reply(conn, script_.starttls) || !conn.StartTls().ok()) return;
    if (!Read(conn, &text) || !Reply(conn, script_.ehlo_tls)) return;
    size_t next = 0;
    while (Read(conn, &text)) {
      std::string reply = text == "QUIT"   ? "221 2.0.0 bye\r\n"
                          : text == "DATA" ? "354 go ahead\r\n"
                                           : "250 2.0.0 ok\r\n";
      if (next < script_.replies.size()) reply = script_.replies[next++];
      if (!Reply(conn, reply) || text == "QUIT") return;
      if (reply.rfind("354", 0) != 0) continue;
      do {  // message data, up to the final dot
        if (!Read(conn, &text)) return;
      } while (text != ".");
      reply = next < script_.replies.size() ? script_.replies[next++] : "250 2.0.0 queued\r\n";
      if (!Reply(conn, reply)) return;
    }
  }
  Script script_;
  std::atomic<bool> done_{false};
  std::mutex mu_;
  std::vector<std::string> lines_;
  LoopbackServer server_;
};

MailClientOptions Options() {
  MailClientOptions o;
  o.helo_name = "me.onion";
  o.connect_timeout = 5000ms;
  o.command_timeout = 5000ms;
  o.data_block_timeout = 5000ms;
  o.final_timeout = 5000ms;
  return o;
}

std::unique_ptr<MailClient> OpenOk(const ScriptedPeer& peer, MailClientOptions o = Options()) {
  auto c = MailClient::Open(peer.address(), o);
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
  return c.ok() ? std::move(*c) : nullptr;
}

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

const std::vector<std::string> kOpening = {"EHLO me.onion", "STARTTLS", "EHLO me.onion"};

std::vector<std::string> Opening(std::vector<std::string> more) {
  std::vector<std::string> out = kOpening;
  out.insert(out.end(), more.begin(), more.end());
  return out;
}

TEST(MailClientScriptTest, PeerWithoutStartTlsIsFailedPreconditionAndGetsQuit) {
  Script s;
  s.ehlo = "250-peer.onion\r\n250-XSTARTTLS\r\n250 SIZE 10\r\n";
  ScriptedPeer peer{s};
  auto c = MailClient::Open(peer.address(), Options());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(c.error().message, "EHLO: peer does not offer STARTTLS");
  EXPECT_EQ(peer.Lines(), (std::vector<std::string>{"EHLO me.onion", "QUIT"}));
}

TEST(MailClientScriptTest, WrongPinIsPermissionDeniedAndNothingIsSentInsideTls) {
  ScriptedPeer peer{Script{}};
  MailClientOptions o = Options();
  o.pin = peer.id.pin;
  (*o.pin)[31] ^= 0x40;
  auto c = MailClient::Open(peer.address(), o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(peer.Lines(), (std::vector<std::string>{"EHLO me.onion", "STARTTLS"}));
}

TEST(MailClientScriptTest, MalformedRepliesAreUnavailableAndLeaveTheClientUnusable) {
  for (std::string reply : {"2x0 ok\r\n", "250\tok\r\n", "25\r\n", "250-ok\r\n251 ok\r\n",
                            "199 ok\r\n", "600 nope\r\n", "\r\n"}) {
    Script s;
    s.replies = {reply};
    ScriptedPeer peer{s};
    auto c = OpenOk(peer);
    ASSERT_NE(c, nullptr);
    auto mail = c->Mail("a@me.onion", 0);
    ASSERT_FALSE(mail.ok()) << reply;
    EXPECT_EQ(mail.error().code, ErrorCode::kUnavailable) << reply;
    EXPECT_EQ(mail.error().message.rfind("MAIL: ", 0), 0u) << mail.error().message;
    auto again = c->Rset();
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, ErrorCode::kFailedPrecondition);
    c.reset();
    EXPECT_EQ(peer.Lines(), Opening({"MAIL FROM:<a@me.onion>"})) << "nothing after the error";
  }
}

TEST(MailClientScriptTest, RepliesAreSplitIntoCodeEnhancedCodeAndCleanText) {
  Script s;
  s.replies = {"250-2.1.0 first\r\n250 2.1.0 second line\r\n",
               "550 bad\x01"
               "char\r\n",
               "251 5.0.0 class differs\r\n", "250 " + std::string(2000, 'x') + "\r\n", "250\r\n"};
  ScriptedPeer peer{s};
  auto c = OpenOk(peer);
  ASSERT_NE(c, nullptr);
  auto mail = c->Mail("a@me.onion", 0);
  ASSERT_TRUE(mail.ok());
  EXPECT_EQ(mail->code, 250);
  EXPECT_EQ(mail->enhanced, "2.1.0");
  EXPECT_EQ(mail->text, "first second line");
  auto r1 = c->Rcpt("b@peer.onion");
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1->code, 550);
  EXPECT_EQ(r1->enhanced, "");
  EXPECT_EQ(r1->text, "bad?char");
  auto r2 = c->Rcpt("c@peer.onion");
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->enhanced, "");
  EXPECT_EQ(r2->text, "5.0.0 class differs");
  auto r3 = c->Rcpt("d@peer.onion");
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ(r3->text, std::string(kMaxRemoteReplyText, 'x'));
  auto r4 = c->Rcpt("e@peer.onion");
  ASSERT_TRUE(r4.ok());
  EXPECT_EQ(r4->code, 250);
  EXPECT_TRUE(r4->enhanced.empty());
  EXPECT_TRUE(r4->text.empty());
}

TEST(MailClientScriptTest, SizeLimitComesFromTheEhloInTlsAndSizeIsSentOnlyWhenOffered) {
  struct Case {
    std::string size_line;  // "" = no SIZE
    std::optional<uint64_t> limit;
    std::string mail_line;
  };
  for (const Case& k : {Case{"250-SIZE 123\r\n", 123, "MAIL FROM:<a@me.onion> SIZE=77"},
                        Case{"250-SIZE\r\n", std::nullopt, "MAIL FROM:<a@me.onion> SIZE=77"},
                        Case{"250-size 0\r\n", std::nullopt, "MAIL FROM:<a@me.onion> SIZE=77"},
                        Case{"250-SIZE lots\r\n", std::nullopt, "MAIL FROM:<a@me.onion> SIZE=77"},
                        Case{"", std::nullopt, "MAIL FROM:<a@me.onion>"}}) {
    Script s;
    s.ehlo = "250-peer.onion\r\n" + k.size_line + "250 STARTTLS\r\n";  // ignored before TLS
    s.ehlo_tls = "250-peer.onion\r\n" + k.size_line + "250 8BITMIME\r\n";
    ScriptedPeer peer{s};
    auto c = OpenOk(peer);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->SizeLimit(), k.limit) << k.size_line;
    ASSERT_TRUE(c->Mail("a@me.onion", 77).ok());
    ASSERT_TRUE(c->Rset().ok());
    ASSERT_TRUE(c->Mail("a@me.onion", 0).ok());
    c->Quit();
    EXPECT_EQ(peer.Lines(), Opening({k.mail_line, "RSET", "MAIL FROM:<a@me.onion>", "QUIT"}));
  }
}

TEST(MailClientScriptTest, Body8BitMimeIsDeclaredWhenOfferedInTlsAndRefusedWithNothingSentWhenNot) {
  {
    ScriptedPeer peer{Script{}};  // the EHLO in TLS offers 8BITMIME
    auto c = OpenOk(peer);
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(c->Mail("a@me.onion", 77, /*body_8bitmime=*/true)->code, 250);
    c->Quit();
    EXPECT_EQ(peer.Lines(), Opening({"MAIL FROM:<a@me.onion> SIZE=77 BODY=8BITMIME", "QUIT"}));
  }
  Script s;
  s.ehlo = "250-peer.onion\r\n250-8BITMIME\r\n250 STARTTLS\r\n";  // not in TLS: ignored
  s.ehlo_tls = "250-peer.onion\r\n250 SIZE 1000\r\n";
  ScriptedPeer peer{s};
  auto c = OpenOk(peer);
  ASSERT_NE(c, nullptr);
  auto refused = c->Mail("a@me.onion", 0, /*body_8bitmime=*/true);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(refused.error().message, "MAIL: 8-bit body, the peer offers no 8BITMIME");
  ASSERT_EQ(c->Mail("a@me.onion", 0)->code, 250) << "the client is still usable";
  c->Quit();
  EXPECT_EQ(peer.Lines(), Opening({"MAIL FROM:<a@me.onion>", "QUIT"}));
}

TEST(MailClientScriptTest, PathInjectionIsInvalidArgumentAndNothingIsSent) {
  ScriptedPeer peer{Script{}};
  auto c = OpenOk(peer);
  ASSERT_NE(c, nullptr);
  const std::vector<std::string> bad = {
      "a@b.onion>\r\nRCPT TO:<x@y.onion",
      "a@b.onion\r\nDATA",
      "a@b.onion\nQUIT",
      "a@b.onion>",
      "<a@b.onion",
      "a b@c.onion",
      "a@b.onion SIZE=1",
      "a@b.onion\t",
      std::string("a\0b@c.onion", 11),
      "caf\xc3\xa9@b.onion",
      "a@b.onion\x7f",
      std::string(kMaxMailPathBytes + 1, 'a'),
  };
  for (const std::string& path : bad) {
    auto mail = c->Mail(path, 0);
    ASSERT_FALSE(mail.ok()) << path;
    EXPECT_EQ(mail.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(mail.error().message, "MAIL: invalid reverse path");
  }
  const std::string longest(kMaxMailPathBytes, 'a');
  ASSERT_EQ(c->Mail(longest, 0)->code, 250) << "the client is still usable";
  for (const std::string& path : bad) {
    auto rcpt = c->Rcpt(path);
    ASSERT_FALSE(rcpt.ok()) << path;
    EXPECT_EQ(rcpt.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(rcpt.error().message, "RCPT: invalid forward path");
  }
  auto empty = c->Rcpt("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
  c->Quit();
  EXPECT_EQ(peer.Lines(), Opening({"MAIL FROM:<" + longest + ">", "QUIT"}));
}

TEST(MailClientScriptTest, BareLineEndingsInTheBodyAreRefusedAndPoisonTheClient) {
  struct Case {
    std::vector<std::string> chunks;  // the last one is refused
    std::vector<std::string> sent;    // body lines the peer got
  };
  for (const Case& k :
       {Case{{"ok\r\n", "bad\nx\r\n"}, {"ok"}}, Case{{"ok\r\n", "bad\rx\r\n"}, {"ok"}},
        Case{{"ok\r\nsplit\r", "x\r\n"}, {"ok"}}, Case{{"ok\r\nsplit", "\n"}, {"ok"}},
        Case{{"\n"}, {}}}) {
    ScriptedPeer peer{Script{}};
    auto c = OpenOk(peer);
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(c->Mail("a@me.onion", 0)->code, 250);
    ASSERT_EQ(c->Rcpt("b@peer.onion")->code, 250);
    ASSERT_EQ(c->Data()->code, 354);
    for (size_t i = 0; i + 1 < k.chunks.size(); ++i) {
      ASSERT_TRUE(c->WriteBody(Bytes(k.chunks[i])).ok());
    }
    auto w = c->WriteBody(Bytes(k.chunks.back()));
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(w.error().message.rfind("message data: ", 0), 0u);
    auto end = c->EndData();
    ASSERT_FALSE(end.ok());
    EXPECT_EQ(end.error().code, ErrorCode::kFailedPrecondition);
    auto lines = peer.Lines();
    lines.erase(lines.begin(), lines.begin() + 6);  // opening, MAIL, RCPT, DATA
    EXPECT_EQ(lines, k.sent) << "no final dot, nothing of the refused chunk";
  }
}

TEST(MailClientScriptTest, BodyEndingInABareCrIsRefusedAtTheEnd) {
  ScriptedPeer peer{Script{}};
  auto c = OpenOk(peer);
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->Mail("a@me.onion", 0)->code, 250);
  ASSERT_EQ(c->Rcpt("b@peer.onion")->code, 250);
  ASSERT_EQ(c->Data()->code, 354);
  ASSERT_TRUE(c->WriteBody(Bytes("text\r")).ok());
  auto end = c->EndData();
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(end.error().code, ErrorCode::kInvalidArgument);
  auto lines = peer.Lines();
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "."), 0) << "no final dot";
}

TEST(MailClientScriptTest, DotStuffingIsDoneOnTheWire) {
  ScriptedPeer peer{Script{}};
  auto c = OpenOk(peer);
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->Mail("", 0)->code, 250);
  ASSERT_EQ(c->Rcpt("b@peer.onion")->code, 250);
  ASSERT_EQ(c->Data()->code, 354);
  ASSERT_TRUE(c->WriteBody(Bytes(".\r\n..x\r\na.\r\n")).ok());
  ASSERT_TRUE(c->WriteBody(Bytes(".")).ok());
  auto end = c->EndData();
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->code, 250);
  EXPECT_EQ(end->text, "queued");
  c->Quit();
  EXPECT_EQ(peer.Lines(), Opening({"MAIL FROM:<>", "RCPT TO:<b@peer.onion>", "DATA", "..", "...x",
                                   "a.", "..", ".", "QUIT"}));
}

TEST(MailClientScriptTest, CallsOutOfOrderAreFailedPreconditionAndSendNothing) {
  ScriptedPeer peer{Script{}};
  auto c = OpenOk(peer);
  ASSERT_NE(c, nullptr);
  auto expect_refused = [](auto r, const char* what) {
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition) << what;
  };
  expect_refused(c->Rcpt("b@peer.onion"), "RCPT before MAIL");
  expect_refused(c->Data(), "DATA before MAIL");
  expect_refused(c->WriteBody(Bytes("x\r\n")), "body before DATA");
  expect_refused(c->EndData(), "end before DATA");
  ASSERT_EQ(c->Mail("a@me.onion", 0)->code, 250);
  expect_refused(c->Mail("a@me.onion", 0), "nested MAIL");
  expect_refused(c->Data(), "DATA before RCPT");
  expect_refused(c->WriteBody(Bytes("x\r\n")), "body before DATA");
  ASSERT_EQ(c->Rcpt("b@peer.onion")->code, 250);
  expect_refused(c->WriteBody(Bytes("x\r\n")), "body before DATA");
  ASSERT_EQ(c->Data()->code, 354);
  expect_refused(c->Rset(), "RSET during DATA");
  expect_refused(c->Mail("a@me.onion", 0), "MAIL during DATA");
  expect_refused(c->Rcpt("b@peer.onion"), "RCPT during DATA");
  expect_refused(c->Data(), "DATA during DATA");
  ASSERT_EQ(c->EndData()->code, 250);
  expect_refused(c->WriteBody(Bytes("x\r\n")), "body after the end");
  expect_refused(c->EndData(), "a second end");
  expect_refused(c->Rcpt("b@peer.onion"), "RCPT after the transaction");
  c->Quit();
  expect_refused(c->Mail("a@me.onion", 0), "MAIL after QUIT");
  EXPECT_EQ(peer.Lines(),
            Opening({"MAIL FROM:<a@me.onion>", "RCPT TO:<b@peer.onion>", "DATA", ".", "QUIT"}));
}

TEST(MailClientScriptTest, RefusedDataKeepsTheTransactionAndAllowsNoBody) {
  Script s;
  s.replies = {"250 ok\r\n", "250 ok\r\n", "554 5.5.1 no valid recipients\r\n"};
  ScriptedPeer peer{s};
  auto c = OpenOk(peer);
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->Mail("a@me.onion", 0)->code, 250);
  ASSERT_EQ(c->Rcpt("b@peer.onion")->code, 250);
  auto data = c->Data();
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->code, 554);
  EXPECT_FALSE(c->WriteBody(Bytes("x\r\n")).ok());
  EXPECT_EQ(c->Rset()->code, 250);
  c->Quit();
}

TEST(MailClientScriptTest, ReplyToTheFinalDotIsAValueWhateverItsCode) {
  Script s;
  s.replies = {"250 ok\r\n", "250 ok\r\n", "354 go\r\n", "451 4.3.0 try again later\r\n"};
  ScriptedPeer peer{s};
  auto c = OpenOk(peer);
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->Mail("a@me.onion", 0)->code, 250);
  ASSERT_EQ(c->Rcpt("b@peer.onion")->code, 250);
  ASSERT_EQ(c->Data()->code, 354);
  auto end = c->EndData();
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->code, 451);
  EXPECT_EQ(end->enhanced, "4.3.0");
  EXPECT_EQ(end->text, "try again later");
  EXPECT_EQ(c->Mail("a@me.onion", 0)->code, 250) << "a new transaction may start";
  c->Quit();
}

TEST(MailClientScriptTest, A421ReplyClosesTheClient) {
  Script s;
  s.replies = {std::string("421 4.4.2 peer.onion closing\r\n") + kClose};
  ScriptedPeer peer{s};
  auto c = OpenOk(peer);
  ASSERT_NE(c, nullptr);
  auto mail = c->Mail("a@me.onion", 0);
  ASSERT_TRUE(mail.ok());
  EXPECT_EQ(mail->code, 421);
  auto rset = c->Rset();
  ASSERT_FALSE(rset.ok());
  EXPECT_EQ(rset.error().code, ErrorCode::kFailedPrecondition);
  c->Quit();
  EXPECT_EQ(peer.Lines(), Opening({"MAIL FROM:<a@me.onion>"}));
}

TEST(MailClientScriptTest, PeerClosingDuringDataIsUnavailable) {
  Script s;
  s.replies = {"250 ok\r\n", "250 ok\r\n", std::string("354 go\r\n") + kClose};
  ScriptedPeer peer{s};
  auto c = OpenOk(peer);
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->Mail("a@me.onion", 0)->code, 250);
  ASSERT_EQ(c->Rcpt("b@peer.onion")->code, 250);
  ASSERT_EQ(c->Data()->code, 354);
  std::string line(998, 'z');
  line += "\r\n";
  Result<void> w = Ok();
  for (int i = 0; i < 2000 && w.ok(); ++i) w = c->WriteBody(Bytes(line));
  Error error = w.ok() ? Error{ErrorCode::kInternal, ""} : w.error();
  if (w.ok()) {
    auto end = c->EndData();
    ASSERT_FALSE(end.ok());
    error = end.error();
  }
  EXPECT_EQ(error.code, ErrorCode::kUnavailable) << error.message;
  EXPECT_TRUE(error.message.rfind("message data: ", 0) == 0 ||
              error.message.rfind("end of data: ", 0) == 0)
      << error.message;
  auto after = c->Rset();
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code, ErrorCode::kFailedPrecondition);
}

TEST(MailClientScriptTest, PeerThatNeverAnswersTheFinalDotIsDeadlineExceeded) {
  Script s;
  s.replies = {"250 ok\r\n", "250 ok\r\n", "354 go\r\n", kSilent};
  ScriptedPeer peer{s};
  MailClientOptions o = Options();
  o.final_timeout = 300ms;
  auto c = OpenOk(peer, o);
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->Mail("a@me.onion", 0)->code, 250);
  ASSERT_EQ(c->Rcpt("b@peer.onion")->code, 250);
  ASSERT_EQ(c->Data()->code, 354);
  ASSERT_TRUE(c->WriteBody(Bytes("hello\r\n")).ok());
  auto start = Clock::now();
  auto end = c->EndData();
  auto elapsed = Clock::now() - start;
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(end.error().code, ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(end.error().message, "end of data: timed out");
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 3000ms);
  EXPECT_EQ(c->Rset().error().code, ErrorCode::kFailedPrecondition);
}

TEST(MailClientScriptTest, SilentPeerDuringTheOpeningHitsTheConnectTimeout) {
  Script s;
  s.greeting = kSilent;
  ScriptedPeer peer{s};
  MailClientOptions o = Options();
  o.connect_timeout = 300ms;
  auto start = Clock::now();
  auto c = MailClient::Open(peer.address(), o);
  auto elapsed = Clock::now() - start;
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(c.error().message, "greeting: timed out");
  EXPECT_LT(elapsed, 3000ms);
}

TEST(MailClientScriptTest, TkimSendsTheProofInBase64AndTkimKeyDecodesTheKey) {
  Script s;
  s.ehlo_tls = "250-peer.onion\r\n250-TKIM\r\n250 8BITMIME\r\n";
  s.replies = {"250 2.7.0 Authenticated as me.onion\r\n", "250 2.0.0 AQID\r\n"};
  ScriptedPeer peer{s};
  auto c = OpenOk(peer);
  ASSERT_NE(c, nullptr);
  auto cb = c->ChannelBinding();
  ASSERT_TRUE(cb.ok());
  const uint8_t proof[] = {0xfb, 0xff, 0x01};
  auto r = c->Tkim(proof);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->code, 250);
  EXPECT_EQ(r->enhanced, "2.7.0");
  auto key = c->TkimKey();
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(*key, (std::vector<uint8_t>{1, 2, 3}));
  c->Quit();
  EXPECT_EQ(peer.Lines(), Opening({"TKIM +/8B", "TKIM KEY", "QUIT"}));
}

TEST(MailClientScriptTest, TkimToAPeerWithoutTkimIsFailedPreconditionWithNothingSent) {
  ScriptedPeer peer{Script{}};  // no TKIM in the EHLO in TLS
  auto c = OpenOk(peer);
  ASSERT_NE(c, nullptr);
  const uint8_t proof[] = {1};
  EXPECT_EQ(c->Tkim(proof).error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(c->TkimKey().error().code, ErrorCode::kFailedPrecondition);
  c->Quit();
  EXPECT_EQ(peer.Lines(), Opening({"QUIT"}));
}

TEST(MailClientScriptTest, TkimKeyRefusalOrGarbageIsUnavailableAndTheClientStaysUsable) {
  Script s;
  s.ehlo_tls = "250-peer.onion\r\n250 TKIM\r\n";
  s.replies = {"502 5.5.1 no\r\n", "250 2.0.0 not*base64\r\n", "250 AQID\r\n",
               "250-2.0.0 AQID\r\n250 2.0.0 AQID\r\n"};
  ScriptedPeer peer{s};
  auto c = OpenOk(peer);
  ASSERT_NE(c, nullptr);
  for (int i = 0; i < 4; ++i) {
    auto key = c->TkimKey();
    ASSERT_FALSE(key.ok()) << i;
    EXPECT_EQ(key.error().code, ErrorCode::kUnavailable) << i;
  }
  EXPECT_EQ(c->Mail("a@me.onion", 0)->code, 250) << "still usable";
  const uint8_t proof[] = {1};
  EXPECT_EQ(c->Tkim(proof).error().code, ErrorCode::kFailedPrecondition) << "in a transaction";
  EXPECT_EQ(c->Tkim({}).error().code, ErrorCode::kFailedPrecondition);
}

}  // namespace
}  // namespace onionmail::peer
