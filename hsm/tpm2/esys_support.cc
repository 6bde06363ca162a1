#include "hsm/tpm2/esys_support.h"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace onionmail::hsm::tpm2 {
namespace {

constexpr uint8_t kBlobMagic[4] = {'O', 'M', 'T', '1'};

std::string Describe(TSS2_RC rc, std::string_view command, std::string_view device) {
  std::string m = "TPM ";
  m += device;
  m += ": ";
  m += command;
  m += " failed: ";
  const char* text = Tss2_RC_Decode(rc);
  m += text != nullptr ? text : "unknown error";
  char hex[16];
  std::snprintf(hex, sizeof(hex), " (0x%x)", static_cast<unsigned>(rc));
  m += hex;
  return m;
}

std::string ErrnoText(const char* what, const std::string& path) {
  return std::string(what) + " " + path + ": " + std::strerror(errno);
}

}  // namespace

void WipeAndFree(void* p, size_t n) {
  if (p == nullptr) return;
  OPENSSL_cleanse(p, n);
  Esys_Free(p);
}

bool TctiIsDirect(std::string_view tcti) {
  const std::string_view name = tcti.substr(0, tcti.find(':'));
  if (name == "swtpm" || name == "mssim") return true;
  if (name != "device") return false;
  constexpr std::string_view kRaw = "device:/dev/tpm";
  if (tcti.substr(0, kRaw.size()) != kRaw) return false;  // "device" alone may pick tpmrm0
  const std::string_view rest = tcti.substr(kRaw.size());
  return !rest.empty() &&
         std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; });
}

RcClass ClassifyRc(TSS2_RC rc, std::string_view command, std::string_view device) {
  const std::string text = Describe(rc, command, device);
  const TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
  const TSS2_RC low = rc & 0xFFFF;
  if (layer == TSS2_TCTI_RC_LAYER || layer == TSS2_RESMGR_RC_LAYER) {
    return {MakeError(ErrorCode::kUnavailable, text), true};
  }
  if (layer == TSS2_ESAPI_RC_LAYER || layer == TSS2_SYS_RC_LAYER) {
    switch (low) {
      case TSS2_BASE_RC_IO_ERROR:
      case TSS2_BASE_RC_NO_CONNECTION:
      case TSS2_BASE_RC_TRY_AGAIN:
      case TSS2_BASE_RC_BAD_SEQUENCE:
      case TSS2_BASE_RC_MALFORMED_RESPONSE:
      case TSS2_BASE_RC_INSUFFICIENT_RESPONSE:
      case TSS2_BASE_RC_BAD_TCTI_STRUCTURE:
      case TSS2_BASE_RC_RSP_AUTH_FAILED:
      case TSS2_BASE_RC_GENERAL_FAILURE:
        return {MakeError(ErrorCode::kUnavailable, text), true};
      default:
        return {MakeError(ErrorCode::kInternal, text), false};
    }
  }
  if (layer != TSS2_TPM_RC_LAYER && layer != TSS2_RESMGR_TPM_RC_LAYER) {
    return {MakeError(ErrorCode::kInternal, text), false};
  }
  const TSS2_RC code =
      (low & TPM2_RC_FMT1) ? (low & (TPM2_RC_FMT1 | 0x3F)) : (low & (TPM2_RC_WARN | 0x7F));
  switch (code) {
    case TPM2_RC_AUTH_FAIL:
    case TPM2_RC_BAD_AUTH:
      return {MakeError(ErrorCode::kUnauthenticated, text + " (wrong authValue)"), false};
    case TPM2_RC_LOCKOUT:
      return {MakeError(ErrorCode::kUnavailable,
                        text + " (TPM is in dictionary-attack lockout: too many wrong "
                               "authValues; wait or run tpm2_dictionarylockout --clear-lockout)"),
              false};
    case TPM2_RC_POLICY_FAIL:
    case TPM2_RC_PCR_CHANGED:
    case TPM2_RC_PCR:
      return {MakeError(ErrorCode::kPermissionDenied, text + " (PCR policy not satisfied)"), false};
    case TPM2_RC_VALUE:
    case TPM2_RC_SIZE:
    case TPM2_RC_KEY_SIZE:
    case TPM2_RC_SCHEME:
      return {MakeError(ErrorCode::kInvalidArgument, text), false};
    case TPM2_RC_INTEGRITY:
    case TPM2_RC_BINDING:
    case TPM2_RC_SENSITIVE:
      return {MakeError(ErrorCode::kDataLoss,
                        text + " (key blob does not belong to this TPM or is damaged)"),
              false};
    case TPM2_RC_INITIALIZE:
    case TPM2_RC_FAILURE:
    case TPM2_RC_REBOOT:
    case TPM2_RC_HANDLE:
    case TPM2_RC_OBJECT_MEMORY:
    case TPM2_RC_SESSION_MEMORY:
    case TPM2_RC_MEMORY:
    case TPM2_RC_SESSION_HANDLES:
    case TPM2_RC_REFERENCE_H0:
    case TPM2_RC_REFERENCE_H1:
    case TPM2_RC_REFERENCE_H2:
    case TPM2_RC_REFERENCE_S0:
    case TPM2_RC_REFERENCE_S1:
    case TPM2_RC_REFERENCE_S2:
      return {MakeError(ErrorCode::kUnavailable, text), true};
    default:
      break;
  }
  if ((code & TPM2_RC_WARN) == TPM2_RC_WARN && !(low & TPM2_RC_FMT1)) {
    return {MakeError(ErrorCode::kUnavailable, text), false};  // retry, testing, ...
  }
  return {MakeError(ErrorCode::kInternal, text), false};
}

TPM2B_PUBLIC PrimaryTemplate() {
  TPM2B_PUBLIC t{};
  TPMT_PUBLIC& p = t.publicArea;
  p.type = TPM2_ALG_ECC;
  p.nameAlg = TPM2_ALG_SHA256;
  p.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                       TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                       TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
  p.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
  p.parameters.eccDetail.symmetric.keyBits.aes = 128;
  p.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
  p.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
  p.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  p.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  return t;
}

TPM2B_PUBLIC HmacKeyTemplate(const TPM2B_DIGEST& policy) {
  TPM2B_PUBLIC t{};
  TPMT_PUBLIC& p = t.publicArea;
  p.type = TPM2_ALG_KEYEDHASH;
  p.nameAlg = TPM2_ALG_SHA256;
  p.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                       TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_SIGN_ENCRYPT;
  if (policy.size == 0) p.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
  p.authPolicy = policy;
  p.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_HMAC;
  p.parameters.keyedHashDetail.scheme.details.hmac.hashAlg = TPM2_ALG_SHA256;
  return t;
}

TPM2B_PUBLIC RsaKeyTemplate(int bits, const TPM2B_DIGEST& policy) {
  TPM2B_PUBLIC t{};
  TPMT_PUBLIC& p = t.publicArea;
  p.type = TPM2_ALG_RSA;
  p.nameAlg = TPM2_ALG_SHA256;
  p.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                       TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_DECRYPT |
                       TPMA_OBJECT_SIGN_ENCRYPT;
  if (policy.size == 0) p.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
  p.authPolicy = policy;
  p.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
  p.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;  // raw RSA and any scheme per call
  p.parameters.rsaDetail.keyBits = static_cast<TPMI_RSA_KEY_BITS>(bits);
  p.parameters.rsaDetail.exponent = 0;
  return t;
}

TPMT_SYM_DEF SessionSymmetric() {
  TPMT_SYM_DEF s{};
  s.algorithm = TPM2_ALG_AES;
  s.keyBits.aes = 128;
  s.mode.aes = TPM2_ALG_CFB;
  return s;
}

Result<TPML_PCR_SELECTION> PcrSelection(const std::vector<int>& pcrs) {
  TPML_PCR_SELECTION sel{};
  sel.count = 1;
  sel.pcrSelections[0].hash = TPM2_ALG_SHA256;
  sel.pcrSelections[0].sizeofSelect = 3;
  for (int pcr : pcrs) {
    if (pcr < 0 || pcr > 23) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "TPM PCR index out of range (0..23): " + std::to_string(pcr));
    }
    sel.pcrSelections[0].pcrSelect[pcr / 8] |= static_cast<uint8_t>(1u << (pcr % 8));
  }
  return sel;
}

std::vector<uint8_t> RsaModulus(const TPM2B_PUBLIC& pub) {
  const TPM2B_PUBLIC_KEY_RSA& n = pub.publicArea.unique.rsa;
  return std::vector<uint8_t>(n.buffer, n.buffer + n.size);
}

Result<std::vector<uint8_t>> RsaPublicDer(const TPM2B_PUBLIC& pub) {
  if (pub.publicArea.type != TPM2_ALG_RSA || pub.publicArea.unique.rsa.size == 0) {
    return MakeError(ErrorCode::kDataLoss, "TPM key blob is not an RSA public key");
  }
  uint32_t exponent = pub.publicArea.parameters.rsaDetail.exponent;
  if (exponent == 0) exponent = 65537;
  const TPM2B_PUBLIC_KEY_RSA& mod = pub.publicArea.unique.rsa;
  std::unique_ptr<BIGNUM, decltype(&BN_free)> n(BN_bin2bn(mod.buffer, mod.size, nullptr), &BN_free);
  std::unique_ptr<BIGNUM, decltype(&BN_free)> e(BN_new(), &BN_free);
  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld(OSSL_PARAM_BLD_new(),
                                                                      &OSSL_PARAM_BLD_free);
  if (!n || !e || !bld || BN_set_word(e.get(), exponent) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return MakeError(ErrorCode::kInternal, "OpenSSL: cannot build RSA public parameters");
  }
  std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params(OSSL_PARAM_BLD_to_param(bld.get()),
                                                                 &OSSL_PARAM_free);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr), &EVP_PKEY_CTX_free);
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return MakeError(ErrorCode::kInternal, "OpenSSL: cannot build RSA public key");
  }
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(raw, &EVP_PKEY_free);
  const int len = i2d_PUBKEY(pkey.get(), nullptr);
  if (len <= 0) return MakeError(ErrorCode::kInternal, "OpenSSL: i2d_PUBKEY failed");
  std::vector<uint8_t> der(static_cast<size_t>(len));
  uint8_t* out = der.data();
  if (i2d_PUBKEY(pkey.get(), &out) != len) {
    return MakeError(ErrorCode::kInternal, "OpenSSL: i2d_PUBKEY failed");
  }
  return der;
}

Result<KeyBlob> ReadKeyBlob(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    const ErrorCode code = errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kUnavailable;
    return MakeError(code, ErrnoText("cannot open TPM key blob", path));
  }
  std::vector<uint8_t> data;
  uint8_t buf[1024];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      return MakeError(ErrorCode::kUnavailable, ErrnoText("cannot read TPM key blob", path));
    }
    if (n == 0) break;
    data.insert(data.end(), buf, buf + n);
    if (data.size() > 8192) break;
  }
  close(fd);
  KeyBlob blob;
  size_t offset = sizeof(kBlobMagic);
  if (data.size() < offset || std::memcmp(data.data(), kBlobMagic, offset) != 0 ||
      Tss2_MU_TPM2B_PUBLIC_Unmarshal(data.data(), data.size(), &offset, &blob.pub) !=
          TSS2_RC_SUCCESS ||
      Tss2_MU_TPM2B_PRIVATE_Unmarshal(data.data(), data.size(), &offset, &blob.priv) !=
          TSS2_RC_SUCCESS ||
      offset != data.size()) {
    return MakeError(ErrorCode::kDataLoss, "TPM key blob is damaged: " + path);
  }
  return blob;
}

Result<void> WriteKeyBlob(const std::string& path, const KeyBlob& blob) {
  std::vector<uint8_t> data(sizeof(kBlobMagic) + sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_PRIVATE));
  std::memcpy(data.data(), kBlobMagic, sizeof(kBlobMagic));
  size_t offset = sizeof(kBlobMagic);
  if (Tss2_MU_TPM2B_PUBLIC_Marshal(&blob.pub, data.data(), data.size(), &offset) !=
          TSS2_RC_SUCCESS ||
      Tss2_MU_TPM2B_PRIVATE_Marshal(&blob.priv, data.data(), data.size(), &offset) !=
          TSS2_RC_SUCCESS) {
    return MakeError(ErrorCode::kInternal, "cannot marshal TPM key blob " + path);
  }
  data.resize(offset);
  const std::string tmp = path + ".tmp";
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return MakeError(ErrorCode::kUnavailable, ErrnoText("cannot create", tmp));
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      unlink(tmp.c_str());
      return MakeError(ErrorCode::kUnavailable, ErrnoText("cannot write", tmp));
    }
    done += static_cast<size_t>(n);
  }
  if (fchmod(fd, 0600) != 0 || fsync(fd) != 0) {
    close(fd);
    unlink(tmp.c_str());
    return MakeError(ErrorCode::kUnavailable, ErrnoText("cannot sync", tmp));
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    return MakeError(ErrorCode::kUnavailable, ErrnoText("cannot rename onto", path));
  }
  return Ok();
}

}  // namespace onionmail::hsm::tpm2
