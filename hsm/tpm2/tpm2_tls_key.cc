// Tpm2Token TLS key: an ECDSA P-256 signing key in the blob
// key_dir/tls-ec.tpm2, created, stored, loaded and authorised exactly like
// rsa.tpm2 (see tpm2_token.h for the contract).
//
// The public key is turned into DER SubjectPublicKeyInfo with OpenSSL
// (named curve prime256v1, uncompressed point 04 || x || y) once at load and
// cached. TlsSign hands the caller's 32-byte digest to TPM2_Sign and returns
// r || s, each left-padded to 32 bytes (the TPM strips leading zeros).

#include <cstring>
#include <memory>
#include <utility>

#include "base/log.h"
#include "crypto/ec_p256.h"
#include "hsm/tpm2/tpm2_token.h"

namespace onionmail::hsm::tpm2 {
namespace {

constexpr std::string_view kLog = "tpm2";
constexpr size_t kCoordBytes = 32;  // P-256 field and order size

TPM2B_PUBLIC TlsKeyTemplate(const TPM2B_DIGEST& policy) {
  TPM2B_PUBLIC t{};
  TPMT_PUBLIC& p = t.publicArea;
  p.type = TPM2_ALG_ECC;
  p.nameAlg = TPM2_ALG_SHA256;
  p.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                       TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_SIGN_ENCRYPT;
  if (policy.size == 0) p.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
  p.authPolicy = policy;
  p.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
  p.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
  p.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
  p.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  p.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  return t;
}

// Appends `v` left-padded with zeros to kCoordBytes; false if it is longer.
bool AppendPadded(const TPM2B_ECC_PARAMETER& v, std::vector<uint8_t>* out) {
  if (v.size > kCoordBytes) return false;
  out->insert(out->end(), kCoordBytes - v.size, 0);
  out->insert(out->end(), v.buffer, v.buffer + v.size);
  return true;
}

// DER SPKI of a P-256 ECDSA signing key's public area; kDataLoss when the
// area is not one (wrong type, curve, scheme or attributes, or a point that
// is not on the curve).
Result<std::vector<uint8_t>> TlsPublicDer(const TPM2B_PUBLIC& pub) {
  const TPMT_PUBLIC& p = pub.publicArea;
  const TPMA_OBJECT need = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                           TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_SIGN_ENCRYPT;
  if (p.type != TPM2_ALG_ECC || p.parameters.eccDetail.curveID != TPM2_ECC_NIST_P256 ||
      p.parameters.eccDetail.scheme.scheme != TPM2_ALG_ECDSA ||
      p.parameters.eccDetail.scheme.details.ecdsa.hashAlg != TPM2_ALG_SHA256 ||
      (p.objectAttributes & need) != need ||
      (p.objectAttributes & (TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT)) != 0) {
    return MakeError(ErrorCode::kDataLoss, "TPM key blob is not an ECDSA P-256 signing key");
  }
  std::vector<uint8_t> point{0x04};
  if (!AppendPadded(p.unique.ecc.x, &point) || !AppendPadded(p.unique.ecc.y, &point)) {
    return MakeError(ErrorCode::kDataLoss, "TPM key blob has an oversized EC point");
  }
  auto der = crypto::P256SpkiFromPoint(point);
  if (!der.ok())
    return MakeError(ErrorCode::kDataLoss, "TPM key blob holds no valid P-256 public point");
  return der;
}

}  // namespace

Result<void> Tpm2Token::LoadTlsBlob() {
  auto blob = ReadKeyBlob(tls_blob_path());
  if (!blob.ok()) {
    if (blob.error().code == ErrorCode::kNotFound) return Ok();
    return blob.error();
  }
  auto der = TlsPublicDer(blob->pub);
  if (!der.ok()) {
    return MakeError(der.error().code, der.error().message + ": " + tls_blob_path());
  }
  tls_blob_ = *blob;
  tls_public_der_ = std::move(der).value();
  return Ok();
}

Result<void> Tpm2Token::ProvisionTlsKey(const TPM2B_DIGEST& policy) {
  auto blob = CreateKey(TlsKeyTemplate(policy));
  if (!blob.ok()) return blob.error();
  auto der = TlsPublicDer(blob->pub);
  if (!der.ok()) return MakeError(ErrorCode::kInternal, "TPM created " + der.error().message);
  ONIONMAIL_RETURN_IF_ERROR(WriteKeyBlob(tls_blob_path(), *blob));
  tls_blob_ = *blob;
  tls_public_der_ = std::move(der).value();
  log::Info(kLog, "created TPM ECDSA P-256 TLS key " + tls_blob_path());
  return Ok();
}

Result<void> Tpm2Token::RequireTlsKey() {
  if (tls_blob_) return Ok();
  if (hmac_blob_ && rsa_blob_) {
    return MakeError(ErrorCode::kNotFound,
                     "TPM token has no TLS key: missing " + tls_blob_path() +
                         " (provisioned by an older version; run onionmailctl init to add it)");
  }
  return MakeError(
      ErrorCode::kFailedPrecondition,
      "TPM token not provisioned: missing " + tls_blob_path() + " (run onionmailctl init)");
}

Result<std::vector<uint8_t>> Tpm2Token::TlsPublicKey() {
  std::lock_guard<std::mutex> lock(mu_);
  ONIONMAIL_RETURN_IF_ERROR(RequireTlsKey());
  return tls_public_der_;
}

Result<std::vector<uint8_t>> Tpm2Token::TlsSign(std::span<const uint8_t> digest) {
  TPM2B_DIGEST in{};
  if (digest.size() != kCoordBytes) {
    return MakeError(ErrorCode::kInvalidArgument, "TPM TLS signature needs a 32-byte digest, got " +
                                                      std::to_string(digest.size()));
  }
  in.size = static_cast<UINT16>(digest.size());
  std::memcpy(in.buffer, digest.data(), digest.size());
  return RunRetrying([&]() -> Result<std::vector<uint8_t>> {
    ONIONMAIL_RETURN_IF_ERROR(RequireTlsKey());
    auto session = UseResident(*tls_blob_, &resident_tls_);
    if (!session.ok()) {
      DropResidents();
      return session.error();
    }
    // No parameter encryption: the digest is a TLS transcript hash and the
    // signature is sent to the client, so neither is secret; each encrypted
    // parameter costs a KDFa and AES in tss2-esys (about 14 % of the TPM
    // path's throughput, docs/benchmarks.md). Response encryption would not
    // apply anyway: TPMT_SIGNATURE is no sized parameter, and a TPM may
    // answer TPM_RC_ATTRIBUTES to it. The authValue stays off the bus: the
    // session authorises with an HMAC.
    TSS2_RC rc =
        Esys_TRSess_SetAttributes(esys_, *session, 0, TPMA_SESSION_DECRYPT | TPMA_SESSION_ENCRYPT);
    if (rc != TSS2_RC_SUCCESS) {
      DropResidents();
      return Fail(rc, "Esys_TRSess_SetAttributes");
    }
    TPMT_SIG_SCHEME scheme{};
    scheme.scheme = TPM2_ALG_ECDSA;
    scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
    TPMT_TK_HASHCHECK ticket{};
    ticket.tag = TPM2_ST_HASHCHECK;
    ticket.hierarchy = TPM2_RH_NULL;
    ticket.digest.size = 0;
    EsysOut<TPMT_SIGNATURE> sig;
    rc = Esys_Sign(esys_, resident_tls_, *session, ESYS_TR_NONE, ESYS_TR_NONE, &in, &scheme,
                   &ticket, sig.out());
    if (rc != TSS2_RC_SUCCESS) {
      Error e = Fail(rc, "Esys_Sign");
      DropResidents();
      return e;
    }
    operations_.fetch_add(1);
    if (sig->sigAlg != TPM2_ALG_ECDSA) {
      return MakeError(ErrorCode::kInternal, "TPM returned a signature that is not ECDSA");
    }
    std::vector<uint8_t> out;
    out.reserve(2 * kCoordBytes);
    if (!AppendPadded(sig->signature.ecdsa.signatureR, &out) ||
        !AppendPadded(sig->signature.ecdsa.signatureS, &out)) {
      return MakeError(ErrorCode::kInternal, "TPM returned an oversized ECDSA signature");
    }
    return out;
  });
}

}  // namespace onionmail::hsm::tpm2
