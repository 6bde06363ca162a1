// The SMTP front end's TKIM service; see tkim_backend.h.
#include "server/tkim_backend.h"

#include <chrono>
#include <utility>

#include "base/log.h"

namespace onionmail::server {

namespace {
constexpr std::chrono::milliseconds kKeyTimeout{std::chrono::seconds(30)};
}  // namespace

Result<std::vector<uint8_t>> FetchServerKey(SessionLink& link) {
  auto r = link.Call<ipc::ServerKeyReply>(ipc::ServerKeyRequest{}, kKeyTimeout);
  if (!r.ok()) return r.error();
  ONIONMAIL_RETURN_IF_ERROR(ipc::StatusToResult(r->status, "key role: no server key"));
  if (r->spki_der.empty()) return MakeError(ErrorCode::kInternal, "key role: empty server key");
  return std::move(r->spki_der);
}

Result<std::vector<uint8_t>> RemoteTkim::ServerKey() {
  if (key_) return *key_;
  auto key = FetchServerKey(key_link_);
  if (!key.ok()) return key.error();
  key_ = std::move(*key);
  return *key_;
}

Result<std::string> RemoteTkim::Check(const mail::ChannelBinding& cb,
                                      std::span<const uint8_t> proof) {
  auto proven = relay_.CheckTkim(cb, proof);
  if (!proven.ok()) return proven.error();
  if (proven->vouch.empty()) {
    log::Warning("smtp", "tkim: no vouch from the relay role: list posts from this sender wait");
    return std::move(proven->sender_domain);
  }
  ipc::TkimProvenRequest shown{proven->sender_domain, std::move(proven->vouch)};
  auto r = key_link_.Call<ipc::StatusReply>(shown, kKeyTimeout);
  if (!r.ok() || r->status != ipc::Status::kOk) {
    // The sender stays proven for TKIM's own rules; the key role will not let
    // this session act for its users on mailing lists.
    log::Warning("smtp", "tkim: the key role did not take the relay role's vouch");
  }
  return std::move(proven->sender_domain);
}

}  // namespace onionmail::server
