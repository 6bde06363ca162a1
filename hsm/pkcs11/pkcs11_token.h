// Pkcs11Token: hsm::Token over one PKCS#11 module loaded by path with p11-kit
// (p11_kit_module_load; the host's p11-kit module registry is never read, so
// no other module can be injected). SoftHSM2 in tests; any token in
// production (tpm2-pkcs11, a smart card, a network HSM).
//
// Contract (in addition to hsm/token.h):
//  - The token is found by its label (slot ids change). Open looks again,
//    after C_Finalize and C_Initialize, every 100 ms until
//    options.token_wait_ms while no slot lists it (logged once as a
//    warning). A C_Login that fails with CKR_GENERAL_ERROR, CKR_FUNCTION_FAILED
//    or CKR_DEVICE_ERROR (the module failed before judging the PIN) is tried
//    once more after C_Finalize and C_Initialize, when token_wait_ms > 0 and
//    the token's flags show no failed PIN attempt (CKF_USER_PIN_COUNT_LOW,
//    _FINAL_TRY, _LOCKED) before and after; nothing else is retried, so a
//    wrong PIN (CKR_PIN_INCORRECT) is tried once. One R/W session,
//    logged in as CKU_USER with the PIN read from a file that must not be
//    accessible to "other". The PIN is wiped right after C_Login and read
//    again from the file whenever the object reconnects.
//  - Keys: a 256-bit CKK_GENERIC_SECRET "onionmaild-hmac" (CKM_SHA256_HMAC),
//    an RSA pair "onionmaild-server-rsa" and the TLS key, an EC pair on
//    prime256v1 "onionmaild-tls-ec" (pkcs11_tls_key.cc: CKM_ECDSA only; the
//    SPKI is built from the public object's CKA_EC_POINT). Private keys and
//    the secret key are CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE and not
//    extractable. Provision destroys a public half left without its private
//    key (an interrupted run) before generating a pair; a TLS private key
//    whose public object is gone is never destroyed: Provision and
//    TlsPublicKey return kFailedPrecondition (TlsSign still works).
//  - A device error (token removed, session closed, general error...) is
//    kUnavailable and marks the connection broken; the next call finalizes,
//    re-initializes, finds the token again and logs in. If that login is
//    refused (CKR_PIN_INCORRECT, CKR_PIN_LOCKED: the PIN file changed since
//    Open), the error is kUnauthenticated, logged, and returned by every
//    later call without another C_Login, so the token's attempts are not
//    spent one per mail operation. A fork is detected
//    (pid change) and handled the same way, as p11-kit documents (the child
//    calls C_Initialize again); ReinitializeAfterFork() forces it.
//  - One mutex serialises every call (one session is never shared between
//    threads).
//  - Erasable secrets (pkcs11_erasable.cc): one CKK_GENERIC_SECRET of 32
//    bytes per epoch, made by C_GenerateKey inside the token, labelled
//    "onionmaild-erasable-<epoch in decimal>", CKA_TOKEN, CKA_PRIVATE,
//    CKA_SENSITIVE, not extractable, CKA_SIGN only (CKM_SHA256_HMAC). Erase
//    is C_DestroyObject. Create, derive and erase each count one operation;
//    ErasableEpochs counts none.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "hsm/token.h"

// p11-kit's <p11-kit/pkcs11.h> stays out of this header (only this module
// sees p11-kit); every CK_ULONG-based type below is `unsigned long` and the
// .cc checks that with static_assert.
struct _CK_FUNCTION_LIST;  // CK_FUNCTION_LIST (p11-kit CRYPTOKI_COMPAT name)

namespace onionmail::hsm {

inline constexpr char kPkcs11HmacLabel[] = "onionmaild-hmac";
inline constexpr char kPkcs11RsaLabel[] = "onionmaild-server-rsa";
inline constexpr char kPkcs11TlsLabel[] = "onionmaild-tls-ec";
inline constexpr char kPkcs11ErasableLabelPrefix[] = "onionmaild-erasable-";

// What a test learns about an erasable key object (AuditErasableKey).
struct ErasableKeyAudit {
  bool sensitive = false;          // CKA_SENSITIVE
  bool always_sensitive = false;   // CKA_ALWAYS_SENSITIVE
  bool extractable = true;         // CKA_EXTRACTABLE
  bool never_extractable = false;  // CKA_NEVER_EXTRACTABLE
  bool value_readable = true;      // C_GetAttributeValue(CKA_VALUE) gave bytes
};

class Pkcs11Token final : public Token {
 public:
  // Loads the module, logs in and runs the OAEP self-test when the RSA key
  // exists. See OpenPkcs11Token in hsm/token.h for the errors.
  static Result<std::unique_ptr<Pkcs11Token>> Open(const Pkcs11Options& options);
  ~Pkcs11Token() override;

  Pkcs11Token(const Pkcs11Token&) = delete;
  Pkcs11Token& operator=(const Pkcs11Token&) = delete;

  std::string_view backend_name() const override { return "pkcs11"; }
  Result<void> Provision(int rsa_bits) override;
  Result<std::array<uint8_t, 32>> Hmac(std::span<const uint8_t> data) override;
  Result<std::vector<uint8_t>> ServerPublicKey() override;
  Result<std::vector<uint8_t>> RsaPrivateRaw(std::span<const uint8_t> input) override;
  Result<std::vector<uint8_t>> TlsPublicKey() override;
  Result<std::vector<uint8_t>> TlsSign(std::span<const uint8_t> digest) override;
  Result<SecretBytes> RsaDecryptOaep(std::span<const uint8_t> ciphertext) override;
  OaepHash oaep_hash() const override { return oaep_hash_.load(); }
  Result<void> Probe() override;
  uint64_t operations() const override { return operations_.load(); }
  Result<void> CreateErasable(uint64_t epoch) override;
  Result<SecretBytes> DeriveErasable(uint64_t epoch, std::span<const uint8_t> label) override;
  Result<void> EraseErasable(uint64_t epoch) override;
  Result<std::vector<uint64_t>> ErasableEpochs() override;

  // Drops the inherited session and initializes the module again in this
  // process (call in a child after fork; done implicitly on a pid change).
  Result<void> ReinitializeAfterFork();

  // For tests: tries to read private key material (CKA_PRIVATE_EXPONENT,
  // CKA_PRIME_1 of the RSA key, CKA_VALUE of the HMAC key and of the TLS EC
  // key). Ok ONLY if key bytes came out; CKR_ATTRIBUTE_SENSITIVE gives
  // kPermissionDenied.
  Result<void> AttemptPrivateKeyExport();

  // For tests: the protection attributes of the erasable key of `epoch` and
  // whether its value can be read (any bytes read are wiped at once).
  Result<ErasableKeyAudit> AuditErasableKey(uint64_t epoch);

  // For tests: number of objects visible in the logged-in session.
  Result<size_t> CountObjects();

 private:
  explicit Pkcs11Token(const Pkcs11Options& options) : options_(options) {}

  // All private members below are called with mu_ held.
  Result<void> Connect();              // FindSlot, then OpenSessionAndLogin
  Result<void> OpenSessionAndLogin();  // on the slot FindSlot found
  // C_Initialize (once per connection), then the slot whose token has the
  // label; kNotFound when none has.
  Result<void> FindSlot();
  // After a failed OpenSessionAndLogin: whether Open may log in once more
  // (see the contract above).
  bool LoginMayBeRetried() const;
  // The token's flags from the last FindSlot show a failed PIN attempt.
  bool PinAttemptCounted() const;
  void Disconnect();  // close session, C_Finalize (errors ignored)
  Result<void> EnsureConnected();
  // Maps a failed CK_RV to an Error; device errors mark the connection broken.
  Error Fail(const char* what, unsigned long rv);
  // Objects of class `cls` with label `label` (any label when nullptr).
  Result<std::vector<unsigned long>> FindObjects(unsigned long cls, const char* label);
  Result<std::optional<unsigned long>> FindObject(unsigned long cls, const char* label);
  // Cached per connection (reset on reconnect and by Provision).
  Result<unsigned long> HmacKey();
  Result<unsigned long> RsaKey();
  Result<unsigned long> TlsKey();  // the EC private key (pkcs11_tls_key.cc)
  Result<void> LoadPublicKeyLocked();
  Result<SecretBytes> DecryptOaepLocked(std::span<const uint8_t> ciphertext, OaepHash hash);
  Result<void> OaepSelfTestLocked();
  // pkcs11_tls_key.cc: makes the EC pair unless its private key exists, then
  // loads (and checks) the public key.
  Result<void> ProvisionTlsKeyLocked();
  Result<void> LoadTlsPublicKeyLocked();
  Result<std::vector<uint8_t>> ReadAttribute(unsigned long object, unsigned long type);

  const Pkcs11Options options_;
  std::mutex mu_;
  _CK_FUNCTION_LIST* module_ = nullptr;  // p11-kit managed module
  bool initialized_ = false;             // C_Initialize succeeded
  bool connected_ = false;               // session open and logged in
  pid_t pid_ = 0;                        // process that initialized the module
  unsigned long slot_ = 0;
  unsigned long token_flags_ = 0;    // CK_TOKEN_INFO.flags at the last FindSlot
  unsigned long last_login_rv_ = 0;  // CKR_OK until a C_Login returns
  // Set when a reconnect's login is refused (wrong or locked PIN): every
  // later call returns it without another C_Login.
  std::optional<Error> pin_refused_;
  unsigned long session_ = 0;   // CK_INVALID_HANDLE
  unsigned long hmac_key_ = 0;  // object handles, 0 = not looked up yet
  unsigned long rsa_key_ = 0;
  unsigned long tls_key_ = 0;
  std::optional<std::vector<uint8_t>> public_key_der_;      // cached SPKI
  std::vector<uint8_t> modulus_;                            // big-endian n
  std::optional<std::vector<uint8_t>> tls_public_key_der_;  // cached EC SPKI
  bool self_test_done_ = false;
  std::atomic<OaepHash> oaep_hash_{OaepHash::kSha256};
  std::atomic<uint64_t> operations_{0};
};

}  // namespace onionmail::hsm
