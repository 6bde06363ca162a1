// TORM request envelope, bodies and replies, and RSA-PSS request signatures
// (OpenSSL EVP); see torm_wire.h.
#include "unseal/torm_wire.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>

#include "crypto/kdf.h"

namespace onionmail::unseal {

namespace {

Error Invalid(const std::string& what) {
  return MakeError(ErrorCode::kInvalidArgument, "torm: " + what);
}

Error OpensslFailure(ErrorCode code, const char* what) {
  ERR_clear_error();
  return MakeError(code, std::string("torm: ") + what);
}

// Appends big-endian integers and length-prefixed byte strings.
// (resize + memcpy rather than insert/push_back: GCC 12 at -O3 reports false
// -Wstringop-overflow errors on the inlined vector growth.)
class Writer {
 public:
  void U8(uint8_t v) { Put(&v, 1); }
  void U16(uint16_t v) { Uint(v, 2); }
  void U32(uint32_t v) { Uint(v, 4); }
  void U64(uint64_t v) { Uint(v, 8); }
  void Bytes(std::span<const uint8_t> b) { Put(b.data(), b.size()); }
  void Bytes(std::string_view s) { Put(s.data(), s.size()); }
  std::vector<uint8_t> Take() { return std::move(out_); }

 private:
  void Put(const void* p, size_t n) {
    if (n == 0) return;
    const size_t at = out_.size();
    out_.resize(at + n);
    std::memcpy(out_.data() + at, p, n);
  }
  void Uint(uint64_t v, int bytes) {
    uint8_t b[8];
    for (int i = 0; i < bytes; ++i) b[i] = static_cast<uint8_t>(v >> (8 * (bytes - 1 - i)));
    Put(b, static_cast<size_t>(bytes));
  }
  std::vector<uint8_t> out_;
};

// Reads the same; every read fails on short input, Finish() on trailing bytes.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}

  Result<uint64_t> Uint(size_t bytes, const char* field) {
    if (in_.size() - pos_ < bytes) return Invalid(std::string("truncated ") + field);
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; ++i) v = (v << 8) | in_[pos_ + i];
    pos_ += bytes;
    return v;
  }
  Result<std::span<const uint8_t>> Bytes(size_t n, const char* field) {
    if (in_.size() - pos_ < n) return Invalid(std::string("truncated ") + field);
    auto out = in_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  // A length-prefixed string whose length lies in [min, max].
  Result<std::span<const uint8_t>> Var(size_t prefix_bytes, size_t min, size_t max,
                                       const char* field) {
    auto len = Uint(prefix_bytes, field);
    if (!len.ok()) return len.error();
    if (*len < min || *len > max) return Invalid(std::string(field) + " length out of range");
    return Bytes(static_cast<size_t>(*len), field);
  }
  Result<Point> ReadPoint(const char* field) {
    auto raw = Bytes(kPointSize, field);
    if (!raw.ok()) return raw.error();
    return ParsePoint(*raw);
  }
  Result<void> Finish() const {
    if (pos_ != in_.size()) return Invalid("trailing bytes");
    return Ok();
  }

 private:
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
};

template <size_t N>
std::array<uint8_t, N> ToArray(std::span<const uint8_t> b) {
  std::array<uint8_t, N> out{};
  std::copy_n(b.begin(), N, out.begin());
  return out;
}

std::string ToString(std::span<const uint8_t> b) { return std::string(b.begin(), b.end()); }

Result<void> CheckShape(uint8_t t, uint8_t n) {
  if (t < 2 || t > n || n > kMaxShares) return Invalid("t/n out of range (2 <= t <= n <= 32)");
  return Ok();
}

Result<void> CheckName(size_t size, const char* field) {
  if (size < 1 || size > kMaxAddressSize) {
    return Invalid(std::string(field) + " length out of range");
  }
  return Ok();
}

Result<void> CheckVerb(uint8_t verb) {
  if (verb < static_cast<uint8_t>(Verb::kPush) || verb > static_cast<uint8_t>(Verb::kTkim)) {
    return Invalid("unknown verb");
  }
  return Ok();
}

Result<void> CheckPoint(const Point& p, const char* field) {
  auto parsed = ParsePoint(p);
  if (!parsed.ok()) return Invalid(std::string(field) + ": " + parsed.error().message);
  return Ok();
}

Result<void> CheckRequestLengths(std::span<const uint8_t> body, std::span<const uint8_t> spki,
                                 std::span<const uint8_t> signature) {
  if (body.size() > kMaxRequestBodySize) return Invalid("body too large");
  if (spki.empty() || spki.size() > 0xffff) return Invalid("spki_der length out of range");
  if (signature.empty() || signature.size() > 0xffff) {
    return Invalid("signature length out of range");
  }
  return Ok();
}

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

Result<void> SetPss(EVP_PKEY_CTX* pctx) {
  if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
      // The EVP_MD form (not *_md_name) also works for keys whose private
      // operation runs in the token (net/remote_key.h: a legacy RSA_METHOD).
      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0 ||
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, static_cast<int>(kPssSaltSize)) <= 0) {
    return OpensslFailure(ErrorCode::kInternal, "RSA-PSS setup failed");
  }
  return Ok();
}

Result<void> CheckRsaKey(const EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    return OpensslFailure(ErrorCode::kInvalidArgument, "request key is not an RSA key");
  }
  const int bits = EVP_PKEY_get_bits(key);
  if (bits < kMinRequestRsaBits || bits > kMaxRequestRsaBits) {
    return OpensslFailure(ErrorCode::kInvalidArgument, "request RSA key size out of range");
  }
  return Ok();
}

// The DER SubjectPublicKeyInfo of a key.
Result<std::vector<uint8_t>> SpkiOf(EVP_PKEY* key) {
  const int len = i2d_PUBKEY(key, nullptr);
  if (len <= 0) return OpensslFailure(ErrorCode::kInternal, "public key encoding failed");
  std::vector<uint8_t> der(static_cast<size_t>(len));
  unsigned char* p = der.data();
  if (i2d_PUBKEY(key, &p) != len) {
    return OpensslFailure(ErrorCode::kInternal, "public key encoding failed");
  }
  return der;
}

}  // namespace

std::string_view VerbName(Verb verb) {
  switch (verb) {
    case Verb::kPush:
      return "PUSH";
    case Verb::kDerk:
      return "DERK";
    case Verb::kStat:
      return "STAT";
    case Verb::kTkim:
      return "TKIM";
  }
  return "?";
}

Result<Verb> ParseVerbName(std::string_view name) {
  for (Verb v : {Verb::kPush, Verb::kDerk, Verb::kStat}) {
    if (name == VerbName(v)) return v;
  }
  return Invalid("unknown verb");
}

// ------------------------------------------------------------------- bodies

Result<std::vector<uint8_t>> EncodePushBody(const PushBody& body) {
  ONIONMAIL_RETURN_IF_ERROR(CheckShape(body.t, body.n));
  ONIONMAIL_RETURN_IF_ERROR(CheckName(body.peer_id.size(), "peer_id"));
  if (body.forward_peers.size() > kMaxForwardPeers) return Invalid("too many forward peers");
  Writer w;
  w.U8(body.t);
  w.U8(body.n);
  w.U8(static_cast<uint8_t>(body.peer_id.size()));
  w.Bytes(body.peer_id);
  w.Bytes(body.kctl_pub);
  w.U32(body.credits_requested);
  w.U8(static_cast<uint8_t>(body.forward_peers.size()));
  for (const ForwardPeer& peer : body.forward_peers) {
    ONIONMAIL_RETURN_IF_ERROR(CheckName(peer.address.size(), "address"));
    w.U8(static_cast<uint8_t>(peer.address.size()));
    w.Bytes(peer.address);
    w.Bytes(peer.tls_pin);
  }
  return w.Take();
}

Result<PushBody> ParsePushBody(std::span<const uint8_t> wire) {
  Reader r(wire);
  PushBody body;
  auto t = r.Uint(1, "t");
  if (!t.ok()) return t.error();
  auto n = r.Uint(1, "n");
  if (!n.ok()) return n.error();
  body.t = static_cast<uint8_t>(*t);
  body.n = static_cast<uint8_t>(*n);
  ONIONMAIL_RETURN_IF_ERROR(CheckShape(body.t, body.n));
  auto peer_id = r.Var(1, 1, kMaxAddressSize, "peer_id");
  if (!peer_id.ok()) return peer_id.error();
  body.peer_id = ToString(*peer_id);
  auto kctl_pub = r.Bytes(kKctlPublicKeySize, "kctl_pub");
  if (!kctl_pub.ok()) return kctl_pub.error();
  body.kctl_pub = ToArray<kKctlPublicKeySize>(*kctl_pub);
  auto credits = r.Uint(4, "credits_requested");
  if (!credits.ok()) return credits.error();
  body.credits_requested = static_cast<uint32_t>(*credits);
  auto count = r.Uint(1, "count");
  if (!count.ok()) return count.error();
  if (*count > kMaxForwardPeers) return Invalid("too many forward peers");
  for (uint64_t i = 0; i < *count; ++i) {
    auto address = r.Var(1, 1, kMaxAddressSize, "address");
    if (!address.ok()) return address.error();
    auto pin = r.Bytes(kTlsPinSize, "tls_pin");
    if (!pin.ok()) return pin.error();
    body.forward_peers.push_back(ForwardPeer{ToString(*address), ToArray<kTlsPinSize>(*pin)});
  }
  ONIONMAIL_RETURN_IF_ERROR(r.Finish());
  return body;
}

Result<std::vector<uint8_t>> EncodePushReply(const PushReply& reply) {
  ONIONMAIL_RETURN_IF_ERROR(CheckPoint(reply.S, "S"));
  Writer w;
  w.Bytes(reply.S);
  w.U32(reply.credits_granted);
  return w.Take();
}

Result<PushReply> ParsePushReply(std::span<const uint8_t> wire) {
  Reader r(wire);
  PushReply reply;
  auto s = r.ReadPoint("S");
  if (!s.ok()) return s.error();
  reply.S = *s;
  auto credits = r.Uint(4, "credits_granted");
  if (!credits.ok()) return credits.error();
  reply.credits_granted = static_cast<uint32_t>(*credits);
  ONIONMAIL_RETURN_IF_ERROR(r.Finish());
  return reply;
}

Result<std::vector<uint8_t>> EncodeDerkBody(const DerkBody& body) {
  ONIONMAIL_RETURN_IF_ERROR(CheckPoint(body.X, "X"));
  return std::vector<uint8_t>(body.X.begin(), body.X.end());
}

Result<DerkBody> ParseDerkBody(std::span<const uint8_t> wire) {
  Reader r(wire);
  auto x = r.ReadPoint("X");
  if (!x.ok()) return x.error();
  ONIONMAIL_RETURN_IF_ERROR(r.Finish());
  return DerkBody{*x};
}

Result<std::vector<uint8_t>> EncodeDerkReply(const DerkReply& reply) {
  ONIONMAIL_RETURN_IF_ERROR(CheckPoint(reply.Y, "Y"));
  Writer w;
  w.Bytes(reply.Y);
  w.U32(reply.credits_left);
  w.U64(reply.answered_total);
  return w.Take();
}

Result<DerkReply> ParseDerkReply(std::span<const uint8_t> wire) {
  Reader r(wire);
  DerkReply reply;
  auto y = r.ReadPoint("Y");
  if (!y.ok()) return y.error();
  reply.Y = *y;
  auto credits = r.Uint(4, "credits_left");
  if (!credits.ok()) return credits.error();
  reply.credits_left = static_cast<uint32_t>(*credits);
  auto total = r.Uint(8, "answered_total");
  if (!total.ok()) return total.error();
  reply.answered_total = *total;
  ONIONMAIL_RETURN_IF_ERROR(r.Finish());
  return reply;
}

std::vector<uint8_t> EncodeStatBody() { return {}; }

Result<void> ParseStatBody(std::span<const uint8_t> wire) {
  if (!wire.empty()) return Invalid("STAT body must be empty");
  return Ok();
}

std::vector<uint8_t> EncodeStatReply(const StatReply& reply) {
  Writer w;
  w.U8(reply.disabled ? 0x01 : 0x00);
  w.U32(reply.credits_left);
  w.U64(reply.answered_total);
  w.U64(reply.last_answer_unix);
  return w.Take();
}

Result<StatReply> ParseStatReply(std::span<const uint8_t> wire) {
  Reader r(wire);
  StatReply reply;
  auto flags = r.Uint(1, "flags");
  if (!flags.ok()) return flags.error();
  if ((*flags & ~uint64_t{0x01}) != 0) return Invalid("reserved flag bits set");
  reply.disabled = (*flags & 0x01) != 0;
  auto credits = r.Uint(4, "credits_left");
  if (!credits.ok()) return credits.error();
  reply.credits_left = static_cast<uint32_t>(*credits);
  auto total = r.Uint(8, "answered_total");
  if (!total.ok()) return total.error();
  reply.answered_total = *total;
  auto last = r.Uint(8, "last_answer_unix");
  if (!last.ok()) return last.error();
  reply.last_answer_unix = *last;
  ONIONMAIL_RETURN_IF_ERROR(r.Finish());
  return reply;
}

// ---------------------------------------------------------- signed requests

Result<std::vector<uint8_t>> EncodeSignedRequest(const SignedRequest& request) {
  return BuildSignedRequest(request.verb, request.body, request.spki_der, request.signature);
}

Result<std::vector<uint8_t>> BuildSignedRequest(Verb verb, std::span<const uint8_t> body,
                                                std::span<const uint8_t> spki_der,
                                                std::span<const uint8_t> signature) {
  ONIONMAIL_RETURN_IF_ERROR(CheckVerb(static_cast<uint8_t>(verb)));
  ONIONMAIL_RETURN_IF_ERROR(CheckRequestLengths(body, spki_der, signature));
  Writer w;
  w.U8(kTormVersion);
  w.U8(static_cast<uint8_t>(verb));
  w.U32(static_cast<uint32_t>(body.size()));
  w.Bytes(body);
  w.U16(static_cast<uint16_t>(spki_der.size()));
  w.Bytes(spki_der);
  w.U16(static_cast<uint16_t>(signature.size()));
  w.Bytes(signature);
  return w.Take();
}

Result<SignedRequest> ParseSignedRequest(std::span<const uint8_t> wire) {
  Reader r(wire);
  auto version = r.Uint(1, "version");
  if (!version.ok()) return version.error();
  if (*version != kTormVersion) return Invalid("unsupported version");
  auto verb = r.Uint(1, "verb");
  if (!verb.ok()) return verb.error();
  ONIONMAIL_RETURN_IF_ERROR(CheckVerb(static_cast<uint8_t>(*verb)));
  auto body = r.Var(4, 0, kMaxRequestBodySize, "body");
  if (!body.ok()) return body.error();
  auto spki = r.Var(2, 1, 0xffff, "spki_der");
  if (!spki.ok()) return spki.error();
  auto signature = r.Var(2, 1, 0xffff, "signature");
  if (!signature.ok()) return signature.error();
  ONIONMAIL_RETURN_IF_ERROR(r.Finish());
  SignedRequest request;
  request.verb = static_cast<Verb>(*verb);
  request.body.assign(body->begin(), body->end());
  request.spki_der.assign(spki->begin(), spki->end());
  request.signature.assign(signature->begin(), signature->end());
  return request;
}

std::vector<uint8_t> SigningInput(Verb verb, ChannelBindingSpan cb, std::span<const uint8_t> body) {
  // Sized up front and filled with memcpy: appending to a growing vector here
  // trips a GCC 12 -Wstringop-overflow false positive at -O3 (Release).
  const size_t label = kTormSigningLabel.size();
  std::vector<uint8_t> out(label + 2 + cb.size() + body.size());
  std::memcpy(out.data(), kTormSigningLabel.data(), label);
  out[label] = 0x00;
  out[label + 1] = static_cast<uint8_t>(verb);
  if (!cb.empty()) std::memcpy(out.data() + label + 2, cb.data(), cb.size());
  if (!body.empty()) std::memcpy(out.data() + label + 2 + cb.size(), body.data(), body.size());
  return out;
}

std::array<uint8_t, 32> SigningDigest(Verb verb, ChannelBindingSpan cb,
                                      std::span<const uint8_t> body) {
  return crypto::Sha256(SigningInput(verb, cb, body));
}

PartnerId PartnerIdOf(std::span<const uint8_t> spki_der) { return crypto::Sha256(spki_der); }

Result<SignedRequest> SignRequestWithKey(EVP_PKEY* rsa_private_key, Verb verb,
                                         ChannelBindingSpan cb, std::span<const uint8_t> body) {
  if (rsa_private_key == nullptr) return Invalid("no signing key");
  ONIONMAIL_RETURN_IF_ERROR(CheckVerb(static_cast<uint8_t>(verb)));
  ONIONMAIL_RETURN_IF_ERROR(CheckRsaKey(rsa_private_key));
  if (body.size() > kMaxRequestBodySize) return Invalid("body too large");
  auto spki = SpkiOf(rsa_private_key);
  if (!spki.ok()) return spki.error();
  const std::vector<uint8_t> input = SigningInput(verb, cb, body);
  MdCtxPtr md(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by md
  // The EVP_MD form, not the name: a key whose private operation runs in
  // the token is a legacy RSA_METHOD key, for which OpenSSL would look the
  // name up in its legacy tables, and the key role keeps those empty
  // (server/key_role_openssl.h).
  if (!md || EVP_DigestSignInit(md.get(), &pctx, EVP_sha256(), nullptr, rsa_private_key) != 1) {
    return OpensslFailure(ErrorCode::kInternal, "RSA-PSS sign init failed");
  }
  ONIONMAIL_RETURN_IF_ERROR(SetPss(pctx));
  size_t len = 0;
  if (EVP_DigestSign(md.get(), nullptr, &len, input.data(), input.size()) != 1) {
    return OpensslFailure(ErrorCode::kInternal, "RSA-PSS sign failed");
  }
  std::vector<uint8_t> signature(len);
  if (EVP_DigestSign(md.get(), signature.data(), &len, input.data(), input.size()) != 1) {
    return OpensslFailure(ErrorCode::kInternal, "RSA-PSS sign failed");
  }
  signature.resize(len);
  return SignedRequest{verb, std::vector<uint8_t>(body.begin(), body.end()), std::move(*spki),
                       std::move(signature)};
}

Result<PartnerId> VerifyRequest(const SignedRequest& request, ChannelBindingSpan cb) {
  ONIONMAIL_RETURN_IF_ERROR(CheckVerb(static_cast<uint8_t>(request.verb)));
  ONIONMAIL_RETURN_IF_ERROR(CheckRequestLengths(request.body, request.spki_der, request.signature));
  const std::vector<uint8_t>& der = request.spki_der;
  if (der.size() > LONG_MAX) return Invalid("bad spki_der");
  const unsigned char* p = der.data();
  PkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!key || p != der.data() + der.size()) {
    return OpensslFailure(ErrorCode::kInvalidArgument, "bad spki_der");
  }
  ONIONMAIL_RETURN_IF_ERROR(CheckRsaKey(key.get()));
  // Only the canonical DER encoding is accepted, so that one key has exactly one
  // partner_id.
  auto canonical = SpkiOf(key.get());
  if (!canonical.ok()) return canonical.error();
  if (*canonical != der) return Invalid("spki_der is not canonical DER");

  const std::vector<uint8_t> input = SigningInput(request.verb, cb, request.body);
  MdCtxPtr md(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by md
  if (!md || EVP_DigestVerifyInit_ex(md.get(), &pctx, "SHA256", nullptr, nullptr, key.get(),
                                     nullptr) != 1) {
    return OpensslFailure(ErrorCode::kInternal, "RSA-PSS verify init failed");
  }
  ONIONMAIL_RETURN_IF_ERROR(SetPss(pctx));
  if (EVP_DigestVerify(md.get(), request.signature.data(), request.signature.size(), input.data(),
                       input.size()) != 1) {
    return OpensslFailure(ErrorCode::kUnauthenticated, "bad request signature");
  }
  return PartnerIdOf(der);
}

}  // namespace onionmail::unseal
