// TKIM proof encoding and checks; see unseal/tkim_wire.h.
#include "unseal/tkim_wire.h"

namespace onionmail::unseal {
namespace {

Error Invalid(std::string what) {
  return MakeError(ErrorCode::kInvalidArgument, "TKIM: " + std::move(what));
}

bool ValidDomain(std::string_view d) {
  if (d.empty() || d.size() > kMaxTkimDomainSize) return false;
  for (char c : d) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool TakeDomain(std::span<const uint8_t>& in, std::string& out) {
  if (in.empty() || in[0] == 0 || in.size() < 1u + in[0]) return false;
  out.assign(reinterpret_cast<const char*>(in.data() + 1), in[0]);
  in = in.subspan(1u + in[0]);
  return ValidDomain(out);
}

}  // namespace

Result<std::vector<uint8_t>> EncodeTkimBody(const TkimBody& body) {
  if (!ValidDomain(body.sender_domain)) return Invalid("sender domain");
  if (!ValidDomain(body.receiver_domain)) return Invalid("receiver domain");
  std::vector<uint8_t> out;
  out.reserve(2 + body.sender_domain.size() + body.receiver_domain.size() + 8);
  for (const std::string* d : {&body.sender_domain, &body.receiver_domain}) {
    out.push_back(static_cast<uint8_t>(d->size()));
    out.insert(out.end(), d->begin(), d->end());
  }
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<uint8_t>(body.unix_time >> shift));
  }
  return out;
}

Result<TkimBody> ParseTkimBody(std::span<const uint8_t> wire) {
  TkimBody body;
  if (!TakeDomain(wire, body.sender_domain)) return Invalid("sender domain");
  if (!TakeDomain(wire, body.receiver_domain)) return Invalid("receiver domain");
  if (wire.size() != 8) return Invalid(wire.size() < 8 ? "short body" : "trailing bytes");
  for (uint8_t b : wire) body.unix_time = (body.unix_time << 8) | b;
  return body;
}

Result<TkimProof> CheckTkimRequest(std::span<const uint8_t> wire, ChannelBindingSpan cb,
                                   std::string_view own_domain, uint64_t now) {
  auto request = ParseSignedRequest(wire);
  if (!request.ok()) return request.error();
  if (request->verb != Verb::kTkim) return Invalid("not a TKIM request");
  auto key_id = VerifyRequest(*request, cb);
  if (!key_id.ok()) return key_id.error();
  auto body = ParseTkimBody(request->body);
  if (!body.ok()) return body.error();
  if (body->receiver_domain != own_domain) {
    return MakeError(ErrorCode::kPermissionDenied, "TKIM: made for another server");
  }
  if (body->sender_domain == own_domain) {
    return MakeError(ErrorCode::kPermissionDenied, "TKIM: sender is this server");
  }
  const uint64_t skew = now > body->unix_time ? now - body->unix_time : body->unix_time - now;
  if (skew > kTkimMaxSkewSeconds) {
    return MakeError(ErrorCode::kDeadlineExceeded, "TKIM: time outside the window");
  }
  return TkimProof{std::move(body->sender_domain), *key_id};
}

}  // namespace onionmail::unseal
