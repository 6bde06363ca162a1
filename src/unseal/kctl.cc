// KCTL certificate encoding and Ed25519 signatures over OpenSSL EVP; see kctl.h.
#include "unseal/kctl.h"

#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <string>

#include "crypto/private_key_info.h"

namespace onionmail::unseal {

namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct DecoderCtxDeleter {
  void operator()(OSSL_DECODER_CTX* c) const { OSSL_DECODER_CTX_free(c); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

Error Fail(ErrorCode code, const char* what) {
  ERR_clear_error();
  return MakeError(code, std::string("kctl: ") + what);
}

void PutUint(std::vector<uint8_t>& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

uint64_t GetUint(std::span<const uint8_t> in, size_t pos, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; ++i) v = (v << 8) | in[pos + i];
  return v;
}

// The structural rules shared by the parser and the encoders.
Result<void> CheckFields(uint8_t action, uint64_t serial, uint32_t credits, uint64_t not_before,
                         uint64_t not_after) {
  if (action < static_cast<uint8_t>(KctlAction::kDisable) ||
      action > static_cast<uint8_t>(KctlAction::kQuery)) {
    return Fail(ErrorCode::kInvalidArgument, "unknown action");
  }
  if (action != static_cast<uint8_t>(KctlAction::kResetCredits) && credits != 0) {
    return Fail(ErrorCode::kInvalidArgument, "credits must be 0 unless the action is reset");
  }
  const bool query = action == static_cast<uint8_t>(KctlAction::kQuery);
  if (query && serial != 0) return Fail(ErrorCode::kInvalidArgument, "a query has serial 0");
  if (!query && serial == 0) return Fail(ErrorCode::kInvalidArgument, "serials start at 1");
  if (not_before > not_after) {
    return Fail(ErrorCode::kInvalidArgument, "not_before is after not_after");
  }
  return Ok();
}

// The first kKctlSignedSize bytes of the encoding.
Result<std::vector<uint8_t>> SignedPart(const KctlCert& cert) {
  ONIONMAIL_RETURN_IF_ERROR(CheckFields(static_cast<uint8_t>(cert.action), cert.serial,
                                        cert.credits, cert.not_before, cert.not_after));
  std::vector<uint8_t> out;
  out.reserve(kKctlCertSize);
  out.push_back(kKctlVersion);
  out.insert(out.end(), cert.server_id.begin(), cert.server_id.end());
  out.push_back(static_cast<uint8_t>(cert.action));
  PutUint(out, cert.serial, 8);
  PutUint(out, cert.not_before, 8);
  PutUint(out, cert.not_after, 8);
  PutUint(out, cert.credits, 4);
  return out;
}

Result<PkeyPtr> PrivateKeyFromSeed(const SecretBytes& seed) {
  if (seed.size() != kKctlSeedSize)
    return Fail(ErrorCode::kInvalidArgument, "seed must be 32 bytes");
  const auto raw = seed.Reveal(SecretAccess::Grant());
  PkeyPtr key(EVP_PKEY_new_raw_private_key_ex(nullptr, "ED25519", nullptr, raw.data(), raw.size()));
  if (!key) return Fail(ErrorCode::kInternal, "Ed25519 private key import failed");
  return key;
}

Result<SecretBytes> SeedOf(const EVP_PKEY* key) {
  size_t len = kKctlSeedSize;
  SecretBytes seed(kKctlSeedSize);
  if (EVP_PKEY_get_raw_private_key(key, seed.Reveal(SecretAccess::Grant()).data(), &len) != 1 ||
      len != kKctlSeedSize) {
    return Fail(ErrorCode::kInternal, "Ed25519 private key export failed");
  }
  return seed;
}

Result<KctlPublicKey> PublicOf(const EVP_PKEY* key) {
  KctlPublicKey pub{};
  size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(key, pub.data(), &len) != 1 || len != pub.size()) {
    return Fail(ErrorCode::kInternal, "Ed25519 public key export failed");
  }
  return pub;
}

}  // namespace

Result<std::vector<uint8_t>> EncodeKctl(const KctlCert& cert) {
  auto out = SignedPart(cert);
  if (!out.ok()) return out.error();
  out->insert(out->end(), cert.signature.begin(), cert.signature.end());
  return out;
}

Result<KctlCert> ParseKctl(std::span<const uint8_t> wire) {
  if (wire.size() != kKctlCertSize) {
    return Fail(ErrorCode::kInvalidArgument, "certificate must be 126 bytes");
  }
  if (wire[0] != kKctlVersion) return Fail(ErrorCode::kInvalidArgument, "unsupported version");
  KctlCert cert;
  size_t pos = 1;
  std::copy_n(wire.begin() + pos, kPartnerIdSize, cert.server_id.begin());
  pos += kPartnerIdSize;
  const uint8_t action = wire[pos++];
  cert.serial = GetUint(wire, pos, 8);
  cert.not_before = GetUint(wire, pos + 8, 8);
  cert.not_after = GetUint(wire, pos + 16, 8);
  cert.credits = static_cast<uint32_t>(GetUint(wire, pos + 24, 4));
  pos += 28;
  ONIONMAIL_RETURN_IF_ERROR(
      CheckFields(action, cert.serial, cert.credits, cert.not_before, cert.not_after));
  cert.action = static_cast<KctlAction>(action);
  std::copy_n(wire.begin() + pos, kKctlSignatureSize, cert.signature.begin());
  return cert;
}

Result<std::vector<uint8_t>> KctlSigningInput(const KctlCert& cert) {
  auto part = SignedPart(cert);
  if (!part.ok()) return part.error();
  std::vector<uint8_t> input;
  input.reserve(kKctlSigningLabel.size() + 1 + part->size());
  input.insert(input.end(), kKctlSigningLabel.begin(), kKctlSigningLabel.end());
  input.push_back(0x00);
  input.insert(input.end(), part->begin(), part->end());
  return input;
}

Result<KctlCert> SignKctl(const SecretBytes& seed, KctlCert cert) {
  auto input = KctlSigningInput(cert);
  if (!input.ok()) return input.error();
  auto key = PrivateKeyFromSeed(seed);
  if (!key.ok()) return key.error();
  MdCtxPtr md(EVP_MD_CTX_new());
  size_t len = cert.signature.size();
  if (!md ||
      EVP_DigestSignInit_ex(md.get(), nullptr, nullptr, nullptr, nullptr, key->get(), nullptr) !=
          1 ||
      EVP_DigestSign(md.get(), cert.signature.data(), &len, input->data(), input->size()) != 1 ||
      len != kKctlSignatureSize) {
    return Fail(ErrorCode::kInternal, "Ed25519 signing failed");
  }
  return cert;
}

Result<void> VerifyKctl(const KctlCert& cert, const KctlPublicKey& kctl_pub, uint64_t now_unix,
                        uint64_t last_serial) {
  auto input = KctlSigningInput(cert);
  if (!input.ok()) return input.error();
  PkeyPtr key(EVP_PKEY_new_raw_public_key_ex(nullptr, "ED25519", nullptr, kctl_pub.data(),
                                             kctl_pub.size()));
  MdCtxPtr md(EVP_MD_CTX_new());
  if (!key || !md ||
      EVP_DigestVerifyInit_ex(md.get(), nullptr, nullptr, nullptr, nullptr, key.get(), nullptr) !=
          1 ||
      EVP_DigestVerify(md.get(), cert.signature.data(), cert.signature.size(), input->data(),
                       input->size()) != 1) {
    return Fail(ErrorCode::kUnauthenticated, "bad signature");
  }
  const bool query = cert.action == KctlAction::kQuery;
  if (cert.not_after - cert.not_before > kKctlMaxWindowSeconds) {
    return Fail(ErrorCode::kInvalidArgument, "validity window longer than 30 days");
  }
  if (query && cert.not_after - cert.not_before > kKctlMaxQueryWindowSeconds) {
    return Fail(ErrorCode::kInvalidArgument, "validity window of a query longer than one hour");
  }
  if (!query && cert.serial <= last_serial) {
    return Fail(ErrorCode::kAlreadyExists, "replayed serial");
  }
  if (now_unix < cert.not_before) return Fail(ErrorCode::kFailedPrecondition, "not yet valid");
  if (now_unix > cert.not_after) return Fail(ErrorCode::kDeadlineExceeded, "expired");
  return Ok();
}

// --------------------------------------------------------------------- reply

std::vector<uint8_t> EncodeKctlReply(const KctlReply& reply) {
  std::vector<uint8_t> out;
  out.reserve(kKctlReplySize);
  out.push_back(reply.advanced ? 1 : 0);
  out.push_back(static_cast<uint8_t>((reply.disabled ? 1 : 0) | (reply.destroyed ? 2 : 0)));
  PutUint(out, reply.credits_left, 4);
  PutUint(out, reply.answered_total, 8);
  PutUint(out, reply.last_answer_unix, 8);
  return out;
}

Result<KctlReply> ParseKctlReply(std::span<const uint8_t> wire) {
  if (wire.size() != kKctlReplySize || wire[0] > 1 || (wire[1] & ~0x03u) != 0) {
    return MakeError(ErrorCode::kInvalidArgument, "malformed KCTL reply from the peer");
  }
  KctlReply out;
  out.advanced = wire[0] == 1;
  out.disabled = (wire[1] & 0x01) != 0;
  out.destroyed = (wire[1] & 0x02) != 0;
  out.credits_left = static_cast<uint32_t>(GetUint(wire, 2, 4));
  out.answered_total = GetUint(wire, 6, 8);
  out.last_answer_unix = GetUint(wire, 14, 8);
  return out;
}

// ---------------------------------------------------------------------- keys

Result<KctlKeyPair> GenerateKctlKey() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return Fail(ErrorCode::kInternal, "Ed25519 key generation failed");
  auto seed = SeedOf(key.get());
  if (!seed.ok()) return seed.error();
  auto pub = PublicOf(key.get());
  if (!pub.ok()) return pub.error();
  return KctlKeyPair{std::move(*seed), *pub};
}

Result<KctlPublicKey> KctlPublicKeyOf(const SecretBytes& seed) {
  auto key = PrivateKeyFromSeed(seed);
  if (!key.ok()) return key.error();
  return PublicOf(key->get());
}

Result<SecretBytes> KctlPrivateKeyToPem(const SecretBytes& seed) {
  auto key = PrivateKeyFromSeed(seed);
  if (!key.ok()) return key.error();
  auto pem = crypto::EncodePrivateKeyInfo(key->get(), crypto::KeyEncoding::kPem);
  if (!pem.ok()) return Fail(ErrorCode::kInternal, "private key encoding failed");
  return pem;
}

Result<SecretBytes> KctlPrivateKeyFromPem(const SecretBytes& pem) {
  if (pem.empty()) return Fail(ErrorCode::kInvalidArgument, "bad private key PEM");
  EVP_PKEY* raw = nullptr;
  std::unique_ptr<OSSL_DECODER_CTX, DecoderCtxDeleter> dctx(OSSL_DECODER_CTX_new_for_pkey(
      &raw, "PEM", "PrivateKeyInfo", "ED25519", OSSL_KEYMGMT_SELECT_KEYPAIR, nullptr, nullptr));
  if (!dctx) return Fail(ErrorCode::kInternal, "decoder setup failed");
  const auto text = pem.Reveal(SecretAccess::Grant());
  const unsigned char* p = text.data();
  size_t left = text.size();
  if (OSSL_DECODER_from_data(dctx.get(), &p, &left) != 1 || raw == nullptr) {
    EVP_PKEY_free(raw);
    return Fail(ErrorCode::kInvalidArgument, "bad private key PEM (not an Ed25519 PKCS#8 key)");
  }
  PkeyPtr key(raw);
  if (!EVP_PKEY_is_a(key.get(), "ED25519")) {
    return Fail(ErrorCode::kInvalidArgument, "private key is not Ed25519");
  }
  return SeedOf(key.get());
}

}  // namespace onionmail::unseal
