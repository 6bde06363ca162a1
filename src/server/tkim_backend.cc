// The SMTP front end's TKIM service; see tkim_backend.h.
#include "server/tkim_backend.h"

#include <chrono>
#include <utility>

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
  return relay_.CheckTkim(cb, proof);
}

}  // namespace onionmail::server
