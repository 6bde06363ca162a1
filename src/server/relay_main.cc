// onionmail-relay: the relay role (docs/federation.md). It carries a local
// user's message to another onion server through Tor while the user's SMTP
// session waits; it holds no key and opens no file. Exec'd by onionmaild when
// [relay] enabled = true:
//
//   onionmail-relay --config FILE --control-fd N [--key-control-fd K]
//
// N is its end of the control channel from the SMTP front end, on which each
// relayed transaction arrives as a session channel (server/relay_session.h).
// K is its channel to the key role, which signs the TKIM proofs
// (docs/PROTOCOL.md, "TKIM") it sends to remotes that offer TKIM and vouches
// for the senders whose proofs it found good (server/tkim_vouch.h); without
// it no proof is sent and no vouch given. One request at a time (sessions
// take turns), each
// answered within kTkimProofTimeout or failed; a reply that is not for the
// request (left over from an earlier request that timed out, or from a
// relay role that died waiting) is recognised and dropped.
// Start-up, in order: read the config; warm up OpenSSL's TLS client (so no
// file is opened later); EnterSandbox: drop to [sandbox] relay_user when
// root, no_new_privs, non-dumpable, no core, RelayPolicy (TCP client sockets
// only: no file, no other socket, no exec, no fork); then serve. Exit status
// 1 = start-up failed, 3 = the control channel failed (the supervisor
// restarts the role either way; its death never stops the server).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "base/ascii.h"
#include "base/log.h"
#include "config/config.h"
#include "crypto/hex.h"
#include "mail/relay.h"
#include "seccomp/policies.h"
#include "server/outbound_role.h"
#include "server/relay_session.h"
#include "unseal/tkim_wire.h"
#include "unseal/torm_wire.h"

namespace onionmail::server {
namespace {

constexpr const char* kUsage =
    "usage: onionmail-relay --config FILE --control-fd N [--key-control-fd K]\n"
    "A role of onionmaild, started by it; not meant to be run by hand.\n";

constexpr std::chrono::seconds kTkimProofTimeout{10};

// True when `proof` is a TKIM proof for `receiver` signed over `cb`: the
// answer to this request, not a stale one.
bool IsProofFor(const std::vector<uint8_t>& proof, std::string_view receiver,
                const mail::ChannelBinding& cb) {
  auto request = unseal::ParseSignedRequest(proof);
  if (!request.ok() || request->verb != unseal::Verb::kTkim) return false;
  auto body = unseal::ParseTkimBody(request->body);
  if (!body.ok() || body->receiver_domain != AsciiLower(receiver)) return false;
  return unseal::VerifyRequest(*request, cb).ok();
}

// The key role's channel, shared by the session threads.
class KeyRoleClient {
 public:
  explicit KeyRoleClient(ipc::Channel channel) : channel_(std::move(channel)) {}

  Result<std::vector<uint8_t>> Proof(std::string_view receiver, const mail::ChannelBinding& cb) {
    ipc::TkimProofRequest request;
    request.receiver_domain = std::string(receiver);
    request.channel_binding = cb;
    // A refusal names no receiver: it is taken as this request's (a late
    // refusal of one that timed out then costs this message its proof only).
    auto reply = Call<ipc::TkimProofReply>(request, "a tkim proof", [&](const auto& r) {
      return r.status != ipc::Status::kOk || IsProofFor(r.proof, receiver, cb);
    });
    if (!reply.ok()) return reply.error();
    return std::move(reply->proof);
  }

  Result<std::vector<uint8_t>> Vouch(std::string_view sender) {
    ipc::TkimVouchRequest request;
    request.sender_domain = std::string(sender);
    // Refusals name the domain too, so a late one is known as such.
    auto reply = Call<ipc::TkimVouchReply>(
        request, "a tkim vouch", [&](const auto& r) { return r.sender_domain == sender; });
    if (!reply.ok()) return reply.error();
    return std::move(reply->vouch);
  }

 private:
  // Sends `request` and waits up to kTkimProofTimeout for its reply: a
  // `Reply` for which `is_for` holds (any other is dropped, whatever its
  // status), then kOk or the refusal as an error.
  template <typename Reply, typename Request, typename IsFor>
  Result<Reply> Call(const Request& request, const char* what, IsFor is_for) {
    std::lock_guard<std::mutex> lock(mu_);
    // Replies to requests that timed out: never the answer to this one.
    for (;;) {
      auto stale = channel_.Receive(std::chrono::milliseconds(0));
      if (stale.ok()) continue;
      if (stale.error().code == ErrorCode::kDeadlineExceeded) break;
      return stale.error();
    }
    ONIONMAIL_RETURN_IF_ERROR(channel_.Send(request));
    const auto deadline = std::chrono::steady_clock::now() + kTkimProofTimeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return MakeError(ErrorCode::kDeadlineExceeded,
                         std::string("the key role did not answer for ") + what);
      }
      auto in = channel_.Receive(left);
      if (!in.ok()) return in.error();
      if (std::holds_alternative<ipc::TkimProofReply>(*in) ||
          std::holds_alternative<ipc::TkimVouchReply>(*in)) {
        if (auto* reply = std::get_if<Reply>(&*in); reply != nullptr && is_for(*reply)) {
          const std::string refused = std::string("the key role refused ") + what;
          ONIONMAIL_RETURN_IF_ERROR(ipc::StatusToResult(reply->status, refused.c_str()));
          return std::move(*reply);
        }
        log::Warning("relay", std::string("dropped ") + what + " that was not for this request");
        continue;
      }
      return MakeError(ErrorCode::kInvalidArgument, "unexpected message from the key role");
    }
  }

  std::mutex mu_;
  ipc::Channel channel_;
};

int Run(const OutboundRoleArgs& args) {
  auto started = StartOutboundRole(
      "relay", args, [](const config::Config& c) { return c.sandbox_relay_user; },
      [] { return seccomp::RelayPolicy(); },
      // Fetches SHA3-256 (the onion checksum) from OpenSSL's provider now.
      [] { (void)mail::IsV3OnionDomain(std::string(56, 'a') + ".onion"); });
  if (!started.ok()) return 1;
  const config::Config& config = started->config;

  RelayOptions options;
  options.socks5_proxy = config.relay_socks5_proxy;
  // The remote learns this server's domain from MAIL FROM anyway; EHLO names it too.
  options.helo_name = config.greeting_name();
  options.own_domain = config.domain;  // what TKIM proofs name (may differ from the EHLO name)
  options.smarthost = config.exit_smarthost;
  options.exit_domain = config.exit_domain;
  options.exit_gateway = config.relay_exit_gateway;  // asked for VMAT aliases (relay_vmat.h)
  if (auto pin = crypto::FromHex(config.exit_smarthost_pin); pin && pin->size() == 32) {
    options.smarthost_pin.emplace();
    std::copy(pin->begin(), pin->end(), options.smarthost_pin->begin());
  }
  options.connect_timeout = std::chrono::seconds(config.relay_connect_timeout_seconds);
  options.max_concurrent = config.relay_max_concurrent;
  if (started->key_channel.has_value()) {
    auto client = std::make_shared<KeyRoleClient>(std::move(*started->key_channel));
    options.tkim_proof = [client](std::string_view receiver, const mail::ChannelBinding& cb) {
      return client->Proof(receiver, cb);
    };
    options.tkim_vouch = [client](std::string_view sender) { return client->Vouch(sender); };
  } else {
    log::Warning("relay", "no channel to the key role: no TKIM proofs are sent, no vouches given");
  }
  log::Info("relay", "started (pid " + std::to_string(::getpid()) + ", seccomp " +
                         (config.sandbox_seccomp ? "on" : "OFF") + ")");
  std::atomic<bool> stop{false};  // SIGTERM ends the process (default action)
  auto ran = ServeRelayControl(started->channel, options, &stop);
  if (!ran.ok()) {
    log::Error("relay", "control channel from the SMTP front end failed: " + ran.error().message +
                            "; exiting");
    return 3;
  }
  return 0;
}

}  // namespace
}  // namespace onionmail::server

int main(int argc, char** argv) {
  using namespace onionmail;
  signal(SIGPIPE, SIG_IGN);
  server::OutboundRoleArgs args;
  if (int rc = server::ParseOutboundRoleArgs(argc, argv, "onionmail-relay", "--control-fd",
                                             server::kUsage, &args, "--key-control-fd");
      rc != 0) {
    return rc;
  }
  const int rc = server::Run(args);
  // _exit: no atexit work in a sandboxed role (a sanitizer's exit-time leak
  // check would trace the process, which every policy forbids).
  std::fflush(stderr);
  _exit(rc);
}
