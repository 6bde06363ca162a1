// The relay path end to end, minus the processes: RemoteRelayBackend (the
// SMTP front end's side) -> socketpair control channel -> ServeRelayControl
// and ServeRelaySession on a thread (the relay role's side) -> MailClient ->
// an in-test SOCKS5 proxy mapping the onion name to loopback -> a real
// smtp::Session with FakeDeliveryBackend as the remote server. Also the
// relay role's refusals (not an onion, no proxy, over its limit) and its
// handling of misbehaving front ends.
#include "server/relay_session.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "ipc/channel.h"
#include "server/relay_backend.h"
#include "tests/server/relay_test_util.h"

namespace onionmail::server {
namespace {

using namespace std::chrono_literals;

const std::string kSender = "alice@" + std::string(kLocalOnion);
const std::string kBob = "bob@" + std::string(kRemoteOnion);

RelayOptions Options(std::string proxy) {
  RelayOptions o;
  o.socks5_proxy = std::move(proxy);
  o.helo_name = std::string(kLocalOnion);
  o.connect_timeout = 10000ms;
  o.command_timeout = 10000ms;
  o.data_block_timeout = 10000ms;
  o.final_timeout = 10000ms;
  o.session_idle_timeout = 20000ms;
  return o;
}

using Relay = RelayTestRunner;

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::unique_ptr<mail::RemoteTransaction> BeginOk(RemoteRelayBackend& backend, uint64_t size = 0) {
  auto begun = backend.Begin(kRemoteOnion, kSender, {size});
  EXPECT_TRUE(begun.ok()) << (begun.ok() ? "" : begun.error().message);
  if (!begun.ok()) return nullptr;
  EXPECT_EQ(begun->mail_reply.code, 250);
  EXPECT_EQ(begun->mail_reply.enhanced, "2.1.0");
  return std::move(begun->transaction);
}

void ExpectCode(const Result<mail::RelayReply>& r, int code, std::string_view enhanced) {
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->code, code);
  EXPECT_EQ(r->enhanced, enhanced);
}

TEST(RelaySessionTest, MessageRelayedEndToEndArrivesByteExact) {
  RemoteServer remote;
  OnionProxy proxy(remote.port());
  Relay relay(Options(proxy.address()));
  std::string body = "From: <" + kSender + ">\r\nSubject: over the relay\r\n\r\n.\r\n..\r\n";
  // More than two IPC chunks, with lines starting with a dot across them.
  while (body.size() < 2 * ipc::kMaxChunkBytes + 100)
    body += ".line " + std::to_string(body.size()) + "\r\n";
  auto t = BeginOk(relay.backend(), body.size());
  ASSERT_NE(t, nullptr);
  ExpectCode(t->Rcpt(kBob), 250, "2.1.5");
  ExpectCode(t->Rcpt("carol@" + std::string(kRemoteOnion)), 250, "2.1.5");
  ExpectCode(t->Data(), 354, "");
  for (size_t i = 0; i < body.size(); i += 5000) {
    ASSERT_TRUE(t->Append(Bytes(std::string_view(body).substr(i, 5000))).ok());
  }
  ExpectCode(t->End(), 250, "2.0.0");
  auto again = t->Rcpt(kBob);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kFailedPrecondition);
  t.reset();
  EXPECT_EQ(proxy.relayed, 1);
  auto& backend = remote.Backend();
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_EQ(WithoutTraceHeaders(backend.delivered[0].bytes), body);
  EXPECT_EQ(backend.delivered[0].envelope.reverse_path, kSender);
  EXPECT_EQ(backend.delivered[0].envelope.local_parts, (std::vector<std::string>{"bob", "carol"}));
  EXPECT_EQ(backend.declared_sizes, (std::vector<uint64_t>{body.size(), body.size()}));
}

TEST(RelaySessionTest, EightBitBodyDeclaredAs8BitMimeArrivesByteExact) {
  RemoteServer remote;
  OnionProxy proxy(remote.port());
  Relay relay(Options(proxy.address()));
  const std::string body = "Subject: caf\xc3\xa9\r\n\r\nna\xc3\xafve \xe2\x82\xac\r\n";
  auto begun = relay.backend().Begin(kRemoteOnion, kSender, {body.size(), true});
  ASSERT_TRUE(begun.ok()) << begun.error().message;
  EXPECT_EQ(begun->mail_reply.code, 250);
  auto t = std::move(begun->transaction);
  ASSERT_NE(t, nullptr);
  ExpectCode(t->Rcpt(kBob), 250, "2.1.5");
  ExpectCode(t->Data(), 354, "");
  ASSERT_TRUE(t->Append(Bytes(body)).ok());
  ExpectCode(t->End(), 250, "2.0.0");
  t.reset();
  auto& backend = remote.Backend();
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_EQ(WithoutTraceHeaders(backend.delivered[0].bytes), body);
}

TEST(RelaySessionTest, RemoteUnknownRecipientComesBackAs550With511) {
  RemoteServer remote;
  OnionProxy proxy(remote.port());
  Relay relay(Options(proxy.address()));
  auto t = BeginOk(relay.backend());
  ASSERT_NE(t, nullptr);
  ExpectCode(t->Rcpt("nobody@" + std::string(kRemoteOnion)), 550, "5.1.1");
  ExpectCode(t->Rcpt(kBob), 250, "2.1.5");  // the transaction carries on
  ExpectCode(t->Data(), 354, "");
  ASSERT_TRUE(t->Append(Bytes("Subject: x\r\n\r\nhi\r\n")).ok());
  ExpectCode(t->End(), 250, "2.0.0");
  t.reset();
  auto& backend = remote.Backend();
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_EQ(backend.delivered[0].envelope.local_parts, std::vector<std::string>{"bob"});
}

TEST(RelaySessionTest, RemoteRefusingMailGivesItsReplyAndNoTransaction) {
  RemoteServer remote(/*max_message_bytes=*/1000);
  OnionProxy proxy(remote.port());
  Relay relay(Options(proxy.address()));
  auto begun = relay.backend().Begin(kRemoteOnion, kSender, {5000});
  ASSERT_TRUE(begun.ok()) << begun.error().message;
  EXPECT_EQ(begun->mail_reply.code, 552);
  EXPECT_EQ(begun->mail_reply.enhanced, "5.3.4");
  EXPECT_EQ(begun->transaction, nullptr);
  EXPECT_EQ(remote.Backend().begun, 0);
}

TEST(RelaySessionTest, NonOnionDomainIsInvalidArgumentWithoutAConnection) {
  RemoteServer remote;
  OnionProxy proxy(remote.port());
  Relay relay(Options(proxy.address()));
  std::string wrong_checksum(kRemoteOnion);
  wrong_checksum[0] = 'b';
  for (const std::string& domain :
       {std::string("example.com"), std::string("peer.onion"), std::string("127.0.0.1"),
        std::string("expyuzz4wqqyqhjn.onion"), wrong_checksum}) {
    auto begun = relay.backend().Begin(domain, kSender, {0});
    ASSERT_FALSE(begun.ok()) << domain;
    EXPECT_EQ(begun.error().code, ErrorCode::kInvalidArgument) << domain;
  }
  EXPECT_EQ(proxy.accepted(), 0);
  EXPECT_EQ(remote.accepted(), 0);
}

TEST(RelaySessionTest, NoProxyConfiguredIsFailedPreconditionWithoutAConnection) {
  RemoteServer remote;
  Relay relay(Options(""));
  auto begun = relay.backend().Begin(kRemoteOnion, kSender, {0});
  ASSERT_FALSE(begun.ok());
  EXPECT_EQ(begun.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(remote.accepted(), 0);
}

TEST(RelaySessionTest, RemoteUnreachableThroughTheProxyIsUnavailable) {
  RemoteServer remote;
  OnionProxy proxy(remote.port(), /*refuse=*/true);
  Relay relay(Options(proxy.address()));
  auto begun = relay.backend().Begin(kRemoteOnion, kSender, {0});
  ASSERT_FALSE(begun.ok());
  EXPECT_EQ(begun.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(proxy.accepted(), 1);
  EXPECT_EQ(remote.accepted(), 0);
}

TEST(RelaySessionTest, DestroyingTheTransactionMidDataLeavesNothingAtTheRemote) {
  RemoteServer remote;
  OnionProxy proxy(remote.port());
  Relay relay(Options(proxy.address()));
  auto t = BeginOk(relay.backend());
  ASSERT_NE(t, nullptr);
  ExpectCode(t->Rcpt(kBob), 250, "2.1.5");
  ExpectCode(t->Data(), 354, "");
  ASSERT_TRUE(t->Append(Bytes("Subject: half\r\n\r\nthe first half\r\n")).ok());
  t.reset();                         // the client went away: no final dot
  auto& backend = remote.Backend();  // waits for the remote session to end
  EXPECT_TRUE(backend.delivered.empty());
  EXPECT_EQ(backend.begun, 1);
  EXPECT_EQ(backend.abandoned, 1);
}

TEST(RelaySessionTest, FinishThenEndGivesTheAnswerAndNothingMoreCanBeSent) {
  RemoteServer remote;
  OnionProxy proxy(remote.port());
  Relay relay(Options(proxy.address()));
  auto t = BeginOk(relay.backend());
  ASSERT_NE(t, nullptr);
  ExpectCode(t->Rcpt(kBob), 250, "2.1.5");
  ExpectCode(t->Data(), 354, "");
  ASSERT_TRUE(t->Append(Bytes("Subject: two steps\r\n\r\nbody\r\n")).ok());
  ASSERT_TRUE(t->Finish().ok());
  auto more = t->Append(Bytes("late\r\n"));
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.error().code, ErrorCode::kFailedPrecondition);
  auto twice = t->Finish();
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, ErrorCode::kFailedPrecondition);
  ExpectCode(t->End(), 250, "2.0.0");
  auto after = t->End();
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code, ErrorCode::kFailedPrecondition);
  t.reset();
  auto& backend = remote.Backend();
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_EQ(WithoutTraceHeaders(backend.delivered[0].bytes), "Subject: two steps\r\n\r\nbody\r\n");
}

TEST(RelaySessionTest, FinishAloneSendsTheFinalDotWithoutWaitingForTheAnswer) {
  RemoteServer remote;
  OnionProxy proxy(remote.port());
  Relay relay(Options(proxy.address()));
  auto t = BeginOk(relay.backend());
  ASSERT_NE(t, nullptr);
  ExpectCode(t->Rcpt(kBob), 250, "2.1.5");
  ExpectCode(t->Data(), 354, "");
  ASSERT_TRUE(t->Append(Bytes("Subject: finished\r\n\r\nbody\r\n")).ok());
  ASSERT_TRUE(t->Finish().ok());
  t.reset();  // the answer is never read: the dot was sent all the same
  auto& backend = remote.Backend();
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_EQ(WithoutTraceHeaders(backend.delivered[0].bytes), "Subject: finished\r\n\r\nbody\r\n");
}

TEST(RelaySessionTest, SessionsBeyondMaxConcurrentAreRefusedAsResourceExhausted) {
  RemoteServer remote;
  OnionProxy proxy(remote.port());
  RelayOptions options = Options(proxy.address());
  options.max_concurrent = 1;
  Relay relay(options);
  auto first = BeginOk(relay.backend());
  ASSERT_NE(first, nullptr);
  for (int i = 0; i < 3; ++i) {
    auto refused = relay.backend().Begin(kRemoteOnion, kSender, {0});
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::kResourceExhausted) << refused.error().message;
  }
  EXPECT_EQ(proxy.accepted(), 1) << "a refused session never connects";
  first.reset();
  // The slot comes back once the relay role has seen the session end.
  std::unique_ptr<mail::RemoteTransaction> next;
  for (auto deadline = std::chrono::steady_clock::now() + 10s;
       next == nullptr && std::chrono::steady_clock::now() < deadline;) {
    auto begun = relay.backend().Begin(kRemoteOnion, kSender, {0});
    if (begun.ok()) {
      next = std::move(begun->transaction);
    } else {
      ASSERT_EQ(begun.error().code, ErrorCode::kResourceExhausted);
      std::this_thread::sleep_for(20ms);
    }
  }
  ASSERT_NE(next, nullptr);
  ExpectCode(next->Rcpt(kBob), 250, "2.1.5");
  ExpectCode(next->Data(), 354, "");
  ASSERT_TRUE(next->Append(Bytes("Subject: second\r\n\r\nok\r\n")).ok());
  ExpectCode(next->End(), 250, "2.0.0");
  next.reset();
  EXPECT_EQ(remote.Backend().delivered.size(), 1u);
}

// A raw session channel served by ServeRelaySession on a thread.
class RawSession {
 public:
  explicit RawSession(const RelayOptions& options) {
    auto pair = ipc::Channel::CreatePair();
    EXPECT_TRUE(pair.ok());
    front_.emplace(std::move(pair->first));
    auto relay_end = std::make_shared<ipc::Channel>(std::move(pair->second));
    thread_ = std::thread([relay_end, options] { ServeRelaySession(*relay_end, options); });
  }
  ~RawSession() {
    front_.reset();
    thread_.join();
  }
  ipc::Channel& front() { return *front_; }
  // True when the relay role closed the session.
  bool Ended() {
    auto r = front_->Receive(5000ms);
    return !r.ok() && r.error().code == ErrorCode::kUnavailable;
  }

 private:
  std::optional<ipc::Channel> front_;
  std::thread thread_;
};

TEST(RelaySessionTest, OutOfOrderOrForeignRequestsEndTheSession) {
  RemoteServer remote;
  OnionProxy proxy(remote.port());
  const RelayOptions options = Options(proxy.address());
  std::vector<ipc::Message> first_messages;  // (Message is move-only)
  first_messages.emplace_back(ipc::RelayRcptRequest{kBob});
  first_messages.emplace_back(ipc::RelayDataRequest{});
  first_messages.emplace_back(ipc::RelayAppendRequest{{'x'}});
  first_messages.emplace_back(ipc::RelayEndRequest{});
  first_messages.emplace_back(ipc::CommitRequest{});
  first_messages.emplace_back(ipc::RelayReply{ipc::Status::kOk, 250, ""});
  for (const ipc::Message& m : first_messages) {
    RawSession s(options);
    ASSERT_TRUE(s.front().Send(m).ok());
    EXPECT_TRUE(s.Ended()) << static_cast<int>(ipc::TypeOf(m));
  }
  // Message data before the 354, inside an open transaction.
  RawSession s(options);
  ASSERT_TRUE(s.front().Send(ipc::RelayBeginRequest{std::string(kRemoteOnion), kSender, 0}).ok());
  auto mail = s.front().Receive(10000ms);
  ASSERT_TRUE(mail.ok()) << mail.error().message;
  EXPECT_EQ(std::get<ipc::RelayReply>(*mail).code, 250);
  ASSERT_TRUE(s.front().Send(ipc::RelayAppendRequest{{'x'}}).ok());
  EXPECT_TRUE(s.Ended());
  EXPECT_EQ(proxy.accepted(), 1);
}

TEST(RelaySessionTest, ControlChannelRefusesAnythingButNewSessionAndStopsOnRequest) {
  auto pair = ipc::Channel::CreatePair();
  ASSERT_TRUE(pair.ok());
  std::atomic<bool> stop{false};
  ASSERT_TRUE(pair->first.Send(ipc::RelayEndRequest{}).ok());
  auto bad = ServeRelayControl(pair->second, Options("127.0.0.1:9"), &stop);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);

  auto quiet = ipc::Channel::CreatePair();
  ASSERT_TRUE(quiet.ok());
  std::thread stopper([&stop] {
    std::this_thread::sleep_for(50ms);
    stop = true;
  });
  auto stopped = ServeRelayControl(quiet->second, Options("127.0.0.1:9"), &stop);
  stopper.join();
  EXPECT_TRUE(stopped.ok());
  auto closed = ipc::Channel::CreatePair();
  ASSERT_TRUE(closed.ok());
  stop = false;
  { ipc::Channel gone = std::move(closed->first); }
  auto ended = ServeRelayControl(closed->second, Options("127.0.0.1:9"), &stop);
  ASSERT_FALSE(ended.ok());
  EXPECT_EQ(ended.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace onionmail::server
