// The SMTP front end's TKIM service; see tkim_backend.h.
#include "server/tkim_backend.h"

#include <chrono>
#include <utility>

namespace onionmail::server {

namespace {
constexpr std::chrono::milliseconds kKeyTimeout{std::chrono::seconds(30)};
}  // namespace

Result<std::vector<uint8_t>> RemoteTkim::ServerKey() {
  if (key_) return *key_;
  auto r = key_link_.Call<ipc::ServerKeyReply>(ipc::ServerKeyRequest{}, kKeyTimeout);
  if (!r.ok()) return r.error();
  ONIONMAIL_RETURN_IF_ERROR(ipc::StatusToResult(r->status, "key role: no server key"));
  if (r->spki_der.empty()) return MakeError(ErrorCode::kInternal, "key role: empty server key");
  key_ = std::move(r->spki_der);
  return *key_;
}

Result<std::string> RemoteTkim::Check(const mail::ChannelBinding& cb,
                                      std::span<const uint8_t> proof) {
  return relay_.CheckTkim(cb, proof);
}

}  // namespace onionmail::server
