// Tpm2Token: hsm::Token over tss2-esys (swtpm in tests, /dev/tpmrm0 in
// production). Created through OpenTpm2Token (hsm/token.h); the concrete
// class is visible for tests only (AttemptPrivateKeyExport).
//
// Contract (in addition to hsm/token.h):
//  - Open connects (TCTI string from the options; never auto-probed), starts
//    the TPM if needed, re-creates the storage primary from a fixed ECC P-256
//    template, loads the key blobs key_dir/hmac.tpm2, key_dir/rsa.tpm2 and
//    key_dir/tls-ec.tpm2 when present and runs the OAEP self-test (SHA-256,
//    else SHA-1). An unreachable TPM is kUnavailable "TPM not reachable at
//    <tcti>"; a wrong authValue is kUnauthenticated. Without blobs Open
//    succeeds and every key operation returns kFailedPrecondition "not
//    provisioned" until Provision().
//  - The authValue is the auth_file content without one trailing newline; if
//    longer than 32 bytes (the SHA-256 digest size, the TPM's limit) its
//    SHA-256 digest is used instead.
//  - With pcrs, objects carry authPolicy = PolicyPCR(sha256: pcrs at
//    provision time) + PolicyAuthValue and are used through a salted policy
//    session; otherwise through a salted HMAC session. Both encrypt
//    parameters (AES-128-CFB).
//  - Resident keys (tpm2_resident.cc): the TLS key and the HMAC key are
//    loaded at their first use and stay loaded, with one salted session
//    (continueSession) that authorises every use of them; a policy session
//    is satisfied again before each use. So a TLS signature or an HMAC is
//    one TPM command (three with pcrs). Any failure on that path flushes
//    them (the next call loads them again), as do Provision, the operations
//    that load another key (RSA; each of those loads it, uses it through a
//    session of its own and flushes both) and the end of the connection.
//    At most the primary and the two resident keys are loaded at once
//    (swtpm and TPMs without a resource manager have 3 transient slots).
//    Connect flushes leftover transient objects, and, when the TCTI reaches
//    the TPM directly (swtpm, mssim, /dev/tpm<N>: TctiIsDirect), the
//    sessions a client that died left behind.
//  - On such a direct TCTI, every call (and the destructor) takes its turn
//    through key_dir/tpm2.lock (turn_lock.h; Open creates it, 0600): when
//    another client (onionmailctl next to the server) connected since this
//    one's last call, this one forgets its handles without flushing them and
//    connects again, so it never uses a handle that now names another's
//    object. Open fails with kUnavailable when the lock cannot be opened.
//  - A transport error closes the connection and returns kUnavailable; the
//    next call reconnects (and flushes leftover transient objects).
//  - The TLS key (tpm2_tls_key.cc) is the blob key_dir/tls-ec.tpm2: ECC
//    NIST P-256, scheme ECDSA/SHA-256, kdf and symmetric null, attributes
//    sign|fixedTPM|fixedParent|sensitiveDataOrigin plus userWithAuth, or
//    with pcrs the same authPolicy as the other objects (neither restricted
//    nor decrypt). Provision adds it to a key_dir provisioned before it
//    existed (hmac.tpm2 and rsa.tpm2 are kept untouched). Its public key is
//    cached at load as DER SPKI (named curve, uncompressed point).
//    TlsPublicKey/TlsSign: kNotFound when the other two blobs exist but
//    tls-ec.tpm2 does not; kFailedPrecondition "not provisioned" when the
//    token holds no complete older provisioning either. TlsSign checks the
//    digest size (32) before anything else, signs with TPM2_Sign (ECDSA,
//    SHA-256, NULL hashcheck ticket) under the resident keys' session
//    without parameter encryption (the digest is a TLS transcript hash and
//    the signature goes to the client: neither is secret; the authValue
//    stays off the bus all the same), and counts one operation. A tls-ec.tpm2
//    that is not such a key is kDataLoss at Open.
//  - Erasable secrets (tpm2_erasable.cc) live in two owner-hierarchy NV
//    indices, kErasableNvBase (0x01800F00) + epoch % 2, each 40 bytes:
//    epoch (u64 big-endian) || 32 bytes from TPM2_GetRandom. They carry the
//    objects' authValue (AUTHREAD|AUTHWRITE) or, with pcrs, their policy
//    (POLICYREAD|POLICYWRITE: PolicyPCR + PolicyAuthValue). The owner
//    hierarchy auth is assumed empty, as for the storage primary. Erase
//    overwrites the index with zeros, then undefines it. A key blob reloadable
//    under the primary could not be erased this way, hence NV. At most two
//    epochs live at once: a third is kResourceExhausted. Reading the stored
//    epoch needs the index's authorisation, so with pcrs and changed PCRs
//    every erasable call is kPermissionDenied (no DA count: a policy
//    failure). An index there that is not shaped like ours (size, nameAlg,
//    attributes) is never read, overwritten or undefined:
//    kFailedPrecondition. Create, derive and erase each count one operation;
//    ErasableEpochs counts none.
#pragma once

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "hsm/token.h"
#include "hsm/tpm2/esys_support.h"
#include "hsm/tpm2/turn_lock.h"

namespace onionmail::hsm::tpm2 {

// First of the two NV indices holding erasable secrets (TCG owner range).
inline constexpr TPM2_HANDLE kErasableNvBase = 0x01800F00;

class ErasableSlots;  // tpm2_erasable.cc

class Tpm2Token final : public Token {
 public:
  static Result<std::unique_ptr<Tpm2Token>> Open(const Tpm2Options& options);
  ~Tpm2Token() override;

  std::string_view backend_name() const override { return "tpm2"; }
  Result<void> Provision(int rsa_bits) override;
  Result<std::array<uint8_t, 32>> Hmac(std::span<const uint8_t> data) override;
  Result<std::vector<uint8_t>> ServerPublicKey() override;
  Result<std::vector<uint8_t>> RsaPrivateRaw(std::span<const uint8_t> input) override;
  Result<std::vector<uint8_t>> TlsPublicKey() override;
  Result<std::vector<uint8_t>> TlsSign(std::span<const uint8_t> digest) override;
  Result<SecretBytes> RsaDecryptOaep(std::span<const uint8_t> ciphertext) override;
  OaepHash oaep_hash() const override { return oaep_hash_; }
  Result<void> Probe() override;
  uint64_t operations() const override { return operations_.load(); }
  Result<void> CreateErasable(uint64_t epoch) override;
  Result<SecretBytes> DeriveErasable(uint64_t epoch, std::span<const uint8_t> label) override;
  Result<void> EraseErasable(uint64_t epoch) override;
  Result<std::vector<uint64_t>> ErasableEpochs() override;

  enum class ExportTarget { kRsa, kTls };
  // Tries TPM2_Duplicate of the RSA key (or the TLS key). Both keys are
  // fixedTPM|fixedParent, so the TPM must refuse: kPermissionDenied. Returns
  // ok only if it worked; a missing key gives the error its other calls give
  // (kFailedPrecondition, or kNotFound for the TLS key of an older token).
  Result<void> AttemptPrivateKeyExport(ExportTarget target = ExportTarget::kRsa);

  // For tests: transient objects plus loaded sessions in the TPM, as this
  // connection sees them (through a resource manager: its own only).
  Result<int> LoadedHandlesForTest();

  std::string hmac_blob_path() const { return options_.key_dir + "/hmac.tpm2"; }
  std::string rsa_blob_path() const { return options_.key_dir + "/rsa.tpm2"; }
  std::string tls_blob_path() const { return options_.key_dir + "/tls-ec.tpm2"; }

 private:
  explicit Tpm2Token(Tpm2Options options);
  friend class ErasableSlots;

  // All below run with mu_ held.
  Result<void> Connect();
  void Disconnect();
  // Disconnects without flushing anything: the handles may name another
  // client's objects by now.
  void ForgetConnection();
  Result<void> EnsureConnected();
  // Takes this client's turn (direct TCTIs; the caller holds a TurnScope),
  // forgets a connection another client has superseded, then EnsureConnected.
  Result<void> BeginTurn();
  Error Fail(TSS2_RC rc, std::string_view command);
  Result<void> LoadBlobs();
  Result<void> RunOaepSelfTest();
  Result<TPM2B_DIGEST> PolicyDigest();
  Result<ESYS_TR> StartSession(TPM2_SE type);
  // tpm2_resident.cc: loads `blob` and returns an authorisation session
  // for it (policy or HMAC). Both are flushed by the guards. Drops the
  // resident keys first.
  Result<void> LoadForUse(const KeyBlob& blob, std::unique_ptr<HandleGuard>* object,
                          std::unique_ptr<HandleGuard>* session);
  // tpm2_resident.cc. The policy flag of `blob`, or kFailedPrecondition when
  // it has a policy and no pcrs are configured.
  Result<bool> NeedsPolicy(const KeyBlob& blob) const;
  Result<ESYS_TR> LoadWithAuth(const KeyBlob& blob);  // Load + SetAuth
  Result<void> SatisfyPolicy(ESYS_TR session);        // PolicyPCR + PolicyAuthValue
  // Loads `blob` into *slot unless it is there, and
  // returns the reused session, ready to authorise one use of it. The caller
  // calls DropResidents() when anything on the way or the use itself fails.
  Result<ESYS_TR> UseResident(const KeyBlob& blob, ESYS_TR* slot);
  void DropResidents();  // flushes the resident keys and their session
  // At connect, only when TctiIsDirect: flushes the sessions a client that
  // died left in a TPM without resource manager (a kept session would
  // otherwise fill its 3 session slots after a few restarts of the key role).
  void FlushLeftoverSessions();
  TPM2B_AUTH AuthValue() const;  // of the objects; the caller wipes it
  Result<KeyBlob> CreateKey(const TPM2B_PUBLIC& templ);
  Result<SecretBytes> Decrypt(std::span<const uint8_t> input, const TPMT_RSA_DECRYPT& scheme);
  Result<SecretBytes> DecryptOaepLocked(std::span<const uint8_t> ciphertext, OaepHash hash);
  Result<void> RequireKey(const std::optional<KeyBlob>& blob, const std::string& path);
  // tpm2_tls_key.cc: reads and checks tls-ec.tpm2 when present; creates the
  // TLS key under `policy` when missing; the kNotFound/kFailedPrecondition
  // rule of TlsPublicKey/TlsSign.
  Result<void> LoadTlsBlob();
  Result<void> ProvisionTlsKey(const TPM2B_DIGEST& policy);
  Result<void> RequireTlsKey();
  // Locks, connects if needed, runs f, tears the connection down after a
  // transport error.
  template <typename F>
  auto Run(F&& f) -> decltype(f());
  // Run, and when f failed in a way that left the connection unusable
  // (ClassifyRc's reconnect: the TPM was reset, or another client of a TPM
  // without resource manager, e.g. onionmailctl next to the server, flushed
  // this one's handles), connects again and runs f once more, so that no TLS
  // handshake or login fails for it. Only for operations that change nothing
  // in the TPM (signatures, HMACs, decryptions): running them twice is harmless.
  template <typename F>
  auto RunRetrying(F&& f) -> decltype(f());
  // Logs why RunRetrying connects again (the failure, never a secret).
  void NoteReconnect(const Error& cause);

  Tpm2Options options_;
  SecretBytes auth_;
  std::mutex mu_;
  std::unique_ptr<TurnLock> turns_;  // direct TCTIs only
  uint64_t connection_id_ = 0;       // recorded in turns_ at Connect
  TSS2_TCTI_CONTEXT* tcti_ = nullptr;
  ESYS_CONTEXT* esys_ = nullptr;
  ESYS_TR primary_ = ESYS_TR_NONE;
  ESYS_TR resident_tls_ = ESYS_TR_NONE;  // tpm2_resident.cc
  ESYS_TR resident_hmac_ = ESYS_TR_NONE;
  ESYS_TR use_session_ = ESYS_TR_NONE;  // authorises the resident keys
  bool use_session_is_policy_ = false;
  bool reconnect_needed_ = false;
  std::optional<KeyBlob> hmac_blob_;
  std::optional<KeyBlob> rsa_blob_;
  std::vector<uint8_t> public_der_;
  std::optional<KeyBlob> tls_blob_;
  std::vector<uint8_t> tls_public_der_;
  OaepHash oaep_hash_ = OaepHash::kSha256;
  std::atomic<uint64_t> operations_{0};
};

template <typename F>
auto Tpm2Token::Run(F&& f) -> decltype(f()) {
  std::lock_guard<std::mutex> lock(mu_);
  TurnScope turn(turns_.get());
  if (auto c = BeginTurn(); !c.ok()) return c.error();
  auto r = f();
  if (reconnect_needed_) Disconnect();
  return r;
}

template <typename F>
auto Tpm2Token::RunRetrying(F&& f) -> decltype(f()) {
  std::lock_guard<std::mutex> lock(mu_);
  TurnScope turn(turns_.get());
  if (auto c = BeginTurn(); !c.ok()) return c.error();
  auto r = f();
  if (!r.ok() && reconnect_needed_) {
    Disconnect();
    if (EnsureConnected().ok()) {
      NoteReconnect(r.error());
      r = f();
    }
  }
  if (reconnect_needed_) Disconnect();
  return r;
}

}  // namespace onionmail::hsm::tpm2
