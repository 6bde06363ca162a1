// The relay role's TKIM sides; see relay_tkim.h.
#include "server/relay_tkim.h"

#include <ctime>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "base/log.h"
#include "mail/relay.h"
#include "unseal/tkim_wire.h"

namespace onionmail::server {
namespace {

constexpr char kLog[] = "relay";
using SteadyClock = std::chrono::steady_clock;

// onion -> the key id its `TKIM KEY` answer hashed to, and when it was asked.
class KeyCache {
 public:
  std::optional<unseal::PartnerId> Find(const std::string& onion) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(onion);
    if (it == entries_.end()) return std::nullopt;
    if (SteadyClock::now() - it->second.asked > kTkimKeyCacheTtl) {
      entries_.erase(it);
      return std::nullopt;
    }
    return it->second.key_id;
  }

  void Put(const std::string& onion, const unseal::PartnerId& key_id) {
    std::lock_guard<std::mutex> lock(mu_);
    if (entries_.size() >= kTkimKeyCacheEntries && entries_.find(onion) == entries_.end()) {
      auto oldest = entries_.begin();
      for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        if (it->second.asked < oldest->second.asked) oldest = it;
      }
      entries_.erase(oldest);
    }
    entries_[onion] = Entry{key_id, SteadyClock::now()};
  }

  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.clear();
  }

 private:
  struct Entry {
    unseal::PartnerId key_id{};
    SteadyClock::time_point asked;
  };
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

KeyCache& Cache() {
  static KeyCache* cache = new KeyCache();  // never destroyed: detached threads may use it
  return *cache;
}

ipc::TkimCheckReply Refused(ErrorCode code, const std::string& why) {
  log::Info(kLog, "tkim check refused: " + why);
  return {ipc::StatusFromError(code), "", {}};
}

// Asks `onion` itself, through Tor, for its key; returns its id.
Result<unseal::PartnerId> AskKey(const std::string& onion, const RelayOptions& options) {
  if (options.socks5_proxy.empty()) {
    return MakeError(ErrorCode::kUnavailable, "no SOCKS5 proxy configured");
  }
  auto client = peer::MailClient::Open(onion + ":" + std::to_string(options.remote_port),
                                       OnionClientOptions(options));
  if (!client.ok()) return client.error();
  auto key = (*client)->TkimKey();
  (*client)->Quit();
  if (!key.ok()) {
    // A remote that does not offer TKIM cannot vouch for a key.
    if (key.error().code == ErrorCode::kFailedPrecondition) {
      return MakeError(ErrorCode::kUnauthenticated, "the sender's onion does not offer TKIM");
    }
    return key.error();
  }
  return unseal::PartnerIdOf(*key);
}

}  // namespace

Result<void> SendTkimProof(peer::MailClient& client, std::string_view receiver,
                           const RelayOptions& options) {
  if (!options.tkim_proof || !client.Offers("TKIM")) return Ok();
  auto cb = client.ChannelBinding();
  if (!cb.ok()) return cb.error();
  auto proof = options.tkim_proof(receiver, *cb);
  if (!proof.ok()) {
    log::Warning(kLog, "no TKIM proof from the key role: " + proof.error().message);
    return Ok();
  }
  auto reply = client.Tkim(*proof);
  if (!reply.ok()) return reply.error();
  if (reply->code == 250) {
    log::Info(kLog, "tkim: the remote accepted this server's proof");
  } else {
    log::Warning(kLog, "tkim: the remote answered " + std::to_string(reply->code) +
                           " to this server's proof");
  }
  return Ok();
}

void ClearTkimKeyCacheForTest() { Cache().Clear(); }

ipc::TkimCheckReply CheckTkim(const ipc::TkimCheckRequest& request, const RelayOptions& options) {
  const uint64_t now = static_cast<uint64_t>(std::time(nullptr));
  auto proof =
      unseal::CheckTkimRequest(request.proof, request.channel_binding, options.own_domain, now);
  if (!proof.ok()) {
    const ErrorCode code = proof.error().code == ErrorCode::kInvalidArgument
                               ? ErrorCode::kInvalidArgument
                               : ErrorCode::kUnauthenticated;
    return Refused(code, proof.error().message);
  }
  if (!mail::IsV3OnionDomain(proof->sender_domain)) {
    return Refused(ErrorCode::kInvalidArgument, "the sender is not a v3 onion");
  }
  auto known = Cache().Find(proof->sender_domain);
  // Not known, or known with another key (the sender may have a new one):
  // its onion is asked (again).
  if (!known || *known != proof->key_id) {
    auto asked = AskKey(proof->sender_domain, options);
    if (!asked.ok()) {
      const ErrorCode c = asked.error().code;
      const bool unreachable = c == ErrorCode::kUnavailable || c == ErrorCode::kDeadlineExceeded ||
                               c == ErrorCode::kFailedPrecondition;
      return Refused(unreachable ? ErrorCode::kUnavailable : ErrorCode::kUnauthenticated,
                     "asking the sender's onion for its key: " + asked.error().message);
    }
    Cache().Put(proof->sender_domain, *asked);
    known = *asked;
  }
  if (*known != proof->key_id) {
    return Refused(ErrorCode::kUnauthenticated, "the proof's key is not the sender onion's key");
  }
  log::Info(kLog, "tkim check: sender authenticated");
  ipc::TkimCheckReply reply{ipc::Status::kOk, proof->sender_domain, {}};
  if (options.tkim_vouch) {
    auto vouch = options.tkim_vouch(proof->sender_domain);
    if (vouch.ok() && vouch->size() == ipc::kTkimVouchBytes) {
      reply.vouch = std::move(*vouch);
    } else {
      // The sender stays proven; only list posts from its users will wait.
      log::Warning(kLog, "no tkim vouch from the key role: " +
                             (vouch.ok() ? std::string("wrong size") : vouch.error().message));
    }
  }
  return reply;
}

}  // namespace onionmail::server
