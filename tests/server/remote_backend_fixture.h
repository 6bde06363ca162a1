// Shared by the remote backend tests (remote_backend_key_role_test.cc,
// remote_backend_test.cc): small helpers (passwords, byte views, error-code
// assertions, bounded polling, a 200 KiB message) and the end-to-end fixture
// KeyRoleTest, which plays the SMTP and POP3 front ends against a real
// KeyRoleServer over one real state directory per process (Env()).
//
// Contract: include from exactly one translation unit per test executable (it
// defines LeakSanitizer's __lsan_default_suppressions). Env() and the servers
// it builds are never destroyed (their session threads are detached); the
// state directory is removed at exit. Env() aborts if it cannot be built.
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "config/config.h"
#include "ipc/channel.h"
#include "server/key_service_role.h"
#include "server/remote_backend.h"
#include "server/state.h"
#include "server/tkim_vouch.h"
#include "server/tls_identity.h"
#include "tests/store/test_util.h"

// LeakSanitizer: OpenSSL's per-thread error state of session threads that
// are still unwinding when the test process exits is reported as leaked (the
// real key role ends with _exit and never tears down like this). libcrypto's
// frames cannot be unwound (no frame pointers), so the suppression names the
// library. Leaks in our own code are still reported.
// Defined once per executable: see the contract above.
extern "C" const char* __lsan_default_suppressions() { return "leak:libcrypto.so\n"; }

namespace onionmail::server {

inline SecretBytes Pw(std::string_view s) { return SecretBytes(SecretAccess::Grant(), s); }
inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

template <typename R>
inline ::testing::AssertionResult Fails(const R& r, ErrorCode code) {
  if (r.ok()) return ::testing::AssertionFailure() << "succeeded";
  if (r.error().code != code) {
    return ::testing::AssertionFailure()
           << "code " << static_cast<int>(r.error().code) << ": " << r.error().message;
  }
  return ::testing::AssertionSuccess();
}

// The reply status of a request answered by StatusReply (kInternal if none).
inline ipc::Status StatusOf(SessionLink& link, const ipc::Message& m) {
  auto r = link.Call<ipc::StatusReply>(m, std::chrono::seconds(10));
  return r.ok() ? r->status : ipc::Status::kInternal;
}

// Message `index`, read whole (empty on error, which is reported).
inline std::string ReadAll(mail::Mailbox& box, size_t index) {
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
inline bool Eventually(F done) {
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
       std::chrono::steady_clock::now() < until;
       std::this_thread::sleep_for(std::chrono::milliseconds(20))) {
    if (done()) return true;
  }
  return done();
}

// A 200 KiB message of CRLF lines (several ipc::kMaxChunkBytes chunks).
inline std::string BigMessage() {
  std::string text = "Subject: big\r\n\r\n";
  for (size_t i = 0; text.size() < 200 * 1024; ++i) {
    text += "line " + std::to_string(i) + " of a large message\r\n";
  }
  text.resize(200 * 1024 - 2);
  return text + "\r\n";
}

// ---------------------------------------------------------------------------
// End to end: one real state directory and KeyRoleServer per process. Session
// threads are detached (they end when their channel closes), so the State and
// the server are never destroyed; the directory is removed at exit.

struct KeyRoleEnv {
  config::Config config;
  std::unique_ptr<State> state;
  std::string certificate_pem;
  std::vector<uint8_t> public_key;  // the certificate's: the ECDSA TLS key
  std::vector<uint8_t> server_key;  // the RSA server key
  size_t modulus_bits = 0;          // of server_key
  KeyRoleServer* server = nullptr;  // as onionmaild serves a new state directory
  // As for a state directory made before the TLS key: the certificate is for
  // the RSA server key, handshakes are signed with TlsSignRequest.
  KeyRoleServer* rsa_server = nullptr;
  // What the relay role asks to vouch for onions proven by TKIM; `server`
  // checks them.
  TkimVouches* vouches = nullptr;
};

inline KeyRoleEnv* MakeEnv() {
  static onionmail::testing::TempDir dir;
  auto* env = new KeyRoleEnv;
  env->config.state_dir = dir.path() + "/state";
  env->config.argon2_t_cost = 1;
  env->config.argon2_m_cost_kib = 8192;
  env->config.smtp_auth_cache_seconds = 0;
  env->config.bot_sysop = "sysop";  // server@ VOUCHER (key_role_register_test.cc)
  // An enter gateway (key_role_vmat_test.cc) with a v3 onion of its own.
  env->config.domain = "fpxrh5gg46zcpmgwklnwnkuxgxsazxfwjkw74wuatnr4tteav6tkm6qd.onion";
  env->config.exit_domain = "mail.example.org";
  // The one server whose users may ask for aliases (SMTP VMAT): kTestOnions[7].
  env->config.exit_vmat_servers = {
      "4dq6fy7e4xtop2hj5lv6z3po57ypd4xt6t27n57y7h5px7h57376fead.onion"};
  if (!InitState(env->config).ok()) return nullptr;
  auto state = State::Open(env->config);
  if (!state.ok()) return nullptr;
  env->state = std::move(*state);
  auto tls = LoadTlsIdentity(*env->state);
  if (!tls.ok() || tls->kind != TlsKeyKind::kEcdsaP256) return nullptr;
  env->certificate_pem = tls->certificate_pem;
  env->public_key = tls->public_key;
  auto spki = env->state->ServerPublicKey();
  if (!spki.ok()) return nullptr;
  env->server_key = *spki;
  const unsigned char* p = spki->data();
  EVP_PKEY* k = d2i_PUBKEY(nullptr, &p, static_cast<long>(spki->size()));
  if (k == nullptr) return nullptr;
  env->modulus_bits = static_cast<size_t>(EVP_PKEY_get_bits(k));
  EVP_PKEY_free(k);
  env->server = new KeyRoleServer(*env->state, *tls, /*max_sessions=*/64);
  env->vouches = new TkimVouches();
  env->server->set_tkim_vouches(env->vouches);
  TlsIdentity rsa{tls->certificate_pem, env->server_key, TlsKeyKind::kRsa, env->modulus_bits};
  env->rsa_server = new KeyRoleServer(*env->state, rsa, /*max_sessions=*/64);
  return env;
}

inline KeyRoleEnv& Env() {
  static KeyRoleEnv* env = MakeEnv();
  if (env == nullptr) std::abort();  // cannot build the state directory
  return *env;
}

// A fresh user per call (tests share the state directory within a process).
inline std::string NewUser() {
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

}  // namespace onionmail::server
