// How Tpm2Token loads and authorises its keys (see tpm2_token.h for the
// contract): the TLS key and the HMAC key stay loaded in the TPM between
// operations, and one salted session authorises every use of them
// (UseResident); the RSA key is loaded with a session of its own for each
// operation (LoadForUse).
//
// Why: a TLS handshake signs once and a POP3 login derives once. Loading the
// key and starting a salted session for each of those costs four more TPM
// commands (StartAuthSession with its ECDH, Load, two FlushContext); on a
// TPM chip those take longer than the signature itself. tss2-esys 3.x on
// OpenSSL 3 also builds a new OpenSSL library context for every hash, HMAC
// and random number it computes, so each command costs the key role a few
// hundred microseconds of CPU as well (docs/benchmarks.md, "The TPM
// backend").
//
// What stays the same: the key blobs, the objects' authValue and the
// session's salt and AES-128-CFB parameter encryption. The authValue never
// crosses the bus (HMAC authorisation), and a policy session is satisfied
// again (PolicyPCR + PolicyAuthValue) before each use, as the TPM resets a
// policy session after it authorised a command.
//
// Also here: forgetting a superseded connection, and BeginTurn, through
// which the clients of a TPM without resource manager take turns
// (turn_lock.h).

#include <openssl/crypto.h>
#include <tss2/tss2_sys.h>

#include <memory>
#include <string>

#include "base/log.h"
#include "hsm/tpm2/tpm2_token.h"

namespace onionmail::hsm::tpm2 {

Result<bool> Tpm2Token::NeedsPolicy(const KeyBlob& blob) const {
  const bool policy = blob.pub.publicArea.authPolicy.size > 0;
  if (policy && options_.pcrs.empty()) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "TPM keys were provisioned with a PCR policy but no pcrs are configured");
  }
  return policy;
}

Result<ESYS_TR> Tpm2Token::LoadWithAuth(const KeyBlob& blob) {
  ESYS_TR handle = ESYS_TR_NONE;
  TSS2_RC rc = Esys_Load(esys_, primary_, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &blob.priv,
                         &blob.pub, &handle);
  if (rc != TSS2_RC_SUCCESS) return Fail(rc, "Esys_Load");
  TPM2B_AUTH auth = AuthValue();
  rc = Esys_TR_SetAuth(esys_, handle, &auth);
  OPENSSL_cleanse(&auth, sizeof(auth));
  if (rc != TSS2_RC_SUCCESS) {
    Esys_FlushContext(esys_, handle);
    return Fail(rc, "Esys_TR_SetAuth");
  }
  return handle;
}

Result<void> Tpm2Token::SatisfyPolicy(ESYS_TR session) {
  auto sel = PcrSelection(options_.pcrs);
  if (!sel.ok()) return sel.error();
  TPM2B_DIGEST current{};  // empty: the TPM uses the current PCR values
  TSS2_RC rc =
      Esys_PolicyPCR(esys_, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &current, &*sel);
  if (rc != TSS2_RC_SUCCESS) return Fail(rc, "Esys_PolicyPCR");
  rc = Esys_PolicyAuthValue(esys_, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE);
  if (rc != TSS2_RC_SUCCESS) return Fail(rc, "Esys_PolicyAuthValue");
  return Ok();
}

Result<void> Tpm2Token::LoadForUse(const KeyBlob& blob, std::unique_ptr<HandleGuard>* object,
                                   std::unique_ptr<HandleGuard>* session) {
  auto policy = NeedsPolicy(blob);
  if (!policy.ok()) return policy.error();
  DropResidents();  // their slots: a TPM without resource manager has 3
  auto handle = LoadWithAuth(blob);
  if (!handle.ok()) return handle.error();
  *object = std::make_unique<HandleGuard>(esys_, *handle);
  auto s = StartSession(*policy ? TPM2_SE_POLICY : TPM2_SE_HMAC);
  if (!s.ok()) return s.error();
  *session = std::make_unique<HandleGuard>(esys_, *s);
  if (!*policy) return Ok();
  return SatisfyPolicy(*s);
}

Result<ESYS_TR> Tpm2Token::UseResident(const KeyBlob& blob, ESYS_TR* slot) {
  auto policy = NeedsPolicy(blob);
  if (!policy.ok()) return policy.error();
  if (*slot == ESYS_TR_NONE) {
    auto handle = LoadWithAuth(blob);
    if (!handle.ok()) return handle.error();
    *slot = *handle;
  }
  if (use_session_ == ESYS_TR_NONE) {
    auto s = StartSession(*policy ? TPM2_SE_POLICY : TPM2_SE_HMAC);
    if (!s.ok()) return s.error();
    use_session_ = *s;
    use_session_is_policy_ = *policy;
  } else if (use_session_is_policy_ != *policy) {
    // Blobs of one provisioning share one authPolicy; a mix means a key_dir
    // put together by hand. Refuse rather than guess.
    return MakeError(ErrorCode::kFailedPrecondition,
                     "TPM key blobs in " + options_.key_dir + " mix policy and authValue keys");
  }
  if (*policy) ONIONMAIL_RETURN_IF_ERROR(SatisfyPolicy(use_session_));
  return use_session_;
}

void Tpm2Token::DropResidents() {
  for (ESYS_TR* h : {&resident_tls_, &resident_hmac_, &use_session_}) {
    if (*h != ESYS_TR_NONE && esys_ != nullptr) Esys_FlushContext(esys_, *h);
    *h = ESYS_TR_NONE;
  }
  use_session_is_policy_ = false;
}

void Tpm2Token::ForgetConnection() {
  resident_tls_ = resident_hmac_ = use_session_ = primary_ = ESYS_TR_NONE;
  use_session_is_policy_ = false;
  Disconnect();
}

Result<void> Tpm2Token::BeginTurn() {
  if (turns_ != nullptr) {
    ONIONMAIL_RETURN_IF_ERROR(turns_->Lock());
    if (esys_ != nullptr) {
      auto ours = turns_->IsLast(connection_id_);
      if (!ours.ok()) return ours.error();
      if (!*ours) {
        log::Info("tpm2", "another client of the TPM at " + options_.tcti +
                              " connected since this one's last call (onionmailctl?); connecting "
                              "again");
        ForgetConnection();
      }
    }
  }
  return EnsureConnected();
}

void Tpm2Token::FlushLeftoverSessions() {
  // Through a resource manager a dead client's sessions are flushed for it,
  // and the session handles listed need not be this client's (the kernel's
  // resource manager virtualises transient object handles; a session keeps
  // the TPM's own handle): never touch them.
  if (!TctiIsDirect(options_.tcti)) return;
  TSS2_SYS_CONTEXT* sys = nullptr;
  if (Esys_GetSysContext(esys_, &sys) != TSS2_RC_SUCCESS || sys == nullptr) return;
  size_t flushed = 0;
  for (TPM2_HANDLE first : {TPM2_LOADED_SESSION_FIRST, TPM2_ACTIVE_SESSION_FIRST}) {
    TPMI_YES_NO more = TPM2_NO;
    EsysOut<TPMS_CAPABILITY_DATA> caps;
    if (Esys_GetCapability(esys_, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES, first,
                           TPM2_MAX_CAP_HANDLES, &more, caps.out()) != TSS2_RC_SUCCESS) {
      continue;
    }
    const TPML_HANDLE& handles = caps->data.handles;
    for (uint32_t i = 0; i < handles.count; ++i) {
      // Loaded (first query) or saved (second) sessions, HMAC or policy.
      const TPM2_HANDLE type = handles.handle[i] & TPM2_HR_RANGE_MASK;
      if (type != TPM2_HR_HMAC_SESSION && type != TPM2_HR_POLICY_SESSION) continue;
      if (Tss2_Sys_FlushContext(sys, handles.handle[i]) == TSS2_RC_SUCCESS) ++flushed;
    }
  }
  if (flushed > 0) {
    log::Warning("tpm2",
                 "flushed " + std::to_string(flushed) + " leftover session(s) at " + options_.tcti);
  }
}

Result<int> Tpm2Token::LoadedHandlesForTest() {
  return Run([&]() -> Result<int> {
    int total = 0;
    for (TPM2_HANDLE first : {TPM2_TRANSIENT_FIRST, TPM2_LOADED_SESSION_FIRST}) {
      TPMI_YES_NO more = TPM2_NO;
      EsysOut<TPMS_CAPABILITY_DATA> caps;
      TSS2_RC rc =
          Esys_GetCapability(esys_, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES,
                             first, TPM2_MAX_CAP_HANDLES, &more, caps.out());
      if (rc != TSS2_RC_SUCCESS) return Fail(rc, "Esys_GetCapability");
      total += static_cast<int>(caps->data.handles.count);
    }
    return total;
  });
}

}  // namespace onionmail::hsm::tpm2
