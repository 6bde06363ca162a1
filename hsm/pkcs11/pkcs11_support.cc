// PKCS#11 backend helpers: CK_RV names, the PIN file, OpenSSL key building.
#include "hsm/pkcs11/pkcs11_support.h"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace onionmail::hsm::pkcs11 {
namespace {

struct NamedRv {
  CK_RV rv;
  const char* name;
};

constexpr NamedRv kNames[] = {
    {CKR_OK, "CKR_OK"},
    {CKR_HOST_MEMORY, "CKR_HOST_MEMORY"},
    {CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID"},
    {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
    {CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"},
    {CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD"},
    {CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE"},
    {CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID"},
    {CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID"},
    {CKR_DATA_INVALID, "CKR_DATA_INVALID"},
    {CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE"},
    {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
    {CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY"},
    {CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED"},
    {CKR_ENCRYPTED_DATA_INVALID, "CKR_ENCRYPTED_DATA_INVALID"},
    {CKR_ENCRYPTED_DATA_LEN_RANGE, "CKR_ENCRYPTED_DATA_LEN_RANGE"},
    {CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID"},
    {CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT"},
    {CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
    {CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID"},
    {CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID"},
    {CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID"},
    {CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE"},
    {CKR_OPERATION_NOT_INITIALIZED, "CKR_OPERATION_NOT_INITIALIZED"},
    {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"},
    {CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE"},
    {CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED"},
    {CKR_PIN_LOCKED, "CKR_PIN_LOCKED"},
    {CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED"},
    {CKR_SESSION_COUNT, "CKR_SESSION_COUNT"},
    {CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID"},
    {CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY"},
    {CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE"},
    {CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT"},
    {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
    {CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED"},
    {CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED"},
    {CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN"},
    {CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"},
    {CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED"},
    {CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID"},
    {CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL"},
    {CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED"},
    {CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED"},
};

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct BldFree {
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};

Error OpensslError(const char* what) {
  return MakeError(ErrorCode::kInternal, std::string("OpenSSL ") + what + " failed");
}

}  // namespace

std::string CkrName(unsigned long rv) {
  for (const NamedRv& n : kNames) {
    if (n.rv == rv) return n.name;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "CKR_0x%lx", rv);
  return buf;
}

bool IsDeviceError(unsigned long rv) {
  switch (rv) {
    case CKR_GENERAL_ERROR:
    case CKR_FUNCTION_FAILED:
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_MEMORY:
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_TOKEN_NOT_RECOGNIZED:
    case CKR_SLOT_ID_INVALID:
    case CKR_SESSION_CLOSED:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_USER_NOT_LOGGED_IN:        // login state is lost when the token goes
    case CKR_CRYPTOKI_NOT_INITIALIZED:  // e.g. in a child after fork
      return true;
    default:
      return false;
  }
}

Result<SecretBytes> ReadPinFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) {
      return MakeError(ErrorCode::kNotFound, "PIN file " + path + " not found");
    }
    return MakeError(ErrorCode::kPermissionDenied,
                     "cannot open PIN file " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return MakeError(ErrorCode::kInvalidArgument, "PIN file " + path + " is not a regular file");
  }
  if ((st.st_mode & S_IRWXO) != 0) {
    ::close(fd);
    return MakeError(ErrorCode::kPermissionDenied,
                     "PIN file " + path + " is accessible to other users (chmod 600)");
  }
  constexpr size_t kMax = 256;
  SecretBytes buf(kMax + 1);
  std::span<uint8_t> raw = buf.Reveal(SecretAccess::Grant());
  size_t got = 0;
  while (got < raw.size()) {
    ssize_t n = ::read(fd, raw.data() + got, raw.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return MakeError(ErrorCode::kInternal, "reading PIN file " + path + " failed");
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (got > kMax) {
    return MakeError(ErrorCode::kInvalidArgument, "PIN file " + path + " is too long");
  }
  if (got > 0 && raw[got - 1] == '\n') --got;
  if (got > 0 && raw[got - 1] == '\r') --got;
  if (got == 0) {
    return MakeError(ErrorCode::kInvalidArgument, "PIN file " + path + " is empty");
  }
  buf.Truncate(got);
  return buf;
}

Result<std::vector<uint8_t>> RsaSpkiFromComponents(std::span<const uint8_t> modulus,
                                                   std::span<const uint8_t> exponent) {
  std::unique_ptr<BIGNUM, BnFree> n(
      BN_bin2bn(modulus.data(), static_cast<int>(modulus.size()), nullptr));
  std::unique_ptr<BIGNUM, BnFree> e(
      BN_bin2bn(exponent.data(), static_cast<int>(exponent.size()), nullptr));
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  if (!n || !e || !bld) return OpensslError("BN_bin2bn");
  if (OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return OpensslError("OSSL_PARAM_BLD_push_BN");
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) {
    return OpensslError("EVP_PKEY_fromdata_init");
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return OpensslError("EVP_PKEY_fromdata");
  }
  std::unique_ptr<EVP_PKEY, PkeyFree> pkey(raw);
  int len = i2d_PUBKEY(pkey.get(), nullptr);
  if (len <= 0) return OpensslError("i2d_PUBKEY");
  std::vector<uint8_t> der(static_cast<size_t>(len));
  unsigned char* p = der.data();
  if (i2d_PUBKEY(pkey.get(), &p) != len) return OpensslError("i2d_PUBKEY");
  return der;
}

Result<std::vector<uint8_t>> OaepEncrypt(std::span<const uint8_t> spki_der,
                                         std::span<const uint8_t> plaintext, OaepHash hash) {
  const unsigned char* p = spki_der.data();
  std::unique_ptr<EVP_PKEY, PkeyFree> pkey(
      d2i_PUBKEY(nullptr, &p, static_cast<long>(spki_der.size())));
  if (!pkey) return OpensslError("d2i_PUBKEY");
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new(pkey.get(), nullptr));
  const EVP_MD* md = hash == OaepHash::kSha1 ? EVP_sha1() : EVP_sha256();
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), md) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md) != 1) {
    return OpensslError("OAEP encrypt setup");
  }
  size_t out_len = 0;
  if (EVP_PKEY_encrypt(ctx.get(), nullptr, &out_len, plaintext.data(), plaintext.size()) != 1) {
    return OpensslError("EVP_PKEY_encrypt");
  }
  std::vector<uint8_t> out(out_len);
  if (EVP_PKEY_encrypt(ctx.get(), out.data(), &out_len, plaintext.data(), plaintext.size()) != 1) {
    return OpensslError("EVP_PKEY_encrypt");
  }
  out.resize(out_len);
  return out;
}

}  // namespace onionmail::hsm::pkcs11
