#include "hsm/tpm2/tpm2_token.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "base/log.h"
#include "hsm/tpm2/esys_libctx_pool.h"

namespace onionmail::hsm::tpm2 {
namespace {

constexpr std::string_view kLog = "tpm2";
constexpr size_t kMaxAuthBytes = 32;  // digest size of the objects' nameAlg

// Reads the auth file into a SecretBytes (see the header for the rule).
Result<SecretBytes> ReadAuthFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const ErrorCode code = errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kUnavailable;
    return MakeError(code, "cannot open TPM auth file " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (fstat(fd, &st) == 0 && (st.st_mode & 077) != 0) {
    log::Warning(kLog, "TPM auth file " + path + " is readable by group or others");
  }
  SecretBytes buf(4096);
  auto raw = buf.Reveal(SecretAccess::Grant());
  size_t len = 0;
  for (;;) {
    const ssize_t n = read(fd, raw.data() + len, raw.size() - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      return MakeError(ErrorCode::kUnavailable, "cannot read TPM auth file " + path);
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
    if (len == raw.size()) {
      close(fd);
      return MakeError(ErrorCode::kInvalidArgument, "TPM auth file too large: " + path);
    }
  }
  close(fd);
  if (len > 0 && raw[len - 1] == '\n') --len;
  if (len > 0 && raw[len - 1] == '\r') --len;
  if (len <= kMaxAuthBytes) {
    buf.Truncate(len);
    return buf;
  }
  SecretBytes digest(32);
  unsigned int out_len = 0;
  if (EVP_Digest(raw.data(), len, digest.Reveal(SecretAccess::Grant()).data(), &out_len,
                 EVP_sha256(), nullptr) != 1) {
    return MakeError(ErrorCode::kInternal, "OpenSSL: SHA-256 of the auth value failed");
  }
  return digest;
}

// OpenSSL RSA-OAEP encryption with the public key (for the self-test).
Result<std::vector<uint8_t>> OaepEncrypt(const std::vector<uint8_t>& spki,
                                         std::span<const uint8_t> plain, OaepHash hash) {
  const uint8_t* p = spki.data();
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())), &EVP_PKEY_free);
  if (!key) return MakeError(ErrorCode::kInternal, "OpenSSL: cannot parse the TPM public key");
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new(key.get(), nullptr), &EVP_PKEY_CTX_free);
  const EVP_MD* md = hash == OaepHash::kSha256 ? EVP_sha256() : EVP_sha1();
  size_t out_len = 0;
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), md) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md) != 1 ||
      EVP_PKEY_encrypt(ctx.get(), nullptr, &out_len, plain.data(), plain.size()) != 1) {
    return MakeError(ErrorCode::kInternal, "OpenSSL: OAEP encryption setup failed");
  }
  std::vector<uint8_t> out(out_len);
  if (EVP_PKEY_encrypt(ctx.get(), out.data(), &out_len, plain.data(), plain.size()) != 1) {
    return MakeError(ErrorCode::kInternal, "OpenSSL: OAEP encryption failed");
  }
  out.resize(out_len);
  return out;
}

TPM2B_AUTH ToAuth(const SecretBytes& secret) {
  TPM2B_AUTH a{};
  auto raw = secret.Reveal(SecretAccess::Grant());
  ONIONMAIL_CHECK(raw.size() <= kMaxAuthBytes);
  a.size = static_cast<UINT16>(raw.size());
  if (!raw.empty()) std::memcpy(a.buffer, raw.data(), raw.size());
  return a;
}

}  // namespace

TPM2B_AUTH Tpm2Token::AuthValue() const { return ToAuth(auth_); }

Tpm2Token::Tpm2Token(Tpm2Options options) : options_(std::move(options)) {}

Tpm2Token::~Tpm2Token() {
  std::lock_guard<std::mutex> lock(mu_);
  TurnScope turn(turns_.get());
  if (turns_ != nullptr && esys_ != nullptr) {
    auto ours = turns_->Lock().ok() ? turns_->IsLast(connection_id_) : Result<bool>(false);
    if (!ours.ok() || !*ours) ForgetConnection();
  }
  Disconnect();
}

Result<std::unique_ptr<Tpm2Token>> Tpm2Token::Open(const Tpm2Options& options) {
  if (options.tcti.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "TPM: no TCTI configured (e.g. device:/dev/tpmrm0)");
  }
  if (options.key_dir.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "TPM: no key_dir configured");
  }
  ONIONMAIL_RETURN_IF_ERROR(PcrSelection(options.pcrs));
  std::unique_ptr<Tpm2Token> token(new Tpm2Token(options));
  if (TctiIsDirect(options.tcti)) {
    // The lock lives in key_dir, made here as Provision would make it.
    if (mkdir(options.key_dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return MakeError(ErrorCode::kUnavailable,
                       "cannot create " + options.key_dir + ": " + std::strerror(errno));
    }
    auto turns = TurnLock::Open(options.key_dir + "/tpm2.lock");
    if (!turns.ok()) return turns.error();
    token->turns_ = std::move(turns).value();
  }
  if (!options.auth_file.empty()) {
    auto auth = ReadAuthFile(options.auth_file);
    if (!auth.ok()) return auth.error();
    token->auth_ = std::move(auth).value();
  }
  auto r = token->Run([&]() -> Result<void> {
    ONIONMAIL_RETURN_IF_ERROR(token->LoadBlobs());
    return token->RunOaepSelfTest();
  });
  if (!r.ok()) return r.error();
  return token;
}

Result<void> Tpm2Token::Connect() {
  const std::string where = "TPM not reachable at " + options_.tcti;
  static const bool pooled = [] {
    const bool on = EnableEsysLibCtxPool();
    if (!on) log::Warning(kLog, "tss2-esys's OpenSSL contexts are not reused (slower TPM calls)");
    return on;
  }();
  (void)pooled;
  TSS2_RC rc = Tss2_TctiLdr_Initialize(options_.tcti.c_str(), &tcti_);
  if (rc != TSS2_RC_SUCCESS) {
    tcti_ = nullptr;
    return MakeError(ErrorCode::kUnavailable,
                     where + " (" + ClassifyRc(rc, "TCTI init", options_.tcti).error.message + ")");
  }
  rc = Esys_Initialize(&esys_, tcti_, nullptr);
  if (rc != TSS2_RC_SUCCESS) {
    esys_ = nullptr;
    Disconnect();
    return MakeError(ErrorCode::kUnavailable, where + " (Esys_Initialize failed)");
  }
  rc = Esys_Startup(esys_, TPM2_SU_CLEAR);
  if (rc != TSS2_RC_SUCCESS && (rc & 0xFFFF) != TPM2_RC_INITIALIZE) {
    Error e = ClassifyRc(rc, "Esys_Startup", options_.tcti).error;
    Disconnect();
    return MakeError(ErrorCode::kUnavailable, where + " (" + e.message + ")");
  }
  if (turns_ != nullptr) {
    // Recorded before the flushes below: should this connection fail half
    // way, the client whose handles were flushed still connects again.
    auto id = TurnLock::NewConnectionId();
    Result<void> recorded = id.ok() ? turns_->Record(*id) : Result<void>(id.error());
    if (!recorded.ok()) {
      Disconnect();
      return MakeError(ErrorCode::kUnavailable, where + " (" + recorded.error().message + ")");
    }
    connection_id_ = *id;
  }
  // Without a resource manager, objects left by a crashed client stay
  // loaded and the TPM (swtpm: 3 slots) runs out of object memory.
  TPMI_YES_NO more = TPM2_NO;
  EsysOut<TPMS_CAPABILITY_DATA> caps;
  rc = Esys_GetCapability(esys_, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES,
                          TPM2_TRANSIENT_FIRST, TPM2_MAX_CAP_HANDLES, &more, caps.out());
  if (rc != TSS2_RC_SUCCESS) {
    Error e = ClassifyRc(rc, "Esys_GetCapability", options_.tcti).error;
    Disconnect();
    return MakeError(ErrorCode::kUnavailable, where + " (" + e.message + ")");
  }
  const TPML_HANDLE& handles = caps->data.handles;
  for (uint32_t i = 0; i < handles.count; ++i) {
    ESYS_TR tr = ESYS_TR_NONE;
    if (Esys_TR_FromTPMPublic(esys_, handles.handle[i], ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                              &tr) == TSS2_RC_SUCCESS) {
      Esys_FlushContext(esys_, tr);
    }
  }
  if (handles.count > 0) {
    log::Warning(kLog, "flushed " + std::to_string(handles.count) +
                           " leftover transient object(s) at " + options_.tcti);
  }
  FlushLeftoverSessions();
  TPM2B_SENSITIVE_CREATE sensitive{};
  TPM2B_PUBLIC templ = PrimaryTemplate();
  TPM2B_DATA outside{};
  TPML_PCR_SELECTION creation_pcr{};
  rc = Esys_CreatePrimary(esys_, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                          &sensitive, &templ, &outside, &creation_pcr, &primary_, nullptr, nullptr,
                          nullptr, nullptr);
  if (rc != TSS2_RC_SUCCESS) {
    primary_ = ESYS_TR_NONE;
    RcClass c = ClassifyRc(rc, "Esys_CreatePrimary(owner)", options_.tcti);
    Disconnect();
    if (c.error.code == ErrorCode::kUnauthenticated) return c.error;  // owner auth set
    return MakeError(ErrorCode::kUnavailable, where + " (" + c.error.message + ")");
  }
  return Ok();
}

void Tpm2Token::Disconnect() {
  DropResidents();
  if (esys_ != nullptr) {
    if (primary_ != ESYS_TR_NONE) Esys_FlushContext(esys_, primary_);
    Esys_Finalize(&esys_);
  }
  esys_ = nullptr;
  primary_ = ESYS_TR_NONE;
  if (tcti_ != nullptr) Tss2_TctiLdr_Finalize(&tcti_);
  tcti_ = nullptr;
  reconnect_needed_ = false;
}

Result<void> Tpm2Token::EnsureConnected() {
  if (esys_ != nullptr) return Ok();
  return Connect();
}

void Tpm2Token::NoteReconnect(const Error& cause) {
  log::Info(kLog, "connected to the TPM again after: " + cause.message + "; trying once more");
}

Error Tpm2Token::Fail(TSS2_RC rc, std::string_view command) {
  RcClass c = ClassifyRc(rc, command, options_.tcti);
  if (c.reconnect) reconnect_needed_ = true;
  return c.error;
}

Result<void> Tpm2Token::LoadBlobs() {
  auto hmac = ReadKeyBlob(hmac_blob_path());
  if (hmac.ok()) {
    if (hmac->pub.publicArea.type != TPM2_ALG_KEYEDHASH) {
      return MakeError(ErrorCode::kDataLoss, "not a TPM HMAC key blob: " + hmac_blob_path());
    }
    hmac_blob_ = *hmac;
  } else if (hmac.error().code != ErrorCode::kNotFound) {
    return hmac.error();
  }
  auto rsa = ReadKeyBlob(rsa_blob_path());
  if (rsa.ok()) {
    auto der = RsaPublicDer(rsa->pub);
    if (!der.ok())
      return MakeError(ErrorCode::kDataLoss, der.error().message + ": " + rsa_blob_path());
    rsa_blob_ = *rsa;
    public_der_ = std::move(der).value();
  } else if (rsa.error().code != ErrorCode::kNotFound) {
    return rsa.error();
  }
  ONIONMAIL_RETURN_IF_ERROR(LoadTlsBlob());
  if (!hmac_blob_ || !rsa_blob_) {
    log::Info(kLog, "TPM key blobs missing in " + options_.key_dir + " (not provisioned yet)");
  } else if (!tls_blob_) {
    log::Info(kLog, "TPM TLS key missing in " + options_.key_dir + " (provisioning adds it)");
  }
  return Ok();
}

Result<void> Tpm2Token::RequireKey(const std::optional<KeyBlob>& blob, const std::string& path) {
  if (blob) return Ok();
  return MakeError(ErrorCode::kFailedPrecondition,
                   "TPM token not provisioned: missing " + path + " (run onionmailctl init)");
}

Result<ESYS_TR> Tpm2Token::StartSession(TPM2_SE type) {
  TPMT_SYM_DEF sym = SessionSymmetric();
  ESYS_TR session = ESYS_TR_NONE;
  TSS2_RC rc = Esys_StartAuthSession(esys_, primary_, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                     ESYS_TR_NONE, nullptr, type, &sym, TPM2_ALG_SHA256, &session);
  if (rc != TSS2_RC_SUCCESS) return Fail(rc, "Esys_StartAuthSession");
  rc = Esys_TRSess_SetAttributes(
      esys_, session, TPMA_SESSION_DECRYPT | TPMA_SESSION_ENCRYPT | TPMA_SESSION_CONTINUESESSION,
      0xff);
  if (rc != TSS2_RC_SUCCESS) {
    Esys_FlushContext(esys_, session);
    return Fail(rc, "Esys_TRSess_SetAttributes");
  }
  return session;
}

Result<TPM2B_DIGEST> Tpm2Token::PolicyDigest() {
  auto sel = PcrSelection(options_.pcrs);
  if (!sel.ok()) return sel.error();
  TPMT_SYM_DEF none{};
  none.algorithm = TPM2_ALG_NULL;
  ESYS_TR trial = ESYS_TR_NONE;
  TSS2_RC rc =
      Esys_StartAuthSession(esys_, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                            ESYS_TR_NONE, nullptr, TPM2_SE_TRIAL, &none, TPM2_ALG_SHA256, &trial);
  if (rc != TSS2_RC_SUCCESS) return Fail(rc, "Esys_StartAuthSession(trial)");
  HandleGuard guard(esys_, trial);
  TPM2B_DIGEST current{};  // empty: the TPM uses the current PCR values
  rc = Esys_PolicyPCR(esys_, trial, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &current, &*sel);
  if (rc != TSS2_RC_SUCCESS) return Fail(rc, "Esys_PolicyPCR(trial)");
  rc = Esys_PolicyAuthValue(esys_, trial, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE);
  if (rc != TSS2_RC_SUCCESS) return Fail(rc, "Esys_PolicyAuthValue(trial)");
  EsysOut<TPM2B_DIGEST> digest;
  rc = Esys_PolicyGetDigest(esys_, trial, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, digest.out());
  if (rc != TSS2_RC_SUCCESS) return Fail(rc, "Esys_PolicyGetDigest");
  return *digest.get();
}

Result<KeyBlob> Tpm2Token::CreateKey(const TPM2B_PUBLIC& templ) {
  auto s = StartSession(TPM2_SE_HMAC);
  if (!s.ok()) return s.error();
  HandleGuard session(esys_, *s);
  TPM2B_SENSITIVE_CREATE sensitive{};
  sensitive.sensitive.userAuth = ToAuth(auth_);
  TPM2B_DATA outside{};
  TPML_PCR_SELECTION creation_pcr{};
  EsysOut<TPM2B_PRIVATE> priv;
  EsysOut<TPM2B_PUBLIC> pub;
  TSS2_RC rc =
      Esys_Create(esys_, primary_, session.get(), ESYS_TR_NONE, ESYS_TR_NONE, &sensitive, &templ,
                  &outside, &creation_pcr, priv.out(), pub.out(), nullptr, nullptr, nullptr);
  OPENSSL_cleanse(&sensitive, sizeof(sensitive));
  if (rc != TSS2_RC_SUCCESS) return Fail(rc, "Esys_Create");
  operations_.fetch_add(1);
  KeyBlob blob;
  blob.pub = *pub.get();
  blob.priv = *priv.get();
  return blob;
}

Result<void> Tpm2Token::Provision(int rsa_bits) {
  if (rsa_bits != 1024 && rsa_bits != 2048 && rsa_bits != 3072 && rsa_bits != 4096) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "TPM: unsupported RSA key size " + std::to_string(rsa_bits));
  }
  return Run([&]() -> Result<void> {
    DropResidents();  // the blobs may change below
    if (mkdir(options_.key_dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return MakeError(ErrorCode::kUnavailable, "cannot create TPM key_dir " + options_.key_dir +
                                                    ": " + std::strerror(errno));
    }
    ONIONMAIL_RETURN_IF_ERROR(LoadBlobs());  // created meanwhile by another run?
    TPM2B_DIGEST policy{};
    if ((!hmac_blob_ || !rsa_blob_ || !tls_blob_) && !options_.pcrs.empty()) {
      auto digest = PolicyDigest();
      if (!digest.ok()) return digest.error();
      policy = *digest;
    }
    if (!hmac_blob_) {
      auto blob = CreateKey(HmacKeyTemplate(policy));
      if (!blob.ok()) return blob.error();
      ONIONMAIL_RETURN_IF_ERROR(WriteKeyBlob(hmac_blob_path(), *blob));
      hmac_blob_ = *blob;
      log::Info(kLog, "created TPM HMAC key " + hmac_blob_path());
    }
    if (!tls_blob_) ONIONMAIL_RETURN_IF_ERROR(ProvisionTlsKey(policy));
    if (!rsa_blob_) {
      auto blob = CreateKey(RsaKeyTemplate(rsa_bits, policy));
      if (!blob.ok()) return blob.error();
      auto der = RsaPublicDer(blob->pub);
      if (!der.ok()) return der.error();
      ONIONMAIL_RETURN_IF_ERROR(WriteKeyBlob(rsa_blob_path(), *blob));
      rsa_blob_ = *blob;
      public_der_ = std::move(der).value();
      log::Info(kLog, "created TPM RSA-" + std::to_string(rsa_bits) + " key " + rsa_blob_path());
      return RunOaepSelfTest();
    }
    if (rsa_blob_->pub.publicArea.parameters.rsaDetail.keyBits != rsa_bits) {
      log::Warning(kLog,
                   "existing TPM RSA key has " +
                       std::to_string(rsa_blob_->pub.publicArea.parameters.rsaDetail.keyBits) +
                       " bits, not " + std::to_string(rsa_bits) + "; keeping it");
    }
    return Ok();
  });
}

Result<std::array<uint8_t, 32>> Tpm2Token::Hmac(std::span<const uint8_t> data) {
  TPM2B_MAX_BUFFER buffer{};
  if (data.size() > sizeof(buffer.buffer)) {
    return MakeError(ErrorCode::kInvalidArgument, "TPM HMAC input longer than 1024 bytes");
  }
  buffer.size = static_cast<UINT16>(data.size());
  if (!data.empty()) std::memcpy(buffer.buffer, data.data(), data.size());
  // The input may carry a password factor (KeyStore::InboxWrapSecret).
  struct WipeOnExit {
    TPM2B_MAX_BUFFER& b;
    ~WipeOnExit() { WipeMemory(b.buffer, sizeof(b.buffer)); }
  } wipe{buffer};
  return RunRetrying([&]() -> Result<std::array<uint8_t, 32>> {
    ONIONMAIL_RETURN_IF_ERROR(RequireKey(hmac_blob_, hmac_blob_path()));
    auto session = UseResident(*hmac_blob_, &resident_hmac_);
    if (!session.ok()) {
      DropResidents();
      return session.error();
    }
    // The MAC is a secret: the response is encrypted too.
    TSS2_RC rc =
        Esys_TRSess_SetAttributes(esys_, *session, TPMA_SESSION_DECRYPT | TPMA_SESSION_ENCRYPT,
                                  TPMA_SESSION_DECRYPT | TPMA_SESSION_ENCRYPT);
    const char* step = "Esys_TRSess_SetAttributes";
    EsysOut<TPM2B_DIGEST> out;
    if (rc == TSS2_RC_SUCCESS) {
      step = "Esys_HMAC";
      rc = Esys_HMAC(esys_, resident_hmac_, *session, ESYS_TR_NONE, ESYS_TR_NONE, &buffer,
                     TPM2_ALG_SHA256, out.out());
    }
    if (rc != TSS2_RC_SUCCESS) {
      Error e = Fail(rc, step);
      DropResidents();
      return e;
    }
    if (out->size != 32) return MakeError(ErrorCode::kInternal, "TPM HMAC has wrong size");
    operations_.fetch_add(1);
    std::array<uint8_t, 32> mac;
    std::memcpy(mac.data(), out->buffer, mac.size());
    return mac;
  });
}

Result<std::vector<uint8_t>> Tpm2Token::ServerPublicKey() {
  std::lock_guard<std::mutex> lock(mu_);
  ONIONMAIL_RETURN_IF_ERROR(RequireKey(rsa_blob_, rsa_blob_path()));
  return public_der_;
}

Result<SecretBytes> Tpm2Token::Decrypt(std::span<const uint8_t> input,
                                       const TPMT_RSA_DECRYPT& scheme) {
  ONIONMAIL_RETURN_IF_ERROR(RequireKey(rsa_blob_, rsa_blob_path()));
  const std::vector<uint8_t> modulus = RsaModulus(rsa_blob_->pub);
  if (input.size() != modulus.size()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "TPM RSA input must be exactly " + std::to_string(modulus.size()) + " bytes");
  }
  if (std::memcmp(input.data(), modulus.data(), modulus.size()) >= 0) {
    return MakeError(ErrorCode::kInvalidArgument, "TPM RSA input is not below the modulus");
  }
  TPM2B_PUBLIC_KEY_RSA in{};
  in.size = static_cast<UINT16>(input.size());
  std::memcpy(in.buffer, input.data(), input.size());
  std::unique_ptr<HandleGuard> object, session;
  ONIONMAIL_RETURN_IF_ERROR(LoadForUse(*rsa_blob_, &object, &session));
  TPM2B_DATA label{};
  EsysOut<TPM2B_PUBLIC_KEY_RSA> out;
  TSS2_RC rc = Esys_RSA_Decrypt(esys_, object->get(), session->get(), ESYS_TR_NONE, ESYS_TR_NONE,
                                &in, &scheme, &label, out.out());
  if (rc != TSS2_RC_SUCCESS) return Fail(rc, "Esys_RSA_Decrypt");
  operations_.fetch_add(1);
  return SecretBytes(SecretAccess::Grant(), std::span<const uint8_t>(out->buffer, out->size));
}

Result<std::vector<uint8_t>> Tpm2Token::RsaPrivateRaw(std::span<const uint8_t> input) {
  return RunRetrying([&]() -> Result<std::vector<uint8_t>> {
    TPMT_RSA_DECRYPT scheme{};
    scheme.scheme = TPM2_ALG_NULL;
    auto r = Decrypt(input, scheme);
    if (!r.ok()) return r.error();
    const size_t n = rsa_blob_->pub.publicArea.unique.rsa.size;
    auto raw = r->Reveal(SecretAccess::Grant());
    if (raw.size() > n) return MakeError(ErrorCode::kInternal, "TPM RSA output too long");
    std::vector<uint8_t> out(n - raw.size(), 0);  // the TPM may strip leading zeros
    out.insert(out.end(), raw.begin(), raw.end());
    return out;
  });
}

Result<SecretBytes> Tpm2Token::DecryptOaepLocked(std::span<const uint8_t> ciphertext,
                                                 OaepHash hash) {
  TPMT_RSA_DECRYPT scheme{};
  scheme.scheme = TPM2_ALG_OAEP;
  scheme.details.oaep.hashAlg = hash == OaepHash::kSha256 ? TPM2_ALG_SHA256 : TPM2_ALG_SHA1;
  return Decrypt(ciphertext, scheme);
}

Result<SecretBytes> Tpm2Token::RsaDecryptOaep(std::span<const uint8_t> ciphertext) {
  return RunRetrying([&]() { return DecryptOaepLocked(ciphertext, oaep_hash_); });
}

Result<void> Tpm2Token::RunOaepSelfTest() {
  if (!rsa_blob_) return Ok();
  uint8_t plain[32];
  if (RAND_bytes(plain, sizeof(plain)) != 1) {
    return MakeError(ErrorCode::kInternal, "OpenSSL: RAND_bytes failed");
  }
  Error last = MakeError(ErrorCode::kInternal, "");
  for (OaepHash hash : {OaepHash::kSha256, OaepHash::kSha1}) {
    auto ct = OaepEncrypt(public_der_, plain, hash);
    if (!ct.ok()) return ct.error();
    auto pt = DecryptOaepLocked(*ct, hash);
    if (pt.ok()) {
      auto got = pt->Reveal(SecretAccess::Grant());
      if (got.size() == sizeof(plain) && CRYPTO_memcmp(got.data(), plain, sizeof(plain)) == 0) {
        oaep_hash_ = hash;
        return Ok();
      }
      last = MakeError(ErrorCode::kInternal, "TPM OAEP self-test returned wrong plaintext");
      continue;
    }
    last = pt.error();
    // Auth, lockout, policy and transport errors are not about the hash.
    if (last.code != ErrorCode::kInvalidArgument && last.code != ErrorCode::kInternal) {
      return last;
    }
  }
  return MakeError(last.code, "TPM OAEP self-test failed (SHA-256 and SHA-1): " + last.message);
}

Result<void> Tpm2Token::Probe() {
  return Run([&]() -> Result<void> {
    TPMI_YES_NO more = TPM2_NO;
    EsysOut<TPMS_CAPABILITY_DATA> caps;
    TSS2_RC rc =
        Esys_GetCapability(esys_, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES,
                           TPM2_PT_MANUFACTURER, 1, &more, caps.out());
    if (rc != TSS2_RC_SUCCESS) return Fail(rc, "Esys_GetCapability");
    return Ok();
  });
}

Result<void> Tpm2Token::AttemptPrivateKeyExport(ExportTarget target) {
  return Run([&]() -> Result<void> {
    const bool tls = target == ExportTarget::kTls;
    const std::string what = tls ? "TLS" : "RSA";
    if (tls) {
      ONIONMAIL_RETURN_IF_ERROR(RequireTlsKey());
    } else {
      ONIONMAIL_RETURN_IF_ERROR(RequireKey(rsa_blob_, rsa_blob_path()));
    }
    const KeyBlob& blob = tls ? *tls_blob_ : *rsa_blob_;
    DropResidents();  // their slots
    ESYS_TR handle = ESYS_TR_NONE;
    TSS2_RC rc = Esys_Load(esys_, primary_, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                           &blob.priv, &blob.pub, &handle);
    if (rc != TSS2_RC_SUCCESS) return Fail(rc, "Esys_Load");
    HandleGuard object(esys_, handle);
    // Duplication needs the ADMIN role: a policy session with
    // PolicyCommandCode(Duplicate). The TPM must refuse anyway.
    auto s = StartSession(TPM2_SE_POLICY);
    if (!s.ok()) return s.error();
    HandleGuard session(esys_, *s);
    rc = Esys_PolicyCommandCode(esys_, session.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                TPM2_CC_Duplicate);
    if (rc != TSS2_RC_SUCCESS) return Fail(rc, "Esys_PolicyCommandCode");
    TPM2B_DATA key_in{};
    TPMT_SYM_DEF_OBJECT sym{};
    sym.algorithm = TPM2_ALG_NULL;
    EsysOut<TPM2B_DATA> key_out;
    EsysOut<TPM2B_PRIVATE> duplicate;
    EsysOut<TPM2B_ENCRYPTED_SECRET> seed;
    rc = Esys_Duplicate(esys_, object.get(), ESYS_TR_RH_NULL, session.get(), ESYS_TR_NONE,
                        ESYS_TR_NONE, &key_in, &sym, key_out.out(), duplicate.out(), seed.out());
    if (rc == TSS2_RC_SUCCESS) {
      log::Error(kLog, "TPM allowed duplication of the " + what + " key");
      return Ok();
    }
    Error e = Fail(rc, "Esys_Duplicate");
    if (reconnect_needed_) return e;
    return MakeError(ErrorCode::kPermissionDenied, "TPM refused to export the " + what +
                                                       " key (fixedTPM|fixedParent): " + e.message);
  });
}

}  // namespace onionmail::hsm::tpm2

namespace onionmail::hsm {

Result<std::unique_ptr<Token>> OpenTpm2Token(const Tpm2Options& options) {
  auto token = tpm2::Tpm2Token::Open(options);
  if (!token.ok()) return token.error();
  return std::unique_ptr<Token>(std::move(token).value());
}

}  // namespace onionmail::hsm
