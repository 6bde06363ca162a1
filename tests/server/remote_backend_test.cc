// Tests of the front ends' side of the key role (remote_backend.h) and of the
// key role's session server (key_service_role.h):
//  - end to end, in process: a real State (file key store, LocalKeyService,
//    MailboxStore over a temp dir) served by KeyRoleServer::ServeControl in a
//    thread; the test plays the front end (NewSession + fd, SessionLink,
//    RemoteDelivery, RemoteMailboxes);
//  - against a scripted key role on the other end of a channel pair, for
//    replies a real key role does not send (malformed, out of order).
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "ipc/channel.h"
#include "server/key_service_role.h"
#include "server/remote_backend.h"
#include "server/state.h"
#include "tests/store/test_util.h"

namespace onionmail::server {
namespace {

using namespace std::chrono_literals;
using Bytes = std::vector<uint8_t>;

SecretBytes Pw(std::string_view s) { return SecretBytes(SecretAccess::Grant(), s); }
std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

template <typename R>
::testing::AssertionResult Fails(const R& r, ErrorCode code) {
  if (r.ok()) return ::testing::AssertionFailure() << "succeeded";
  if (r.error().code != code) {
    return ::testing::AssertionFailure()
           << "code " << static_cast<int>(r.error().code) << ": " << r.error().message;
  }
  return ::testing::AssertionSuccess();
}

// The reply status of a request answered by StatusReply (kInternal if none).
ipc::Status StatusOf(SessionLink& link, const ipc::Message& m) {
  auto r = link.Call<ipc::StatusReply>(m, 10s);
  return r.ok() ? r->status : ipc::Status::kInternal;
}

// Message `index`, read whole (empty on error, which is reported).
std::string ReadAll(mail::Mailbox& box, size_t index) {
  std::string text;
  auto r = box.Read(index, [&](std::span<const uint8_t> b) -> Result<void> {
    EXPECT_LE(b.size(), ipc::kMaxChunkBytes);
    text.append(b.begin(), b.end());
    return Ok();
  });
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? text : std::string();
}

template <typename F>
bool Eventually(F done) {
  for (auto until = std::chrono::steady_clock::now() + 10s;
       std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(20ms)) {
    if (done()) return true;
  }
  return done();
}

// ---------------------------------------------------------------------------
// End to end: one real state directory and KeyRoleServer per process. Session
// threads are detached (they end when their channel closes), so the State and
// the server are never destroyed; the directory is removed at exit.

// LeakSanitizer: OpenSSL's per-thread error state of session threads that
// are still unwinding when the test process exits is reported as leaked (the
// real key role ends with _exit and never tears down like this). libcrypto's
// frames cannot be unwound (no frame pointers), so the suppression names the
// library. Leaks in our own code are still reported.
extern "C" const char* __lsan_default_suppressions() { return "leak:libcrypto.so\n"; }

struct KeyRoleEnv {
  config::Config config;
  std::unique_ptr<State> state;
  std::string certificate_pem;
  Bytes public_key;
  size_t modulus_bits = 0;
  KeyRoleServer* server = nullptr;
};

KeyRoleEnv* MakeEnv() {
  static onionmail::testing::TempDir dir;
  auto* env = new KeyRoleEnv;
  env->config.state_dir = dir.path() + "/state";
  env->config.argon2_t_cost = 1;
  env->config.argon2_m_cost_kib = 8192;
  env->config.smtp_auth_cache_seconds = 0;
  if (!InitState(env->config).ok()) return nullptr;
  auto state = State::Open(env->config);
  if (!state.ok()) return nullptr;
  env->state = std::move(*state);
  Bytes pem = onionmail::testing::ReadFileBytes(env->config.tls_cert_path());
  env->certificate_pem.assign(pem.begin(), pem.end());
  auto spki = env->state->TlsPublicKey();
  if (!spki.ok()) return nullptr;
  env->public_key = *spki;
  const unsigned char* p = spki->data();
  EVP_PKEY* k = d2i_PUBKEY(nullptr, &p, static_cast<long>(spki->size()));
  if (k == nullptr) return nullptr;
  env->modulus_bits = static_cast<size_t>(EVP_PKEY_get_bits(k));
  EVP_PKEY_free(k);
  env->server = new KeyRoleServer(*env->state, env->certificate_pem, env->public_key,
                                  env->modulus_bits, /*max_sessions=*/64);
  return env;
}

KeyRoleEnv& Env() {
  static KeyRoleEnv* env = MakeEnv();
  if (env == nullptr) std::abort();  // cannot build the state directory
  return *env;
}

// A fresh user per call (tests share the state directory within a process).
std::string NewUser() {
  static std::atomic<int> n{0};
  std::string user = "user" + std::to_string(++n);
  auto r = Env().state->keys().CreateUser(user, Pw(user + "-smtp"), Pw(user + "-pop3"));
  EXPECT_TRUE(r.ok()) << r.error().message;
  return user;
}

// One control channel per front end, served by the key role in a thread.
class ControlChannel {
 public:
  ControlChannel(KeyRoleServer& server, FrontEnd fe) {
    auto pair = ipc::Channel::CreatePair();
    if (!pair.ok()) std::abort();
    mine_.emplace(std::move(pair->first));
    thread_ = std::thread([&server, fe, this, ch = std::move(pair->second)]() mutable {
      result_ = server.ServeControl(std::move(ch), fe);
    });
  }
  ~ControlChannel() { (void)Close(); }

  // A session channel handed to the key role; the test keeps the other end.
  std::unique_ptr<SessionLink> NewSession() {
    auto pair = ipc::Channel::CreatePair();
    EXPECT_TRUE(pair.ok());
    EXPECT_TRUE(mine_->SendFd(ipc::NewSession{}, pair->second.fd()).ok());
    return std::make_unique<SessionLink>(std::move(pair->first));
  }
  ipc::Channel& channel() { return *mine_; }
  // Closes the front end's end and waits for ServeControl to return.
  Result<void> Close() {
    mine_.reset();
    if (thread_.joinable()) thread_.join();
    return result_;
  }

 private:
  std::optional<ipc::Channel> mine_;
  std::thread thread_;
  Result<void> result_ = Ok();
};

class KeyRoleTest : public ::testing::Test {
 protected:
  KeyRoleTest() : smtp_(*Env().server, FrontEnd::kSmtp), pop3_(*Env().server, FrontEnd::kPop3) {}
  void TearDown() override {
    for (ControlChannel* c : {&smtp_, &pop3_}) {
      // Closed, not a protocol error.
      EXPECT_TRUE(Fails(c->Close(), ErrorCode::kUnavailable));
    }
  }

  // Every message of `user`'s mailbox, read in a fresh POP3 session
  // (kFailedPrecondition while an ending session still holds the lock).
  Result<std::vector<std::string>> MailboxContents(const std::string& user) {
    auto link = pop3_.NewSession();
    auto box = RemoteMailboxes(*link).Open(user, Pw(user + "-pop3"));
    if (!box.ok()) return box.error();
    std::vector<std::string> out;
    for (size_t i = 0; i < (*box)->Messages().size(); ++i) out.push_back(ReadAll(**box, i));
    box->reset();
    return out;
  }
  // The mailbox holds exactly `want`, once the previous session let go.
  bool Holds(const std::string& user, const std::vector<std::string>& want) {
    return Eventually([&] {
      auto c = MailboxContents(user);
      return c.ok() && *c == want;
    });
  }

  static std::string Tmp() { return Env().config.state_dir + "/tmp"; }

  ControlChannel smtp_;
  ControlChannel pop3_;
};

std::string BigMessage() {
  std::string text = "Subject: big\r\n\r\n";
  for (size_t i = 0; text.size() < 200 * 1024; ++i) {
    text += "line " + std::to_string(i) + " of a large message\r\n";
  }
  text.resize(200 * 1024 - 2);
  return text + "\r\n";
}

TEST_F(KeyRoleTest, SmtpPasswordIsVerifiedAndUnknownRecipientIsNotFound) {
  std::string user = NewUser();
  auto link = smtp_.NewSession();
  RemoteDelivery delivery(*link);
  EXPECT_TRUE(delivery.VerifySmtpPassword(user, Pw(user + "-smtp")).ok());
  EXPECT_TRUE(Fails(delivery.VerifySmtpPassword(user, Pw("wrong")), ErrorCode::kUnauthenticated));
  EXPECT_TRUE(
      Fails(delivery.VerifySmtpPassword(user, Pw(user + "-pop3")), ErrorCode::kUnauthenticated));
  EXPECT_TRUE(Fails(delivery.VerifySmtpPassword("nobody", Pw("x")), ErrorCode::kUnauthenticated));
  EXPECT_TRUE(delivery.CheckRecipient(user).ok());
  EXPECT_TRUE(Fails(delivery.CheckRecipient("no-such-user"), ErrorCode::kNotFound));
  EXPECT_TRUE(delivery.CheckRecipient(user).ok());  // the session goes on
  EXPECT_FALSE(link->broken());
}

TEST_F(KeyRoleTest, BigMessageIsDeliveredListedReadExactlyAndExpunged) {
  std::string user = NewUser();
  const std::string text = BigMessage();
  {
    auto link = smtp_.NewSession();
    RemoteDelivery delivery(*link);
    auto w = delivery.BeginMessage(mail::Envelope{"", {user}});  // null reverse-path
    ASSERT_TRUE(w.ok()) << w.error().message;
    // Uneven pieces: one byte, one over a chunk, the rest in one call.
    ASSERT_TRUE((*w)->Append(AsBytes(std::string_view(text).substr(0, 1))).ok());
    ASSERT_TRUE((*w)->Append(AsBytes(std::string_view(text).substr(1, 40000))).ok());
    ASSERT_TRUE((*w)->Append(AsBytes(std::string_view(text).substr(40001))).ok());
    auto c = (*w)->Commit();
    ASSERT_TRUE(c.ok()) << c.error().message;
  }
  auto link = pop3_.NewSession();
  RemoteMailboxes boxes(*link);
  auto box = boxes.Open(user, Pw(user + "-pop3"));
  ASSERT_TRUE(box.ok()) << box.error().message;
  ASSERT_EQ((*box)->Messages().size(), 1u);
  EXPECT_EQ((*box)->Messages()[0].size, text.size());
  EXPECT_FALSE((*box)->Messages()[0].uid.empty());

  EXPECT_EQ(ReadAll(**box, 0), text);

  // A sink that stops after the first chunk (TOP): its error comes back and
  // the rest of the stream is drained, so the session stays usable.
  size_t calls = 0;
  auto stopped = (*box)->Read(0, [&](std::span<const uint8_t>) -> Result<void> {
    ++calls;
    return MakeError(ErrorCode::kResourceExhausted, "enough");
  });
  EXPECT_TRUE(Fails(stopped, ErrorCode::kResourceExhausted));
  EXPECT_EQ(calls, 1u);
  EXPECT_FALSE(link->broken());
  EXPECT_EQ(ReadAll(**box, 0), text);

  const size_t first = 0;
  ASSERT_TRUE((*box)->Expunge(std::span<const size_t>(&first, 1)).ok());
  box->reset();  // releases the mailbox (and its lock) with the session
  link.reset();
  EXPECT_TRUE(Holds(user, {}));
}

TEST_F(KeyRoleTest, WrongPop3PasswordIsUnauthenticated) {
  std::string user = NewUser();
  auto link = pop3_.NewSession();
  RemoteMailboxes boxes(*link);
  for (const std::string& pw : {std::string("wrong"), user + "-smtp", std::string()}) {
    EXPECT_TRUE(Fails(boxes.Open(user, Pw(pw)), ErrorCode::kUnauthenticated)) << pw;
  }
  EXPECT_TRUE(Fails(boxes.Open("nobody", Pw("x")), ErrorCode::kUnauthenticated));
  EXPECT_TRUE(boxes.Open(user, Pw(user + "-pop3")).ok());  // same session, right password
}

TEST_F(KeyRoleTest, MessageNotCommittedWhenSessionClosesLeavesNoMessage) {
  std::string user = NewUser();
  {
    auto link = smtp_.NewSession();
    RemoteDelivery delivery(*link);
    auto w = delivery.BeginMessage(mail::Envelope{"a@b.onion", {user}});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(AsBytes(BigMessage())).ok());
    link->Break();  // the client vanished: channel closed, no AbortMessageRequest
    w->reset();
  }
  EXPECT_TRUE(Eventually([] { return onionmail::testing::FilesUnder(Tmp()).empty(); }))
      << "the half-written message is left in " << Tmp();
  EXPECT_TRUE(Holds(user, {}));
}

TEST_F(KeyRoleTest, AbortedMessageIsDiscardedAndTheNextOneIsStored) {
  std::string user = NewUser();
  auto link = smtp_.NewSession();
  RemoteDelivery delivery(*link);
  {
    auto w = delivery.BeginMessage(mail::Envelope{"a@b.onion", {user}});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(AsBytes("Subject: aborted\r\n\r\nRSET\r\n")).ok());
  }  // writer destroyed without Commit: AbortMessageRequest
  auto w = delivery.BeginMessage(mail::Envelope{"a@b.onion", {user}});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append(AsBytes("Subject: kept\r\n\r\nhi\r\n")).ok());
  ASSERT_TRUE((*w)->Commit().ok());
  EXPECT_TRUE(Holds(user, {"Subject: kept\r\n\r\nhi\r\n"}));
}

// mail::DeliveryBackend (backend.h): "a writer destroyed without a
// successful Commit() leaves nothing behind" -- it must not take another
// writer's message with it. LocalBackend keeps writers independent.
TEST_F(KeyRoleTest, DroppingAnAbandonedWriterDoesNotDiscardALaterMessage) {
  std::string user = NewUser();
  auto link = smtp_.NewSession();
  RemoteDelivery delivery(*link);
  auto first = delivery.BeginMessage(mail::Envelope{"a@b.onion", {user}});
  ASSERT_TRUE(first.ok());
  auto second = delivery.BeginMessage(mail::Envelope{"a@b.onion", {user}});
  ASSERT_TRUE(second.ok());
  first->reset();  // abandoned, never committed
  ASSERT_TRUE((*second)->Append(AsBytes("Subject: second\r\n\r\n2\r\n")).ok());
  EXPECT_TRUE((*second)->Commit().ok()) << "the first writer's abort discarded the second message";
  EXPECT_TRUE(Holds(user, {"Subject: second\r\n\r\n2\r\n"}));
}

TEST_F(KeyRoleTest, CommitWithoutBeginIsFailedPrecondition) {
  auto link = smtp_.NewSession();
  EXPECT_EQ(StatusOf(*link, ipc::CommitRequest{}), ipc::Status::kFailedPrecondition);
  // An Append outside a message is reported by the next commit's reply.
  ASSERT_TRUE(link->Send(ipc::AppendRequest{{'x'}}).ok());
  EXPECT_EQ(StatusOf(*link, ipc::CommitRequest{}), ipc::Status::kFailedPrecondition);
}

TEST_F(KeyRoleTest, SmtpSessionSendingOpenMailboxIsEnded) {
  std::string user = NewUser();
  auto link = smtp_.NewSession();
  auto r = link->Call<ipc::OpenMailboxReply>(
      ipc::Message(ipc::OpenMailboxRequest{user, Pw(user + "-pop3")}), 10s);
  EXPECT_TRUE(Fails(r, ErrorCode::kUnavailable));
  EXPECT_TRUE(link->broken());
  EXPECT_TRUE(Fails(RemoteDelivery(*link).CheckRecipient(user), ErrorCode::kUnavailable));
  // Only that session ended: the control channel still serves new ones.
  auto fresh = smtp_.NewSession();
  EXPECT_TRUE(RemoteDelivery(*fresh).CheckRecipient(user).ok());
}

TEST_F(KeyRoleTest, Pop3SessionSendingSmtpRequestsIsEnded) {
  std::string user = NewUser();
  std::vector<ipc::Message> requests;
  requests.emplace_back(ipc::VerifySmtpPasswordRequest{user, Pw(user + "-smtp")});
  requests.emplace_back(ipc::CheckRecipientRequest{user});
  requests.emplace_back(ipc::BeginMessageRequest{"", {user}});
  for (const ipc::Message& m : requests) {
    auto link = pop3_.NewSession();
    ASSERT_TRUE(link->Send(m).ok());
    EXPECT_TRUE(Fails(link->Receive(10s), ErrorCode::kUnavailable))
        << static_cast<int>(ipc::TypeOf(m));
  }
}

TEST_F(KeyRoleTest, InvalidLocalPartEndsTheSmtpSession) {
  auto link = smtp_.NewSession();
  EXPECT_TRUE(Fails(RemoteDelivery(*link).CheckRecipient("Bob..x"), ErrorCode::kUnavailable));
}

TEST_F(KeyRoleTest, Pop3RequestsOutOfRangeOrBeforeOpenAreRefused) {
  std::string user = NewUser();
  {
    auto smtp = smtp_.NewSession();
    auto w = RemoteDelivery(*smtp).BeginMessage(mail::Envelope{"a@b.onion", {user}});
    ASSERT_TRUE(w.ok() && (*w)->Append(AsBytes("Subject: one\r\n\r\n1\r\n")).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  auto link = pop3_.NewSession();
  EXPECT_EQ(StatusOf(*link, ipc::ReadMessageRequest{0}), ipc::Status::kFailedPrecondition);
  RemoteMailboxes boxes(*link);
  auto box = boxes.Open(user, Pw(user + "-pop3"));
  ASSERT_TRUE(box.ok());
  ASSERT_EQ((*box)->Messages().size(), 1u);
  EXPECT_EQ(StatusOf(*link, ipc::ReadMessageRequest{1}), ipc::Status::kInvalidArgument);
  EXPECT_EQ(StatusOf(*link, ipc::ExpungeRequest{{0, 1}}), ipc::Status::kInvalidArgument);
  EXPECT_EQ((*box)->Messages().size(), 1u);  // nothing deleted by the refused batch
  box->reset();
  link.reset();
  EXPECT_TRUE(Holds(user, {"Subject: one\r\n\r\n1\r\n"}));
}

TEST_F(KeyRoleTest, MailboxLockIsHeldBySessionAndReleasedWhenItCloses) {
  std::string user = NewUser();
  auto first = pop3_.NewSession();
  auto box = RemoteMailboxes(*first).Open(user, Pw(user + "-pop3"));
  ASSERT_TRUE(box.ok());
  auto second = pop3_.NewSession();
  EXPECT_TRUE(Fails(RemoteMailboxes(*second).Open(user, Pw(user + "-pop3")),
                    ErrorCode::kFailedPrecondition));
  box->reset();
  first.reset();  // no explicit close: the session's end releases the lock
  EXPECT_TRUE(Eventually([&] {
    auto again = RemoteMailboxes(*second).Open(user, Pw(user + "-pop3"));
    return again.ok();
  }));
}

TEST_F(KeyRoleTest, TlsSignRequestWithRandomBlockIsPermissionDenied) {
  for (ControlChannel* fe : {&smtp_, &pop3_}) {
    auto link = fe->NewSession();
    Bytes block(Env().modulus_bits / 8);
    ASSERT_EQ(RAND_bytes(block.data(), static_cast<int>(block.size())), 1);
    block[0] = 0;
    EXPECT_TRUE(Fails(link->Sign(block), ErrorCode::kPermissionDenied));
    EXPECT_FALSE(link->broken());  // refused, not ended: the identity is still served
    auto id = link->Call<ipc::TlsIdentityReply>(ipc::TlsIdentityRequest{}, 10s);
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(std::string(id->certificate_pem.begin(), id->certificate_pem.end()),
              Env().certificate_pem);
    EXPECT_EQ(id->public_key, Env().public_key);
  }
}

TEST_F(KeyRoleTest, TlsSignRequestWithPkcs1BlockReturnsAVerifiableSignature) {
  static const uint8_t kSha256Prefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                          0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                          0x01, 0x05, 0x00, 0x04, 0x20};
  uint8_t hash[32];
  unsigned int hash_len = 0;
  ASSERT_EQ(EVP_Digest("handshake", 9, hash, &hash_len, EVP_sha256(), nullptr), 1);
  Bytes block(Env().modulus_bits / 8, 0xff);  // 00 01 FF..FF 00 DigestInfo
  const size_t t = block.size() - sizeof(kSha256Prefix) - sizeof(hash);
  block[0] = 0x00;
  block[1] = 0x01;
  block[t - 1] = 0x00;
  std::memcpy(&block[t], kSha256Prefix, sizeof(kSha256Prefix));
  std::memcpy(&block[t + sizeof(kSha256Prefix)], hash, sizeof(hash));

  auto link = pop3_.NewSession();
  auto sig = link->Sign(block);
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  const unsigned char* p = Env().public_key.data();
  EVP_PKEY* key = d2i_PUBKEY(nullptr, &p, static_cast<long>(Env().public_key.size()));
  ASSERT_NE(key, nullptr);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key, nullptr);
  ASSERT_EQ(EVP_PKEY_verify_init(ctx), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()), 1);
  EXPECT_EQ(EVP_PKEY_verify(ctx, sig->data(), sig->size(), hash, 32), 1);
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(key);
}

TEST_F(KeyRoleTest, ControlChannelMessageOtherThanNewSessionIsFatal) {
  ControlChannel ctl(*Env().server, FrontEnd::kSmtp);
  ASSERT_TRUE(ctl.channel().Send(ipc::Shutdown{}).ok());
  EXPECT_TRUE(Fails(ctl.Close(), ErrorCode::kInvalidArgument));
  ControlChannel no_fd(*Env().server, FrontEnd::kPop3);
  ASSERT_TRUE(no_fd.channel().Send(ipc::NewSession{}).ok());  // fd missing
  EXPECT_TRUE(Fails(no_fd.Close(), ErrorCode::kInvalidArgument));
}

TEST_F(KeyRoleTest, SessionsOverTheLimitAreClosedAtOnce) {
  // A server of its own (never destroyed: its session threads are detached).
  static KeyRoleServer* small = new KeyRoleServer(
      *Env().state, Env().certificate_pem, Env().public_key, Env().modulus_bits, 2);
  ControlChannel ctl(*small, FrontEnd::kSmtp);
  auto a = ctl.NewSession(), b = ctl.NewSession(), c = ctl.NewSession();
  EXPECT_TRUE(a->Call<ipc::TlsIdentityReply>(ipc::TlsIdentityRequest{}, 10s).ok());
  EXPECT_TRUE(b->Call<ipc::TlsIdentityReply>(ipc::TlsIdentityRequest{}, 10s).ok());
  EXPECT_TRUE(Fails(c->Call<ipc::TlsIdentityReply>(ipc::TlsIdentityRequest{}, 10s),
                    ErrorCode::kUnavailable));
  a.reset();  // a slot frees once the key role sees the session end
  EXPECT_TRUE(Eventually([&] {
    auto d = ctl.NewSession();
    return d->Call<ipc::TlsIdentityReply>(ipc::TlsIdentityRequest{}, 10s).ok();
  }));
}

// ---------------------------------------------------------------------------
// Against a scripted key role: `script` runs with the key role's end of a
// session channel in a thread, with bounded waits so a failure cannot hang.
class ScriptedKeyRole {
 public:
  explicit ScriptedKeyRole(std::function<void(ipc::Channel&)> script) {
    auto pair = ipc::Channel::CreatePair();
    if (!pair.ok()) std::abort();
    link_ = std::make_unique<SessionLink>(std::move(pair->first));
    thread_ = std::thread([script = std::move(script), ch = std::move(pair->second)]() mutable {
      script(ch);
    });
  }
  ~ScriptedKeyRole() { thread_.join(); }
  SessionLink& link() { return *link_; }

 private:
  std::unique_ptr<SessionLink> link_;
  std::thread thread_;
};

template <typename T>
T Expect(ipc::Channel& ch) {
  auto m = ch.Receive(10s);
  if (!m.ok() || !std::holds_alternative<T>(*m)) {
    ADD_FAILURE() << "key role expected message type " << static_cast<int>(T::kType);
    return T{};
  }
  return std::get<T>(std::move(*m));
}

TEST(RemoteBackendTest, AppendIsSplitIntoMaxChunksAndAbortSentOnlyWithoutCommit) {
  const std::string text = BigMessage();  // 200 KiB: 6 full chunks and a partial one
  std::string received;
  std::vector<size_t> sizes;
  {
    ScriptedKeyRole role([&](ipc::Channel& ch) {
      (void)Expect<ipc::BeginMessageRequest>(ch);
      ASSERT_TRUE(ch.Send(ipc::StatusReply{ipc::Status::kOk}).ok());
      while (received.size() < text.size()) {
        auto a = Expect<ipc::AppendRequest>(ch);
        if (a.data.empty()) return;
        sizes.push_back(a.data.size());
        received.append(a.data.begin(), a.data.end());
      }
      (void)Expect<ipc::CommitRequest>(ch);
      ASSERT_TRUE(ch.Send(ipc::StatusReply{ipc::Status::kOk}).ok());
      (void)Expect<ipc::BeginMessageRequest>(ch);
      ASSERT_TRUE(ch.Send(ipc::StatusReply{ipc::Status::kOk}).ok());
      (void)Expect<ipc::AbortMessageRequest>(ch);  // second writer dropped
      EXPECT_TRUE(Fails(ch.Receive(10s), ErrorCode::kUnavailable));  // and nothing else
    });
    RemoteDelivery delivery(role.link());
    auto w = delivery.BeginMessage(mail::Envelope{"", {"bob"}});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(AsBytes(text)).ok());
    ASSERT_TRUE((*w)->Commit().ok());
    w->reset();  // committed: no abort
    auto w2 = delivery.BeginMessage(mail::Envelope{"", {"bob"}});
    ASSERT_TRUE(w2.ok());
    w2->reset();
    role.link().Break();
  }
  EXPECT_EQ(received, text);
  ASSERT_EQ(sizes.size(), 7u);
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(sizes[i], ipc::kMaxChunkBytes);
  EXPECT_EQ(sizes[6], text.size() - 6 * ipc::kMaxChunkBytes);
}

TEST(RemoteBackendTest, CommitErrorStatusIsReturnedAndNothingClaimedDurable) {
  ScriptedKeyRole role([](ipc::Channel& ch) {
    (void)Expect<ipc::BeginMessageRequest>(ch);
    ASSERT_TRUE(ch.Send(ipc::StatusReply{ipc::Status::kOk}).ok());
    (void)Expect<ipc::AppendRequest>(ch);
    (void)Expect<ipc::CommitRequest>(ch);
    ASSERT_TRUE(ch.Send(ipc::StatusReply{ipc::Status::kResourceExhausted}).ok());
  });
  auto w = RemoteDelivery(role.link()).BeginMessage(mail::Envelope{"", {"bob"}});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append(AsBytes("x")).ok());
  EXPECT_TRUE(Fails((*w)->Commit(), ErrorCode::kResourceExhausted));
  EXPECT_TRUE(Fails((*w)->Commit(), ErrorCode::kFailedPrecondition));  // once only
}

TEST(RemoteBackendTest, UnexpectedReplyTypeBreaksTheLink) {
  ScriptedKeyRole role([](ipc::Channel& ch) {
    (void)Expect<ipc::VerifySmtpPasswordRequest>(ch);
    ASSERT_TRUE(ch.Send(ipc::StatusReply{ipc::Status::kOk}).ok());  // not a VerifyResult
  });
  RemoteDelivery delivery(role.link());
  EXPECT_TRUE(Fails(delivery.VerifySmtpPassword("bob", Pw("pw")), ErrorCode::kUnavailable));
  EXPECT_TRUE(role.link().broken());
  EXPECT_TRUE(Fails(delivery.CheckRecipient("bob"), ErrorCode::kUnavailable));
}

TEST(RemoteBackendTest, KeyRoleGoneMidReadIsUnavailable) {
  ScriptedKeyRole role([](ipc::Channel& ch) {
    (void)Expect<ipc::OpenMailboxRequest>(ch);
    ASSERT_TRUE(ch.Send(ipc::OpenMailboxReply{ipc::Status::kOk, 1}).ok());
    ASSERT_TRUE(ch.Send(ipc::MailboxListing{{{"u1", 10}}}).ok());
    (void)Expect<ipc::ReadMessageRequest>(ch);
    ASSERT_TRUE(ch.Send(ipc::MessageChunk{{'a', 'b'}}).ok());
  });  // then the channel closes without the final StatusReply
  auto box = RemoteMailboxes(role.link()).Open("bob", Pw("pw"));
  ASSERT_TRUE(box.ok());
  std::string got;
  auto r = (*box)->Read(0, [&](std::span<const uint8_t> b) -> Result<void> {
    got.append(b.begin(), b.end());
    return Ok();
  });
  EXPECT_TRUE(Fails(r, ErrorCode::kUnavailable));
  EXPECT_EQ(got, "ab");
}

TEST(RemoteBackendTest, ListingPagesAreJoinedAndAnOverlongListingIsRefused) {
  {
    ScriptedKeyRole role([](ipc::Channel& ch) {
      (void)Expect<ipc::OpenMailboxRequest>(ch);
      ASSERT_TRUE(ch.Send(ipc::OpenMailboxReply{ipc::Status::kOk, 3}).ok());
      ASSERT_TRUE(ch.Send(ipc::MailboxListing{{{"a", 1}, {"b", 2}}}).ok());
      ASSERT_TRUE(ch.Send(ipc::MailboxListing{{{"c", 3}}}).ok());
    });
    auto box = RemoteMailboxes(role.link()).Open("bob", Pw("pw"));
    ASSERT_TRUE(box.ok());
    ASSERT_EQ((*box)->Messages().size(), 3u);
    EXPECT_EQ((*box)->Messages()[2].uid, "c");
    EXPECT_EQ((*box)->Messages()[2].size, 3u);
  }
  ScriptedKeyRole role([](ipc::Channel& ch) {
    (void)Expect<ipc::OpenMailboxRequest>(ch);
    ASSERT_TRUE(ch.Send(ipc::OpenMailboxReply{ipc::Status::kOk, 1}).ok());
    ASSERT_TRUE(ch.Send(ipc::MailboxListing{{{"a", 1}, {"b", 2}}}).ok());
  });
  EXPECT_TRUE(Fails(RemoteMailboxes(role.link()).Open("bob", Pw("pw")), ErrorCode::kUnavailable));
  EXPECT_TRUE(role.link().broken());
}

// A reply promising more messages than it delivers must end in kUnavailable
// (remote_backend.h: a malformed reply breaks the link), not in a front-end
// crash. Run in a child process: a failure here is an abort.
TEST(RemoteBackendDeathTest, HugeMessageCountInOpenMailboxReplyIsUnavailableNotACrash) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ScriptedKeyRole role([](ipc::Channel& ch) {
          (void)Expect<ipc::OpenMailboxRequest>(ch);
          (void)ch.Send(ipc::OpenMailboxReply{ipc::Status::kOk, 0xffffffffu});
        });
        auto box = RemoteMailboxes(role.link()).Open("bob", Pw("pw"));
        std::_Exit(!box.ok() && box.error().code == ErrorCode::kUnavailable ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace onionmail::server
