#include "pop3/session.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/net/fake_connection.h"
#include "tests/pop3/base64_for_test.h"

namespace onionmail::pop3 {
namespace {

using ::onionmail::pop3::testing::Base64;
using namespace std::string_literals;

struct StoredMessage {
  std::string uid;
  std::string content;
};

// Shared state between the fake backend, its mailboxes and the test.
struct FakeStore {
  std::vector<StoredMessage> messages;
  size_t chunk_size = 7;  // Read() delivers content in chunks this big
  std::optional<ErrorCode> read_error;
  size_t read_error_after_chunks = 0;  // chunks delivered before read_error
  std::optional<ErrorCode> expunge_error;
  std::vector<std::vector<size_t>> expunge_calls;
  size_t read_calls = 0;
  size_t chunks_delivered = 0;
  bool open = false;
  int closes = 0;
  const net::FakeConnection* conn = nullptr;  // if set: its output when the mailbox closed
  std::string output_at_close;
};

class FakeMailbox : public mail::Mailbox {
 public:
  explicit FakeMailbox(FakeStore* store) : store_(store) {
    for (const auto& m : store_->messages) infos_.push_back({m.uid, m.content.size()});
    store_->open = true;
  }
  ~FakeMailbox() override {
    store_->open = false;
    ++store_->closes;
    if (store_->conn != nullptr) store_->output_at_close = store_->conn->Output();
  }
  const std::vector<mail::MessageInfo>& Messages() const override { return infos_; }
  Result<void> Read(size_t index, const mail::ChunkSink& sink) override {
    ++store_->read_calls;
    const std::string& content = store_->messages.at(index).content;
    size_t chunks = 0;
    for (size_t pos = 0; pos < content.size(); pos += store_->chunk_size) {
      if (store_->read_error && chunks == store_->read_error_after_chunks) {
        return MakeError(*store_->read_error, "fake read failure");
      }
      std::string_view chunk = std::string_view(content).substr(pos, store_->chunk_size);
      ++chunks;
      ++store_->chunks_delivered;
      ONIONMAIL_RETURN_IF_ERROR(
          sink({reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size()}));
    }
    if (store_->read_error) return MakeError(*store_->read_error, "fake read failure");
    return Ok();
  }
  Result<void> Expunge(std::span<const size_t> indices) override {
    store_->expunge_calls.emplace_back(indices.begin(), indices.end());
    if (store_->expunge_error) return MakeError(*store_->expunge_error, "fake expunge failure");
    return Ok();
  }

 private:
  FakeStore* store_;
  std::vector<mail::MessageInfo> infos_;
};

class FakeBackend : public mail::MailboxBackend {
 public:
  explicit FakeBackend(FakeStore* store) : store_(store) {}
  Result<std::unique_ptr<mail::Mailbox>> Open(std::string_view user,
                                              const SecretBytes& password) override {
    opened_users.emplace_back(user);
    if (open_error) return MakeError(*open_error, "fake open failure");
    if (user != "bob" || password.RevealString(SecretAccess::Grant()) != "secret pw") {
      return MakeError(ErrorCode::kUnauthenticated, "bad credentials");
    }
    if (store_->open) return MakeError(ErrorCode::kFailedPrecondition, "in use");
    return std::unique_ptr<mail::Mailbox>(new FakeMailbox(store_));
  }
  std::vector<std::string> opened_users;
  std::optional<ErrorCode> open_error;

 private:
  FakeStore* store_;
};

// Counts Write calls to show that messages are streamed chunk by chunk.
class CountingConnection : public net::FakeConnection {
 public:
  Result<void> Write(std::string_view bytes) override {
    ++writes;
    return FakeConnection::Write(bytes);
  }
  int writes = 0;
};

constexpr std::string_view kGreeting = "+OK mx.example.onion POP3 onionmaild ready\r\n";
constexpr std::string_view kStlsOk = "+OK Begin TLS negotiation\r\n";
constexpr std::string_view kLogin = "USER bob\r\nPASS secret pw\r\n";
constexpr std::string_view kBye = "+OK mx.example.onion POP3 onionmaild signing off\r\n";

class Pop3SessionTest : public ::testing::Test {
 protected:
  Pop3SessionTest() : backend_(&store_) {
    config_.hostname = "mx.example.onion";
    config_.log_tag = "[test]";
    config_.auth_failure_delay_ms = 0;
    store_.messages = {
        {"uid-1", "Subject: a\r\n\r\nhello\r\n"},         // 21 octets
        {"uid-2", "Subject: b\r\n\r\n.dot\r\n.\r\nend"},  // 26 octets
        {"uid-3", "X: y\r\n\r\nl1\r\nl2\r\nl3\r\n"},      // 20 octets
    };
  }

  // Runs a session: `plain` before STLS, `tls` inside TLS.
  std::string Run(std::string_view plain, std::string_view tls = "") {
    conn_.Feed(plain);
    conn_.FeedAfterTls(tls);
    Session session(conn_, backend_, config_);
    session.Run();
    return conn_.Output();
  }
  // Runs STLS then `tls`; returns the output after the STLS reply.
  std::string RunTls(std::string_view tls) {
    std::string out = Run("STLS\r\n", tls);
    std::string prefix = std::string(kGreeting) + std::string(kStlsOk);
    EXPECT_EQ(out.substr(0, prefix.size()), prefix);
    return out.substr(std::min(prefix.size(), out.size()));
  }
  // Logs in as bob over TLS, then runs `commands`; returns the output after
  // the login reply.
  std::string RunLoggedIn(std::string_view commands) {
    std::string out = RunTls(std::string(kLogin) + std::string(commands));
    std::string prefix = "+OK Send PASS\r\n+OK maildrop has 3 messages (67 octets)\r\n";
    EXPECT_EQ(out.substr(0, prefix.size()), prefix);
    return out.substr(std::min(prefix.size(), out.size()));
  }

  FakeStore store_;
  FakeBackend backend_;
  SessionConfig config_;
  CountingConnection conn_;
};

TEST_F(Pop3SessionTest, GreetsWithHostnameAndEndsOnQuitInAuthorization) {
  EXPECT_EQ(Run("QUIT\r\n"), std::string(kGreeting) + std::string(kBye));
}

TEST_F(Pop3SessionTest, CapaBeforeTlsOffersStlsButNoLogin) {
  std::string out = Run("CAPA\r\n");
  EXPECT_EQ(out, std::string(kGreeting) +
                     "+OK Capability list follows\r\nCAPA\r\nSTLS\r\nUIDL\r\nTOP\r\n"
                     "RESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\nEXPIRE 60\r\n"
                     "IMPLEMENTATION onionmaild\r\n.\r\n");
}

TEST_F(Pop3SessionTest, CapaAfterTlsOffersUserAndSaslPlainButNoStls) {
  config_.expire_days = 30;
  std::string out = RunTls("CAPA\r\n");
  EXPECT_EQ(out,
            "+OK Capability list follows\r\nCAPA\r\nUSER\r\nSASL PLAIN\r\nUIDL\r\nTOP\r\n"
            "RESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\nEXPIRE 30\r\nIMPLEMENTATION "
            "onionmaild\r\n.\r\n");
}

TEST_F(Pop3SessionTest, CapaInTransactionOffersNeitherStlsNorLogin) {
  std::string out = RunLoggedIn("CAPA\r\n");
  EXPECT_NE(out.find("UIDL\r\n"), std::string::npos);
  EXPECT_EQ(out.find("STLS"), std::string::npos);
  EXPECT_EQ(out.find("USER"), std::string::npos);
  EXPECT_EQ(out.find("SASL"), std::string::npos);
}

TEST_F(Pop3SessionTest, UserPassAndAuthBeforeStlsAreRefusedAndSessionStaysOpen) {
  std::string refused = "-ERR TLS required before authentication, use STLS\r\n";
  std::string out = Run("USER bob\r\nPASS secret pw\r\nAUTH PLAIN " + Base64("\0bob\0secret pw"s) +
                        "\r\nNOOP\r\n"
                        "QUIT\r\n");
  EXPECT_EQ(out, std::string(kGreeting) + refused + refused + refused +
                     "-ERR Command not valid in this state\r\n" + std::string(kBye));
  EXPECT_TRUE(backend_.opened_users.empty());
}

TEST_F(Pop3SessionTest, RepliesToPipelinedCommandsAreSentTogether) {
  std::string out = RunLoggedIn("STAT\r\nNOOP\r\nQUIT\r\n");
  EXPECT_EQ(out, "+OK 3 67\r\n+OK\r\n" + std::string(kBye));
  // Everything after STLS arrived at once (the fake feeds it so): one send
  // from the USER reply to the QUIT reply.
  const auto& sends = conn_.Sends();
  ASSERT_FALSE(sends.empty());
  EXPECT_EQ(sends.back().substr(0, 15), "+OK Send PASS\r\n") << sends.back();
  EXPECT_EQ(sends.back().substr(sends.back().size() - kBye.size()), kBye);
}

TEST_F(Pop3SessionTest, APipelinedRetrieveAndDeleteOfTheWholeMaildropIsAnsweredInOrder) {
  // What a client does with PIPELINING (RFC 2449, 6.6): one write with
  // every RETR and DELE, then QUIT; the replies come back in order, in one
  // send, and QUIT expunges what was deleted.
  std::string out =
      RunLoggedIn("RETR 1\r\nDELE 1\r\nRETR 2\r\nDELE 2\r\nRETR 3\r\nDELE 3\r\nQUIT\r\n");
  EXPECT_EQ(out,
            "+OK 21 octets\r\nSubject: a\r\n\r\nhello\r\n.\r\n+OK Message 1 deleted\r\n"
            "+OK 26 octets\r\nSubject: b\r\n\r\n..dot\r\n..\r\nend\r\n.\r\n"
            "+OK Message 2 deleted\r\n"
            "+OK 20 octets\r\nX: y\r\n\r\nl1\r\nl2\r\nl3\r\n.\r\n+OK Message 3 deleted\r\n" +
                std::string(kBye));
  ASSERT_EQ(store_.expunge_calls.size(), 1u);
  EXPECT_EQ(store_.expunge_calls[0], (std::vector<size_t>{0, 1, 2}));
  const auto& sends = conn_.Sends();
  ASSERT_FALSE(sends.empty());
  EXPECT_NE(sends.back().find("+OK 21 octets\r\n"), std::string::npos);
  EXPECT_EQ(sends.back().substr(sends.back().size() - kBye.size()), kBye);
}

TEST_F(Pop3SessionTest, CommandsPipelinedAfterStlsAreDiscarded) {
  std::string out = Run("STLS\r\nUSER bob\r\nPASS secret pw\r\n", "QUIT\r\n");
  EXPECT_EQ(out, std::string(kGreeting) + std::string(kStlsOk) + std::string(kBye));
  EXPECT_EQ(conn_.tls_starts(), 1);
  EXPECT_TRUE(backend_.opened_users.empty());
}

TEST_F(Pop3SessionTest, FailedTlsHandshakeEndsSession) {
  conn_.set_fail_tls(true);
  std::string out = Run("STLS\r\n", "QUIT\r\n");
  EXPECT_EQ(out, std::string(kGreeting) + std::string(kStlsOk));
}

TEST_F(Pop3SessionTest, StlsTwiceIsRefused) {
  EXPECT_EQ(RunTls("STLS\r\n"), "-ERR TLS already active\r\n");
  EXPECT_EQ(conn_.tls_starts(), 1);
}

TEST_F(Pop3SessionTest, StlsInTransactionIsRefused) {
  EXPECT_EQ(RunLoggedIn("STLS\r\nQUIT\r\n"),
            "-ERR Command not valid in this state\r\n" + std::string(kBye));
  EXPECT_EQ(conn_.tls_starts(), 1);
}

TEST_F(Pop3SessionTest, UserPassLoginReportsMaildropAndLowerCasesTheName) {
  std::string out = RunTls("USER BoB\r\nPASS secret pw\r\nQUIT\r\n");
  EXPECT_EQ(out,
            "+OK Send PASS\r\n+OK maildrop has 3 messages (67 octets)\r\n" + std::string(kBye));
  EXPECT_EQ(backend_.opened_users, std::vector<std::string>{"bob"});
  EXPECT_FALSE(store_.open);  // released at the end
  EXPECT_EQ(store_.closes, 1);
}

TEST_F(Pop3SessionTest, PassWithoutUserIsRefused) {
  EXPECT_EQ(RunTls("PASS secret pw\r\n"), "-ERR Send USER first\r\n");
  EXPECT_TRUE(backend_.opened_users.empty());
}

TEST_F(Pop3SessionTest, WrongPasswordAndUnknownUserGetTheSameReply) {
  std::string out = RunTls("USER bob\r\nPASS wrong\r\nUSER nobody\r\nPASS secret pw\r\n");
  std::string failed = "+OK Send PASS\r\n-ERR [AUTH] Invalid credentials\r\n";
  EXPECT_EQ(out, failed + failed);
  EXPECT_EQ(backend_.opened_users, (std::vector<std::string>{"bob", "nobody"}));
}

TEST_F(Pop3SessionTest, InvalidUserNameFailsLikeBadCredentialsWithoutAskingBackend) {
  std::string out = RunTls("USER b..ob\r\nPASS secret pw\r\nUSER ../x\r\nPASS secret pw\r\n");
  std::string failed = "+OK Send PASS\r\n-ERR [AUTH] Invalid credentials\r\n";
  EXPECT_EQ(out, failed + failed);
  EXPECT_TRUE(backend_.opened_users.empty());
}

TEST_F(Pop3SessionTest, FailedLoginIsDelayed) {
  config_.auth_failure_delay_ms = 60;
  auto start = std::chrono::steady_clock::now();
  std::string out = RunTls("USER bob\r\nPASS wrong\r\n");
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_NE(out.find("-ERR [AUTH] Invalid credentials"), std::string::npos);
  EXPECT_GE(elapsed, std::chrono::milliseconds(60));
}

TEST_F(Pop3SessionTest, MailboxInUseIsReportedWithInUseCode) {
  backend_.open_error = ErrorCode::kFailedPrecondition;
  EXPECT_EQ(RunTls("USER bob\r\nPASS secret pw\r\n"),
            "+OK Send PASS\r\n-ERR [IN-USE] Mailbox already in use\r\n");
}

TEST_F(Pop3SessionTest, LoginWhileServerIsSealedSaysSoAsTemporary) {
  backend_.open_error = ErrorCode::kSealed;
  EXPECT_EQ(RunTls("USER bob\r\nPASS secret pw\r\n"),
            "+OK Send PASS\r\n-ERR [SYS/TEMP] Server sealed: waiting for its peers to unseal the "
            "master key, try again later\r\n");
}

TEST_F(Pop3SessionTest, BackendTroubleIsReportedAsTemporary) {
  backend_.open_error = ErrorCode::kUnavailable;
  std::string out = RunTls("USER bob\r\nPASS secret pw\r\nNOOP\r\n");
  EXPECT_EQ(out,
            "+OK Send PASS\r\n-ERR [SYS/TEMP] Mailbox temporarily unavailable, try again "
            "later\r\n-ERR Command not valid in this state\r\n");
}

TEST_F(Pop3SessionTest, TooManyAuthFailuresCloseTheConnection) {
  std::string out = RunTls(
      "USER bob\r\nPASS a\r\nUSER bob\r\nPASS b\r\nUSER bob\r\nPASS c\r\n"
      "USER bob\r\nPASS secret pw\r\n");
  std::string failed = "+OK Send PASS\r\n-ERR [AUTH] Invalid credentials\r\n";
  EXPECT_EQ(out, failed + failed +
                     "+OK Send PASS\r\n-ERR [AUTH] Invalid credentials, too many failures, "
                     "closing connection\r\n");
  EXPECT_EQ(backend_.opened_users.size(), 3u);
}

TEST_F(Pop3SessionTest, AuthPlainWithInitialResponseLogsIn) {
  std::string out = RunTls("AUTH PLAIN " + Base64("\0bob\0secret pw"s) + "\r\nQUIT\r\n");
  EXPECT_EQ(out, "+OK maildrop has 3 messages (67 octets)\r\n" + std::string(kBye));
}

TEST_F(Pop3SessionTest, AuthPlainWithContinuationLogsIn) {
  std::string out = RunTls("auth plain\r\n" + Base64("bob\0Bob\0secret pw"s) + "\r\nSTAT\r\n");
  EXPECT_EQ(out, "+ \r\n+OK maildrop has 3 messages (67 octets)\r\n+OK 3 67\r\n");
  EXPECT_EQ(backend_.opened_users, std::vector<std::string>{"bob"});
}

TEST_F(Pop3SessionTest, AuthPlainCanBeCancelledWithStar) {
  std::string out = RunTls("AUTH PLAIN\r\n*\r\nNOOP\r\n");
  EXPECT_EQ(out,
            "+ \r\n-ERR Authentication cancelled\r\n"
            "-ERR Command not valid in this state\r\n");
  EXPECT_TRUE(backend_.opened_users.empty());
}

TEST_F(Pop3SessionTest, AuthPlainWithBadCredentialsOrGarbageFails) {
  std::string out = RunTls("AUTH PLAIN " + Base64("\0bob\0nope"s) + "\r\nAUTH PLAIN !!!!\r\n");
  EXPECT_EQ(out, "-ERR [AUTH] Invalid credentials\r\n-ERR [AUTH] Invalid credentials\r\n");
  EXPECT_EQ(backend_.opened_users, std::vector<std::string>{"bob"});
}

TEST_F(Pop3SessionTest, AuthWithUnsupportedMechanismIsRefused) {
  EXPECT_EQ(RunTls("AUTH LOGIN\r\n"), "-ERR Unsupported authentication mechanism\r\n");
}

TEST_F(Pop3SessionTest, TransactionCommandsInAuthorizationAreRefused) {
  EXPECT_EQ(RunTls("STAT\r\nRETR 1\r\n"),
            "-ERR Command not valid in this state\r\n-ERR Command not valid in this state\r\n");
}

TEST_F(Pop3SessionTest, UnknownCommandIsRefused) {
  EXPECT_EQ(RunLoggedIn("XYZZY\r\nAPOP bob 123\r\n"),
            "-ERR Unknown command\r\n-ERR Unknown command\r\n");
}

TEST_F(Pop3SessionTest, StatListAndUidlWithoutArguments) {
  EXPECT_EQ(RunLoggedIn("STAT\r\nLIST\r\nUIDL\r\n"),
            "+OK 3 67\r\n"
            "+OK Scan listing follows\r\n1 21\r\n2 26\r\n3 20\r\n.\r\n"
            "+OK Unique-id listing follows\r\n1 uid-1\r\n2 uid-2\r\n3 uid-3\r\n.\r\n");
}

TEST_F(Pop3SessionTest, ListAndUidlWithMessageNumber) {
  EXPECT_EQ(RunLoggedIn("LIST 2\r\nUIDL 3\r\n"), "+OK 2 26\r\n+OK 3 uid-3\r\n");
}

TEST_F(Pop3SessionTest, InvalidMessageNumbersAreRefused) {
  std::string out = RunLoggedIn(
      "LIST 0\r\nRETR -1\r\nDELE 99\r\nUIDL abc\r\nTOP 1 x\r\n"
      "RETR\r\nTOP 1\r\nLIST 1 2\r\n");
  EXPECT_EQ(out,
            "-ERR No such message\r\n-ERR Invalid message number\r\n-ERR No such message\r\n"
            "-ERR Invalid message number\r\n-ERR Invalid line count\r\n"
            "-ERR Syntax error in arguments\r\n-ERR Syntax error in arguments\r\n"
            "-ERR Syntax error in arguments\r\n");
  EXPECT_EQ(store_.read_calls, 0u);
}

TEST_F(Pop3SessionTest, RetrDotStuffsAndTerminatesMessageWithoutFinalCrlf) {
  EXPECT_EQ(RunLoggedIn("RETR 2\r\nRETR 1\r\n"),
            "+OK 26 octets\r\nSubject: b\r\n\r\n..dot\r\n..\r\nend\r\n.\r\n"
            "+OK 21 octets\r\nSubject: a\r\n\r\nhello\r\n.\r\n");
}

TEST_F(Pop3SessionTest, LargeMessageIsStreamedChunkByChunk) {
  std::string content = "Subject: big\r\n\r\n";
  std::string expected = content;
  for (int i = 0; i < 20000; ++i) {
    std::string line = (i % 3 == 0 ? ".line " : "line ") + std::to_string(i) + "\r\n";
    content += line;
    expected += (line[0] == '.' ? "." : "") + line;
  }
  store_.messages = {{"big", content}};
  store_.chunk_size = 4096;
  std::string out = RunTls(std::string(kLogin) + "RETR 1\r\n");
  std::string head = "+OK Send PASS\r\n+OK maildrop has 1 messages (" +
                     std::to_string(content.size()) + " octets)\r\n+OK " +
                     std::to_string(content.size()) + " octets\r\n";
  EXPECT_EQ(out, head + expected + ".\r\n");
  size_t chunks = (content.size() + 4095) / 4096;
  EXPECT_GT(chunks, 50u);
  EXPECT_EQ(store_.chunks_delivered, chunks);
  EXPECT_GE(conn_.writes, static_cast<int>(chunks));
}

TEST_F(Pop3SessionTest, TopZeroSendsOnlyTheHeader) {
  EXPECT_EQ(RunLoggedIn("TOP 3 0\r\n"), "+OK Top of message follows\r\nX: y\r\n\r\n.\r\n");
}

TEST_F(Pop3SessionTest, TopNSendsHeaderAndNBodyLinesAndStopsReading) {
  store_.chunk_size = 1;
  EXPECT_EQ(RunLoggedIn("TOP 3 2\r\nNOOP\r\n"),
            "+OK Top of message follows\r\nX: y\r\n\r\nl1\r\nl2\r\n.\r\n+OK\r\n");
  EXPECT_EQ(store_.chunks_delivered, std::string("X: y\r\n\r\nl1\r\nl2\r\n").size());
}

TEST_F(Pop3SessionTest, TopWithMoreLinesThanTheBodySendsWholeMessage) {
  EXPECT_EQ(RunLoggedIn("TOP 2 100\r\n"),
            "+OK Top of message follows\r\nSubject: b\r\n\r\n..dot\r\n..\r\nend\r\n.\r\n");
}

TEST_F(Pop3SessionTest, DeletedMessageIsHiddenFromStatListAndRetr) {
  EXPECT_EQ(RunLoggedIn("DELE 2\r\nSTAT\r\nLIST\r\nLIST 2\r\nRETR 2\r\nTOP 2 0\r\nDELE 2\r\n"),
            "+OK Message 2 deleted\r\n+OK 2 41\r\n"
            "+OK Scan listing follows\r\n1 21\r\n3 20\r\n.\r\n"
            "-ERR Message already deleted\r\n-ERR Message already deleted\r\n"
            "-ERR Message already deleted\r\n-ERR Message already deleted\r\n");
}

TEST_F(Pop3SessionTest, RsetUndeletesMessages) {
  EXPECT_EQ(RunLoggedIn("DELE 1\r\nDELE 3\r\nRSET\r\nUIDL\r\nQUIT\r\n"),
            "+OK Message 1 deleted\r\n+OK Message 3 deleted\r\n"
            "+OK maildrop has 3 messages (67 octets)\r\n"
            "+OK Unique-id listing follows\r\n1 uid-1\r\n2 uid-2\r\n3 uid-3\r\n.\r\n" +
                std::string(kBye));
  EXPECT_TRUE(store_.expunge_calls.empty());
}

TEST_F(Pop3SessionTest, QuitExpungesExactlyTheDeletedMessages) {
  std::string out = RunLoggedIn("DELE 3\r\nDELE 1\r\nQUIT\r\nNOOP\r\n");
  EXPECT_EQ(out, "+OK Message 3 deleted\r\n+OK Message 1 deleted\r\n" + std::string(kBye));
  ASSERT_EQ(store_.expunge_calls.size(), 1u);
  EXPECT_EQ(store_.expunge_calls[0], (std::vector<size_t>{0, 2}));
  EXPECT_FALSE(store_.open);
}

TEST_F(Pop3SessionTest, QuitReleasesTheMailboxBeforeItsOk) {
  // RFC 1939 UPDATE state: deletions done and the mailbox (its lock)
  // released before +OK, so the client can log in again at once.
  store_.conn = &conn_;
  EXPECT_EQ(RunLoggedIn("DELE 1\r\nQUIT\r\n"), "+OK Message 1 deleted\r\n" + std::string(kBye));
  EXPECT_EQ(store_.closes, 1);
  EXPECT_EQ(store_.expunge_calls.size(), 1u);
  EXPECT_EQ(store_.output_at_close.find(kBye), std::string::npos);
  EXPECT_NE(store_.output_at_close.find("+OK Message 1 deleted"), std::string::npos);
}

TEST_F(Pop3SessionTest, FailedExpungeIsReportedAsTemporary) {
  store_.expunge_error = ErrorCode::kInternal;
  EXPECT_EQ(RunLoggedIn("DELE 1\r\nQUIT\r\n"),
            "+OK Message 1 deleted\r\n-ERR [SYS/TEMP] Some deleted messages not removed\r\n");
  EXPECT_EQ(store_.expunge_calls.size(), 1u);
}

TEST_F(Pop3SessionTest, DroppedConnectionAfterDeleExpungesNothing) {
  EXPECT_EQ(RunLoggedIn("DELE 1\r\n"), "+OK Message 1 deleted\r\n");
  EXPECT_TRUE(store_.expunge_calls.empty());
  EXPECT_FALSE(store_.open);
  EXPECT_EQ(store_.closes, 1);
}

TEST_F(Pop3SessionTest, ReadFailureBeforeAnyByteIsAnsweredWithTemporaryError) {
  store_.read_error = ErrorCode::kDataLoss;
  store_.read_error_after_chunks = 0;
  EXPECT_EQ(RunLoggedIn("RETR 1\r\nNOOP\r\n"),
            "-ERR [SYS/TEMP] Message temporarily unreadable, try again later\r\n+OK\r\n");
}

TEST_F(Pop3SessionTest, ReadFailureMidMessageClosesTheConnection) {
  store_.read_error = ErrorCode::kDataLoss;
  store_.read_error_after_chunks = 1;
  std::string out = RunLoggedIn("DELE 2\r\nRETR 1\r\nNOOP\r\nQUIT\r\n");
  EXPECT_EQ(out, "+OK Message 2 deleted\r\n+OK 21 octets\r\nSubject");
  EXPECT_TRUE(store_.expunge_calls.empty());
}

TEST_F(Pop3SessionTest, TooLongLineClosesTheConnection) {
  std::string out = RunTls("NOOP " + std::string(2000, 'x') + "\r\nQUIT\r\n");
  EXPECT_EQ(out, "-ERR Line too long, closing connection\r\n");
}

TEST_F(Pop3SessionTest, TooLongAuthContinuationClosesTheConnection) {
  std::string out = RunTls("AUTH PLAIN\r\n" + std::string(2000, 'A') + "\r\nQUIT\r\n");
  EXPECT_EQ(out, "+ \r\n-ERR Line too long, closing connection\r\n");
  EXPECT_TRUE(backend_.opened_users.empty());
}

TEST_F(Pop3SessionTest, BareLfLinesAreAccepted) {
  EXPECT_EQ(RunLoggedIn("STAT\nQUIT\n"), "+OK 3 67\r\n" + std::string(kBye));
}

TEST_F(Pop3SessionTest, PasswordMayContainSpaces) {
  std::string out = RunTls("USER bob\r\nPASS secret pw\r\n");
  EXPECT_EQ(out, "+OK Send PASS\r\n+OK maildrop has 3 messages (67 octets)\r\n");
}

}  // namespace
}  // namespace onionmail::pop3
