// MailClient against the real SMTP server session (smtp::Session over
// net::SocketConnection with a net::TlsContext, FakeDeliveryBackend) on
// loopback: messages relayed byte-exact whatever the chunking, dot-stuffing,
// refusals returned as replies, SIZE, pinned and unpinned TLS 1.3, an onion
// name through an in-test SOCKS5 proxy, and a relay from inside a seccomp
// filter without file access.
#include "peer/mail_client.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include "base/sandbox.h"
#include "net/socket_connection.h"
#include "peer/socks5.h"
#include "seccomp/syscall_sets.h"
#include "smtp/session.h"
#include "tests/peer/peer_test_util.h"
#include "tests/smtp/fake_backend.h"

namespace onionmail::peer {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kSender = "alice@sender.onion";
constexpr std::string_view kRecipient = "bob@peer.onion";

// A real onionmaild SMTP session per accepted connection; users "bob" and
// "carol" exist.
class PeerServer {
 public:
  explicit PeerServer(uint64_t max_message_bytes = 25 * 1024 * 1024) : id(MakeTestIdentity()) {
    cfg_.domain = "peer.onion";
    cfg_.hostname = "peer.onion";
    cfg_.log_tag = "mail-client-test";
    cfg_.max_message_bytes = max_message_bytes;
    backend_.AddUser("bob", "unused-password");
    backend_.AddUser("carol", "unused-password");
    server_ = std::make_unique<LoopbackServer>([this](int fd) {
      net::SocketConnection conn(fd, id.tls, net::Timeouts{5000ms, 20000ms});
      smtp::Session(conn, backend_, cfg_).Run();
    });
  }
  std::string address() const { return server_->address(); }
  uint16_t port() const { return server_->port(); }
  // Ends the server (after the client has gone) and gives its backend.
  smtp::FakeDeliveryBackend& Backend() {
    server_->Stop();
    return backend_;
  }

  TestIdentity id;

 private:
  smtp::SessionConfig cfg_;
  smtp::FakeDeliveryBackend backend_;
  std::unique_ptr<LoopbackServer> server_;
};

MailClientOptions Options() {
  MailClientOptions o;
  o.helo_name = "sender.onion";
  o.connect_timeout = 10000ms;
  o.command_timeout = 10000ms;
  o.data_block_timeout = 10000ms;
  o.final_timeout = 10000ms;
  return o;
}

std::unique_ptr<MailClient> OpenOk(const std::string& address,
                                   const MailClientOptions& o = Options()) {
  auto c = MailClient::Open(address, o);
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
  return c.ok() ? std::move(*c) : nullptr;
}

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// MAIL, RCPT, DATA, the body in `chunk`-byte pieces, the final dot.
RemoteReply Send(MailClient& c, std::string_view body, size_t chunk,
                 std::string_view recipient = kRecipient) {
  auto mail = c.Mail(kSender, body.size());
  EXPECT_TRUE(mail.ok() && mail->code == 250) << (mail.ok() ? mail->text : mail.error().message);
  auto rcpt = c.Rcpt(recipient);
  EXPECT_TRUE(rcpt.ok() && rcpt->code == 250) << (rcpt.ok() ? rcpt->text : rcpt.error().message);
  auto data = c.Data();
  EXPECT_TRUE(data.ok() && data->code == 354) << (data.ok() ? data->text : data.error().message);
  for (size_t i = 0; i < body.size(); i += chunk) {
    auto w = c.WriteBody(Bytes(body.substr(i, chunk)));
    EXPECT_TRUE(w.ok()) << w.error().message;
  }
  auto end = c.EndData();
  EXPECT_TRUE(end.ok()) << end.error().message;
  return end.ok() ? *end : RemoteReply{};
}

// The stored message without the server's Return-Path and Received lines.
std::string WithoutTraceHeaders(const std::string& stored, std::string_view reverse_path) {
  std::string return_path = "Return-Path: <" + std::string(reverse_path) + ">\r\n";
  EXPECT_EQ(stored.rfind(return_path, 0), 0u) << stored;
  size_t received = return_path.size();
  EXPECT_EQ(stored.compare(received, 10, "Received: "), 0) << stored;
  size_t end = stored.find("\r\n", received);
  return end == std::string::npos ? std::string() : stored.substr(end + 2);
}

TEST(MailClientTest, MessageArrivesByteExactWhateverTheChunkSize) {
  const std::string body =
      "From: <alice@sender.onion>\r\nSubject: dots\r\n\r\n.\r\n..\r\n.leading\r\n"
      "mid.dle.\r\n\r\n...\r\n. \r\nlast line\r\n";
  PeerServer peer;
  auto c = OpenOk(peer.address());
  ASSERT_NE(c, nullptr);
  for (size_t chunk = 1; chunk <= 17; ++chunk) {
    RemoteReply end = Send(*c, body, chunk);
    EXPECT_EQ(end.code, 250) << "chunk " << chunk << ": " << end.text;
    EXPECT_EQ(end.enhanced, "2.0.0");
  }
  c->Quit();
  auto& backend = peer.Backend();
  ASSERT_EQ(backend.delivered.size(), 17u);
  for (size_t i = 0; i < backend.delivered.size(); ++i) {
    const auto& d = backend.delivered[i];
    EXPECT_EQ(WithoutTraceHeaders(d.bytes, kSender), body) << "chunk " << i + 1;
    EXPECT_EQ(d.envelope.reverse_path, kSender);
    EXPECT_EQ(d.envelope.local_parts, std::vector<std::string>{"bob"});
  }
}

TEST(MailClientTest, SplitsInsideCrLfAndRightBeforeADotAreStuffedCorrectly) {
  PeerServer peer;
  auto c = OpenOk(peer.address());
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->Mail(kSender, 0)->code, 250);
  ASSERT_EQ(c->Rcpt(kRecipient)->code, 250);
  ASSERT_EQ(c->Data()->code, 354);
  for (std::string_view piece :
       {"a\r", "\n", ".", "\r\n", "b\r\n", ".", ".\r", "\n.", "c\r\n", ""}) {
    ASSERT_TRUE(c->WriteBody(Bytes(piece)).ok()) << piece;
  }
  auto end = c->EndData();
  ASSERT_TRUE(end.ok()) << end.error().message;
  EXPECT_EQ(end->code, 250);
  c->Quit();
  auto& backend = peer.Backend();
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_EQ(WithoutTraceHeaders(backend.delivered[0].bytes, kSender),
            "a\r\n.\r\nb\r\n..\r\n.c\r\n");
}

TEST(MailClientTest, BodyWithoutAFinalCrLfGetsOne) {
  PeerServer peer;
  auto c = OpenOk(peer.address());
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(Send(*c, "Subject: x\r\n\r\nno newline", 5).code, 250);
  EXPECT_EQ(Send(*c, "Subject: y\r\n\r\n.", 3).code, 250);  // a lone dot is text
  EXPECT_EQ(Send(*c, "", 1).code, 250);
  c->Quit();
  auto& backend = peer.Backend();
  ASSERT_EQ(backend.delivered.size(), 3u);
  EXPECT_EQ(WithoutTraceHeaders(backend.delivered[0].bytes, kSender),
            "Subject: x\r\n\r\nno newline\r\n");
  EXPECT_EQ(WithoutTraceHeaders(backend.delivered[1].bytes, kSender), "Subject: y\r\n\r\n.\r\n");
  EXPECT_EQ(WithoutTraceHeaders(backend.delivered[2].bytes, kSender), "");
}

TEST(MailClientTest, NullSenderIsSentAsEmptyAngleBrackets) {
  PeerServer peer;
  auto c = OpenOk(peer.address());
  ASSERT_NE(c, nullptr);
  auto mail = c->Mail("", 0);
  ASSERT_TRUE(mail.ok());
  EXPECT_EQ(mail->code, 250);
  ASSERT_EQ(c->Rcpt(kRecipient)->code, 250);
  ASSERT_EQ(c->Data()->code, 354);
  ASSERT_TRUE(c->WriteBody(Bytes("Subject: bounce\r\n\r\nx\r\n")).ok());
  EXPECT_EQ(c->EndData()->code, 250);
  c->Quit();
  auto& backend = peer.Backend();
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_EQ(backend.delivered[0].envelope.reverse_path, "");
  EXPECT_EQ(WithoutTraceHeaders(backend.delivered[0].bytes, ""), "Subject: bounce\r\n\r\nx\r\n");
}

TEST(MailClientTest, UnknownRecipientIs550With511AndTheSessionCarriesOn) {
  PeerServer peer;
  auto c = OpenOk(peer.address());
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->Mail(kSender, 0)->code, 250);
  auto rcpt = c->Rcpt("nobody@peer.onion");
  ASSERT_TRUE(rcpt.ok()) << rcpt.error().message;
  EXPECT_EQ(rcpt->code, 550);
  EXPECT_EQ(rcpt->enhanced, "5.1.1");
  EXPECT_FALSE(rcpt->text.empty());
  EXPECT_EQ(rcpt->text.find("5.1.1"), std::string::npos) << rcpt->text;
  auto data = c->Data();
  ASSERT_FALSE(data.ok()) << "no recipient was accepted";
  EXPECT_EQ(data.error().code, ErrorCode::kFailedPrecondition);
  auto rset = c->Rset();
  ASSERT_TRUE(rset.ok());
  EXPECT_EQ(rset->code, 250);
  EXPECT_EQ(Send(*c, "Subject: again\r\n\r\nhello\r\n", 64, "carol@peer.onion").code, 250);
  c->Quit();
  auto& backend = peer.Backend();
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_EQ(backend.delivered[0].envelope.local_parts, std::vector<std::string>{"carol"});
}

TEST(MailClientTest, SizeIsDeclaredWhenOfferedAndAnOversizedMessageIsRefusedByThePeer) {
  PeerServer peer(/*max_message_bytes=*/1000);
  auto c = OpenOk(peer.address());
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->SizeLimit(), std::optional<uint64_t>(1000));
  EXPECT_TRUE(c->Offers("SIZE"));
  EXPECT_TRUE(c->Offers("size"));
  EXPECT_TRUE(c->Offers("8BITMIME"));
  EXPECT_FALSE(c->Offers("STARTTLS")) << "only the EHLO inside TLS counts";
  auto big = c->Mail(kSender, 5000);
  ASSERT_TRUE(big.ok()) << big.error().message;
  EXPECT_EQ(big->code, 552);
  EXPECT_EQ(big->enhanced, "5.3.4");
  auto small = c->Mail(kSender, 500);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->code, 250) << "the refused MAIL opened no transaction";
  ASSERT_EQ(c->Rcpt(kRecipient)->code, 250);
  c->Quit();
  auto& backend = peer.Backend();
  ASSERT_EQ(backend.declared_sizes.size(), 1u);
  EXPECT_EQ(backend.declared_sizes[0], 500u) << "SIZE=500 reached the server";
}

TEST(MailClientTest, UnpinnedModeReportsTheServerKeyPin) {
  PeerServer peer;
  auto c = OpenOk(peer.address());
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->PeerPin(), peer.id.pin);
  c->Quit();
}

TEST(MailClientTest, PinnedModeWithTheRightPinWorks) {
  PeerServer peer;
  MailClientOptions o = Options();
  o.pin = peer.id.pin;
  auto c = OpenOk(peer.address(), o);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->PeerPin(), peer.id.pin);
  EXPECT_EQ(Send(*c, "x\r\n", 2).code, 250);
  c->Quit();
}

TEST(MailClientTest, WrongPinIsPermissionDeniedBeforeAnyMailCommand) {
  PeerServer peer;
  MailClientOptions o = Options();
  o.pin = peer.id.pin;
  (*o.pin)[0] ^= 0x01;
  auto c = MailClient::Open(peer.address(), o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(c.error().message, "TLS handshake: peer key does not match the pin");
  auto& backend = peer.Backend();
  EXPECT_TRUE(backend.checked.empty());
  EXPECT_EQ(backend.begun, 0);
}

TEST(MailClientTest, BareLfInTheBodyIsRefusedAndThePeerDiscardsThePartialMessage) {
  PeerServer peer;
  auto c = OpenOk(peer.address());
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->Mail(kSender, 0)->code, 250);
  ASSERT_EQ(c->Rcpt(kRecipient)->code, 250);
  ASSERT_EQ(c->Data()->code, 354);
  ASSERT_TRUE(c->WriteBody(Bytes("Subject: x\r\n\r\nfine\r\n")).ok());
  auto bad = c->WriteBody(Bytes("smuggled\n.\r\nMAIL FROM:<x@y>\r\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  auto end = c->EndData();
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(end.error().code, ErrorCode::kFailedPrecondition);
  auto& backend = peer.Backend();
  EXPECT_TRUE(backend.delivered.empty());
  EXPECT_EQ(backend.begun, 1);
  EXPECT_EQ(backend.abandoned, 1);
}

TEST(MailClientTest, ConnectionRefusedIsUnavailable) {
  auto fd = net::Listen({"127.0.0.1", 0});
  ASSERT_TRUE(fd.ok());
  auto port = net::BoundPort(*fd);
  ASSERT_TRUE(port.ok());
  ::close(*fd);
  auto c = MailClient::Open("127.0.0.1:" + std::to_string(*port), Options());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(c.error().message.rfind("connect: ", 0), 0u) << c.error().message;
}

TEST(MailClientTest, HostNameWithoutProxyIsFailedPreconditionWithoutDns) {
  auto c = MailClient::Open("peer.onion:25", Options());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(c.error().message.find("SOCKS5"), std::string::npos);
  EXPECT_EQ(c.error().message.find("peer.onion"), std::string::npos);
}

TEST(MailClientTest, BadAddressOrOptionsAreInvalidArgument) {
  MailClientOptions bad_helo = Options();
  bad_helo.helo_name = "a b\r\nMAIL";
  MailClientOptions bad_proxy = Options();
  bad_proxy.socks5_proxy = "tor.local:9050";
  std::vector<std::pair<std::string, MailClientOptions>> cases = {
      {"127.0.0.1", Options()},   {"127.0.0.1:0", Options()},   {":25", Options()},
      {"127.0.0.1:25", bad_helo}, {"peer.onion:25", bad_proxy},
  };
  using Timeout = std::chrono::milliseconds MailClientOptions::*;
  for (Timeout timeout :
       {&MailClientOptions::connect_timeout, &MailClientOptions::command_timeout,
        &MailClientOptions::data_block_timeout, &MailClientOptions::final_timeout}) {
    MailClientOptions o = Options();
    o.*timeout = 0ms;
    cases.emplace_back("127.0.0.1:25", o);
  }
  for (const auto& [address, options] : cases) {
    auto c = MailClient::Open(address, options);
    ASSERT_FALSE(c.ok()) << address;
    EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument) << c.error().message;
  }
}

// A SOCKS5 proxy that wants CONNECT to exactly `name`:`name_port` (ATYP 3,
// unresolved) and then relays to 127.0.0.1:`real_port`.
class OnionProxy {
 public:
  OnionProxy(std::string name, uint16_t name_port, uint16_t real_port)
      : name_(std::move(name)),
        name_port_(name_port),
        real_port_(real_port),
        server_([this](int fd) { Serve(fd); }) {}
  std::string address() const { return server_.address(); }
  std::atomic<int> good_requests{0};

 private:
  void Serve(int fd) {
    std::vector<uint8_t> request = {5, 1, 0, kSocks5AtypDomain, static_cast<uint8_t>(name_.size())};
    request.insert(request.end(), name_.begin(), name_.end());
    request.push_back(static_cast<uint8_t>(name_port_ >> 8));
    request.push_back(static_cast<uint8_t>(name_port_ & 0xff));
    bool good = ReadN(fd, 3) == std::vector<uint8_t>{5, 1, 0} &&
                WriteAll(fd, std::vector<uint8_t>{5, 0}) && ReadN(fd, request.size()) == request;
    int up = good ? ConnectLoopback(real_port_) : -1;
    if (up >= 0 && WriteAll(fd, std::vector<uint8_t>{5, 0, 0, 1, 0, 0, 0, 0, 0, 0})) {
      ++good_requests;
      Pump(fd, up);
    }
    if (up >= 0) ::close(up);
    ::close(fd);
  }
  std::string name_;
  uint16_t name_port_;
  uint16_t real_port_;
  LoopbackServer server_;
};

TEST(MailClientTest, OnionPeerThroughSocks5GetsTheNameUnresolvedAndTheMail) {
  PeerServer peer;
  OnionProxy proxy("peer.onion", 25, peer.port());
  MailClientOptions o = Options();
  o.socks5_proxy = proxy.address();
  auto c = OpenOk("peer.onion:25", o);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->PeerPin(), peer.id.pin);
  EXPECT_EQ(Send(*c, "Subject: over tor\r\n\r\nhi\r\n", 7).code, 250);
  c->Quit();
  EXPECT_EQ(proxy.good_requests, 1);
  auto& backend = peer.Backend();
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_EQ(WithoutTraceHeaders(backend.delivered[0].bytes, kSender),
            "Subject: over tor\r\n\r\nhi\r\n");
}

// Network client only: no path-based syscall at all (as in the peer role).
seccomp::Policy ClientOnlyPolicy() {
  seccomp::Policy p("mail-client-test");
  seccomp::AddBasicRuntime(p);
  seccomp::AddMemory(p, seccomp::ExecMappings::kNone);
  seccomp::AddPolling(p);
  seccomp::AddConnectedSocketIo(p);
  seccomp::AddTcpClient(p);
  return p;
}

constexpr char kSandboxEnv[] = "OM_MAIL_CLIENT_SANDBOX_ADDR";

// Not a test of its own: the body of the child started by the next test, a
// fresh process (this binary re-executed, so OpenSSL starts cold) that
// enters the sandbox the way roles do and relays one message unpinned.
TEST(MailClientSandboxChild, RunsOnlyWhenStartedByTheSandboxTest) {
  const char* address = getenv(kSandboxEnv);
  if (address == nullptr) GTEST_SKIP() << "the sandboxed child of MailClientTest";
  if (!PreloadLibrariesForSandbox().ok()) _exit(100);
  if (!ClientOnlyPolicy().Install().ok()) _exit(101);
  auto c = MailClient::Open(address, Options());
  if (!c.ok()) {
    (void)!write(2, c.error().message.data(), c.error().message.size());
    _exit(2);
  }
  auto is = [](const Result<RemoteReply>& r, int code) { return r.ok() && r->code == code; };
  if (!is((*c)->Mail(kSender, 3), 250) || !is((*c)->Rcpt(kRecipient), 250) ||
      !is((*c)->Data(), 354) || !(*c)->WriteBody(Bytes(".\r\n")).ok() ||
      !is((*c)->EndData(), 250)) {
    _exit(3);
  }
  (*c)->Quit();
  _exit(0);
}

TEST(MailClientTest, RelaysInsideASeccompSandboxWithoutFileAccess) {
  PeerServer peer;
  // Everything the child needs is built before fork (this process has threads).
  std::string env_var = std::string(kSandboxEnv) + "=" + peer.address();
  std::vector<char*> env;
  for (char** e = environ; *e != nullptr; ++e) env.push_back(*e);
  env.push_back(env_var.data());
  env.push_back(nullptr);
  const char* argv[] = {"peer_mail_client_test", "--gtest_filter=MailClientSandboxChild.*",
                        nullptr};
  pid_t pid = fork();
  if (pid == 0) {
    execve("/proc/self/exe", const_cast<char* const*>(argv), env.data());
    _exit(98);
  }
  int status = 0;
  ASSERT_GT(pid, 0);
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child killed by signal "
                                 << (WIFSIGNALED(status) ? WTERMSIG(status) : 0)
                                 << " (SIGSYS = a syscall outside the policy)";
  EXPECT_EQ(WEXITSTATUS(status), 0);
  auto& backend = peer.Backend();
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_EQ(WithoutTraceHeaders(backend.delivered[0].bytes, kSender), ".\r\n");
}

}  // namespace
}  // namespace onionmail::peer
