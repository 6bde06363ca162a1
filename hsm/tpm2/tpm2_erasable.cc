// Tpm2Token erasable secrets: two ordinary NV indices in the owner range,
// kErasableNvBase + (epoch % 2), each holding epoch (u64 big-endian) || 32
// random bytes from TPM2_GetRandom. See tpm2_token.h for the contract.
//
// Every NV command runs in a salted session with parameter encryption in the
// direction that carries the secret (NV_Write: command; NV_Read, GetRandom:
// response), so the secret never crosses the bus in the clear. The TPM
// rejects an encrypt/decrypt attribute on a command whose first parameter
// (or first response parameter) is not a sized buffer, so the attributes are
// set per command. The derived key is HMAC-SHA256(secret, label) computed on
// the host; the secret is wiped right after. A slot whose secret bytes are
// all zero is an Erase interrupted before its undefine: it holds no secret.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>
#include <utility>

#include "base/log.h"
#include "hsm/tpm2/tpm2_token.h"

namespace onionmail::hsm::tpm2 {
namespace {

constexpr std::string_view kLog = "tpm2";
constexpr size_t kEpochBytes = 8;
constexpr size_t kSecretBytes = 32;
constexpr size_t kSlotBytes = kEpochBytes + kSecretBytes;
// Attribute bits that record the index's state rather than its definition.
constexpr TPMA_NV kStateBits = TPMA_NV_WRITTEN | TPMA_NV_WRITELOCKED | TPMA_NV_READLOCKED;

TPMA_NV SlotAttributes(bool policy) {
  // Ordinary index (TPM2_NT_ORDINARY = 0), owner hierarchy (no
  // PLATFORMCREATE); dictionary-attack protected (no NO_DA).
  return policy ? (TPMA_NV_POLICYREAD | TPMA_NV_POLICYWRITE)
                : (TPMA_NV_AUTHREAD | TPMA_NV_AUTHWRITE);
}

TPM2_HANDLE SlotIndex(uint64_t epoch) {
  return kErasableNvBase + static_cast<TPM2_HANDLE>(epoch % 2);
}

std::string Hex(TPM2_HANDLE h) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08x", static_cast<unsigned>(h));
  return buf;
}

uint64_t GetBe64(const uint8_t* p) {
  uint64_t v = 0;
  for (size_t i = 0; i < kEpochBytes; ++i) v = (v << 8) | p[i];
  return v;
}

void PutBe64(uint64_t v, uint8_t* p) {
  for (size_t i = kEpochBytes; i-- > 0;) {
    p[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

TSS2_RC TpmCode(TSS2_RC rc) {
  const TSS2_RC low = rc & 0xFFFF;
  return (low & TPM2_RC_FMT1) ? (low & (TPM2_RC_FMT1 | 0x3F)) : (low & (TPM2_RC_WARN | 0x7F));
}

bool IsTpmRc(TSS2_RC rc, TSS2_RC code) {
  const TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
  return (layer == TSS2_TPM_RC_LAYER || layer == TSS2_RESMGR_TPM_RC_LAYER) && TpmCode(rc) == code;
}

Error NotFound(uint64_t epoch) {
  return MakeError(ErrorCode::kNotFound,
                   "TPM: no erasable secret for epoch " + std::to_string(epoch));
}

}  // namespace

// Works on behalf of Tpm2Token with its mutex held and connected (Run).
class ErasableSlots {
 public:
  explicit ErasableSlots(Tpm2Token& token) : t_(token) {}

  Result<void> Create(uint64_t epoch);
  Result<SecretBytes> Derive(uint64_t epoch, std::span<const uint8_t> label);
  Result<void> Erase(uint64_t epoch);
  Result<std::vector<uint64_t>> Epochs();

 private:
  // One NV index as found in the TPM; the ESYS_TR is closed (not flushed:
  // NV indices are not loaded objects) when it goes out of scope.
  class Slot {
   public:
    Slot(ESYS_CONTEXT* esys, TPM2_HANDLE index) : esys_(esys), index_(index) {}
    ~Slot() {
      if (tr_ != ESYS_TR_NONE) Esys_TR_Close(esys_, &tr_);
    }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    Slot(Slot&& o) noexcept
        : esys_(o.esys_),
          index_(o.index_),
          tr_(std::exchange(o.tr_, ESYS_TR_NONE)),
          policy_(o.policy_),
          written_(o.written_) {}
    Slot& operator=(Slot&&) = delete;

    TPM2_HANDLE index() const { return index_; }
    bool defined() const { return tr_ != ESYS_TR_NONE; }
    bool policy() const { return policy_; }
    bool written() const { return written_; }
    ESYS_TR tr() const { return tr_; }

   private:
    friend class ErasableSlots;
    ESYS_CONTEXT* esys_;
    TPM2_HANDLE index_;
    ESYS_TR tr_ = ESYS_TR_NONE;  // ESYS_TR_NONE: the index is not defined
    bool policy_ = false;
    bool written_ = false;
  };

  Result<bool> IndexDefined(TPM2_HANDLE index);
  Result<Slot> Open(TPM2_HANDLE index);
  Result<void> SetAuth(ESYS_TR tr);
  // A salted session for the slot's kind of authorisation (HMAC, or policy
  // with PolicyPCR + PolicyAuthValue), with `attributes` (ENCRYPT/DECRYPT).
  Result<std::unique_ptr<HandleGuard>> Session(bool policy, TPMA_SESSION attributes);
  // The epoch stored in the slot; nullopt when the slot holds none (not
  // defined, never written, wiped, or an epoch of the other slot). With
  // `secret`, the secret too (only when an epoch is returned).
  Result<std::optional<uint64_t>> ReadEpoch(const Slot& slot, SecretBytes* secret = nullptr);
  Result<void> Undefine(Slot& slot);
  Result<SecretBytes> Random(size_t n);

  Tpm2Token& t_;
};

Result<bool> ErasableSlots::IndexDefined(TPM2_HANDLE index) {
  TPMI_YES_NO more = TPM2_NO;
  EsysOut<TPMS_CAPABILITY_DATA> caps;
  TSS2_RC rc = Esys_GetCapability(t_.esys_, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                  TPM2_CAP_HANDLES, index, 1, &more, caps.out());
  if (rc != TSS2_RC_SUCCESS) return t_.Fail(rc, "Esys_GetCapability(NV handles)");
  const TPML_HANDLE& handles = caps->data.handles;
  return handles.count > 0 && handles.handle[0] == index;
}

Result<void> ErasableSlots::SetAuth(ESYS_TR tr) {
  TPM2B_AUTH auth{};
  auto raw = t_.auth_.Reveal(SecretAccess::Grant());
  if (raw.size() > sizeof(auth.buffer)) {
    return MakeError(ErrorCode::kInternal, "TPM authValue too long");
  }
  auth.size = static_cast<UINT16>(raw.size());
  if (!raw.empty()) std::memcpy(auth.buffer, raw.data(), raw.size());
  TSS2_RC rc = Esys_TR_SetAuth(t_.esys_, tr, &auth);
  OPENSSL_cleanse(&auth, sizeof(auth));
  if (rc != TSS2_RC_SUCCESS) return t_.Fail(rc, "Esys_TR_SetAuth(NV)");
  return Ok();
}

Result<ErasableSlots::Slot> ErasableSlots::Open(TPM2_HANDLE index) {
  Slot slot(t_.esys_, index);
  auto defined = IndexDefined(index);
  if (!defined.ok()) return defined.error();
  if (!*defined) return slot;
  TSS2_RC rc =
      Esys_TR_FromTPMPublic(t_.esys_, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &slot.tr_);
  if (rc != TSS2_RC_SUCCESS) {
    slot.tr_ = ESYS_TR_NONE;
    return t_.Fail(rc, "Esys_TR_FromTPMPublic(NV " + Hex(index) + ")");
  }
  EsysOut<TPM2B_NV_PUBLIC> pub;
  rc = Esys_NV_ReadPublic(t_.esys_, slot.tr_, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, pub.out(),
                          nullptr);
  if (rc != TSS2_RC_SUCCESS) return t_.Fail(rc, "Esys_NV_ReadPublic(" + Hex(index) + ")");
  const TPMS_NV_PUBLIC& p = pub->nvPublic;
  const TPMA_NV attributes = p.attributes & ~kStateBits;
  slot.policy_ = (attributes & TPMA_NV_POLICYREAD) != 0;
  slot.written_ = (p.attributes & TPMA_NV_WRITTEN) != 0;
  if (p.dataSize != kSlotBytes || p.nameAlg != TPM2_ALG_SHA256 ||
      attributes != SlotAttributes(slot.policy_)) {
    // Not ours: never read, overwrite or undefine somebody else's index.
    return MakeError(ErrorCode::kFailedPrecondition,
                     "TPM NV index " + Hex(index) +
                         " is in use by something other than onionmaild's erasable secrets");
  }
  ONIONMAIL_RETURN_IF_ERROR(SetAuth(slot.tr_));
  return slot;
}

Result<std::unique_ptr<HandleGuard>> ErasableSlots::Session(bool policy, TPMA_SESSION attributes) {
  if (policy && t_.options_.pcrs.empty()) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "TPM erasable secrets were made with a PCR policy but no pcrs are configured");
  }
  auto s = t_.StartSession(policy ? TPM2_SE_POLICY : TPM2_SE_HMAC);
  if (!s.ok()) return s.error();
  auto guard = std::make_unique<HandleGuard>(t_.esys_, *s);
  TSS2_RC rc =
      Esys_TRSess_SetAttributes(t_.esys_, *s, attributes | TPMA_SESSION_CONTINUESESSION, 0xff);
  if (rc != TSS2_RC_SUCCESS) return t_.Fail(rc, "Esys_TRSess_SetAttributes");
  if (!policy) return guard;
  auto sel = PcrSelection(t_.options_.pcrs);
  if (!sel.ok()) return sel.error();
  TPM2B_DIGEST current{};
  rc = Esys_PolicyPCR(t_.esys_, *s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &current, &*sel);
  if (rc != TSS2_RC_SUCCESS) return t_.Fail(rc, "Esys_PolicyPCR");
  rc = Esys_PolicyAuthValue(t_.esys_, *s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE);
  if (rc != TSS2_RC_SUCCESS) return t_.Fail(rc, "Esys_PolicyAuthValue");
  return guard;
}

Result<std::optional<uint64_t>> ErasableSlots::ReadEpoch(const Slot& slot, SecretBytes* secret) {
  if (!slot.defined() || !slot.written()) return std::optional<uint64_t>();
  auto session = Session(slot.policy(), TPMA_SESSION_ENCRYPT);
  if (!session.ok()) return session.error();
  EsysOut<TPM2B_MAX_NV_BUFFER> data;  // wiped when freed
  TSS2_RC rc = Esys_NV_Read(t_.esys_, slot.tr(), slot.tr(), (*session)->get(), ESYS_TR_NONE,
                            ESYS_TR_NONE, kSlotBytes, 0, data.out());
  if (IsTpmRc(rc, TPM2_RC_NV_UNINITIALIZED)) return std::optional<uint64_t>();
  if (rc != TSS2_RC_SUCCESS) return t_.Fail(rc, "Esys_NV_Read(" + Hex(slot.index()) + ")");
  if (data->size != kSlotBytes) {
    return MakeError(ErrorCode::kInternal, "TPM NV_Read returned a wrong size");
  }
  // All-zero secret bytes: Erase overwrote the slot but did not get to
  // undefine it. It must never pass for a live (and known!) secret.
  uint8_t any = 0;
  for (size_t i = kEpochBytes; i < kSlotBytes; ++i) any |= data->buffer[i];
  if (any == 0) return std::optional<uint64_t>();
  const uint64_t epoch = GetBe64(data->buffer);
  // An epoch in the wrong slot was not written by us: DeriveErasable could
  // never find it, so it does not count as live.
  if (SlotIndex(epoch) != slot.index()) return std::optional<uint64_t>();
  if (secret != nullptr) {
    *secret = SecretBytes(SecretAccess::Grant(),
                          std::span<const uint8_t>(data->buffer + kEpochBytes, kSecretBytes));
  }
  return std::optional<uint64_t>(epoch);
}

Result<void> ErasableSlots::Undefine(Slot& slot) {
  // Owner authorisation (empty, as for the storage primary); no parameters.
  TSS2_RC rc = Esys_NV_UndefineSpace(t_.esys_, ESYS_TR_RH_OWNER, slot.tr(), ESYS_TR_PASSWORD,
                                     ESYS_TR_NONE, ESYS_TR_NONE);
  if (rc != TSS2_RC_SUCCESS) return t_.Fail(rc, "Esys_NV_UndefineSpace(" + Hex(slot.index()) + ")");
  slot.tr_ = ESYS_TR_NONE;  // ESAPI released the handle
  return Ok();
}

Result<SecretBytes> ErasableSlots::Random(size_t n) {
  auto session = Session(false, TPMA_SESSION_ENCRYPT);
  if (!session.ok()) return session.error();
  SecretBytes out(n);
  auto raw = out.Reveal(SecretAccess::Grant());
  size_t filled = 0;
  while (filled < n) {
    EsysOut<TPM2B_DIGEST> bytes;
    TSS2_RC rc = Esys_GetRandom(t_.esys_, (*session)->get(), ESYS_TR_NONE, ESYS_TR_NONE,
                                static_cast<UINT16>(n - filled), bytes.out());
    if (rc != TSS2_RC_SUCCESS) return t_.Fail(rc, "Esys_GetRandom");
    if (bytes->size == 0 || bytes->size > n - filled) {
      return MakeError(ErrorCode::kInternal, "TPM GetRandom returned a wrong size");
    }
    std::memcpy(raw.data() + filled, bytes->buffer, bytes->size);
    filled += bytes->size;
  }
  return out;
}

Result<void> ErasableSlots::Create(uint64_t epoch) {
  const TPM2_HANDLE index = SlotIndex(epoch);
  {
    auto slot = Open(index);
    if (!slot.ok()) return slot.error();
    if (slot->defined()) {
      auto held = ReadEpoch(*slot);
      if (!held.ok()) return held.error();
      if (*held == epoch) {
        return MakeError(ErrorCode::kAlreadyExists,
                         "TPM: erasable secret for epoch " + std::to_string(epoch) + " exists");
      }
      if (held->has_value()) {
        return MakeError(ErrorCode::kResourceExhausted,
                         "TPM: NV index " + Hex(index) +
                             " still holds the erasable secret of epoch " + std::to_string(**held) +
                             " (erase it first)");
      }
      // Defined but holding no epoch: an interrupted create. Start afresh.
      ONIONMAIL_RETURN_IF_ERROR(Undefine(*slot));
    }
  }
  const bool policy = !t_.options_.pcrs.empty();
  TPM2B_NV_PUBLIC pub{};
  pub.nvPublic.nvIndex = index;
  pub.nvPublic.nameAlg = TPM2_ALG_SHA256;
  pub.nvPublic.attributes = SlotAttributes(policy);
  pub.nvPublic.dataSize = kSlotBytes;
  if (policy) {
    auto digest = t_.PolicyDigest();  // before the next session: swtpm has 3 slots
    if (!digest.ok()) return digest.error();
    pub.nvPublic.authPolicy = *digest;
  }
  auto secret = Random(kSecretBytes);
  if (!secret.ok()) return secret.error();

  auto session = Session(false, TPMA_SESSION_DECRYPT);  // owner auth: HMAC
  if (!session.ok()) return session.error();
  TPM2B_AUTH auth{};
  auto raw_auth = t_.auth_.Reveal(SecretAccess::Grant());
  if (raw_auth.size() > sizeof(auth.buffer)) {
    return MakeError(ErrorCode::kInternal, "TPM authValue too long");
  }
  auth.size = static_cast<UINT16>(raw_auth.size());
  if (!raw_auth.empty()) std::memcpy(auth.buffer, raw_auth.data(), raw_auth.size());
  Slot slot(t_.esys_, index);
  TSS2_RC rc = Esys_NV_DefineSpace(t_.esys_, ESYS_TR_RH_OWNER, (*session)->get(), ESYS_TR_NONE,
                                   ESYS_TR_NONE, &auth, &pub, &slot.tr_);
  OPENSSL_cleanse(&auth, sizeof(auth));
  if (rc != TSS2_RC_SUCCESS) {
    slot.tr_ = ESYS_TR_NONE;
    if (IsTpmRc(rc, TPM2_RC_NV_SPACE)) {
      return MakeError(ErrorCode::kResourceExhausted,
                       "TPM has no NV space for an erasable secret (" + Hex(index) + ")");
    }
    return t_.Fail(rc, "Esys_NV_DefineSpace(" + Hex(index) + ")");
  }
  slot.policy_ = policy;
  ONIONMAIL_RETURN_IF_ERROR(SetAuth(slot.tr()));
  session->reset();  // the write may need a policy session instead

  TPM2B_MAX_NV_BUFFER data{};
  data.size = kSlotBytes;
  PutBe64(epoch, data.buffer);
  std::memcpy(data.buffer + kEpochBytes, secret->Reveal(SecretAccess::Grant()).data(),
              kSecretBytes);
  std::optional<Error> failed;
  {
    auto write_session = Session(policy, TPMA_SESSION_DECRYPT);
    if (!write_session.ok()) {
      failed = write_session.error();
    } else {
      rc = Esys_NV_Write(t_.esys_, slot.tr(), slot.tr(), (*write_session)->get(), ESYS_TR_NONE,
                         ESYS_TR_NONE, &data, 0);
      if (rc != TSS2_RC_SUCCESS) failed = t_.Fail(rc, "Esys_NV_Write(" + Hex(index) + ")");
    }
  }  // the session is flushed here
  OPENSSL_cleanse(&data, sizeof(data));
  if (failed) {
    if (!t_.reconnect_needed_) (void)Undefine(slot);  // leave no half-made slot behind
    return *failed;
  }
  t_.operations_.fetch_add(1);
  log::Info(kLog, "created erasable secret for epoch " + std::to_string(epoch) + " in NV index " +
                      Hex(index));
  return Ok();
}

Result<SecretBytes> ErasableSlots::Derive(uint64_t epoch, std::span<const uint8_t> label) {
  auto slot = Open(SlotIndex(epoch));
  if (!slot.ok()) return slot.error();
  if (!slot->defined() || !slot->written()) return NotFound(epoch);
  SecretBytes secret;
  auto held = ReadEpoch(*slot, &secret);
  if (!held.ok()) return held.error();
  t_.operations_.fetch_add(1);  // the NV_Read
  if (*held != epoch) return NotFound(epoch);
  SecretBytes out(32);
  unsigned int out_len = 0;
  static const uint8_t kEmpty = 0;
  const uint8_t* in = label.empty() ? &kEmpty : label.data();
  if (HMAC(EVP_sha256(), secret.Reveal(SecretAccess::Grant()).data(),
           static_cast<int>(secret.size()), in, label.size(),
           out.Reveal(SecretAccess::Grant()).data(), &out_len) == nullptr ||
      out_len != out.size()) {
    return MakeError(ErrorCode::kInternal, "OpenSSL: HMAC-SHA256 failed");
  }
  return out;  // `secret` is wiped here
}

Result<void> ErasableSlots::Erase(uint64_t epoch) {
  auto slot = Open(SlotIndex(epoch));
  if (!slot.ok()) return slot.error();
  auto held = ReadEpoch(*slot);
  if (!held.ok()) return held.error();
  if (*held != epoch) return Ok();  // absent, or another epoch's secret: not ours to erase
  {
    // Overwrite first: the TPM may keep the bytes of an undefined index in
    // its NV until the space is reused.
    auto session = Session(slot->policy(), TPMA_SESSION_DECRYPT);
    if (!session.ok()) return session.error();
    TPM2B_MAX_NV_BUFFER zeros{};
    zeros.size = kSlotBytes;
    TSS2_RC rc = Esys_NV_Write(t_.esys_, slot->tr(), slot->tr(), (*session)->get(), ESYS_TR_NONE,
                               ESYS_TR_NONE, &zeros, 0);
    if (rc != TSS2_RC_SUCCESS) return t_.Fail(rc, "Esys_NV_Write(" + Hex(slot->index()) + ")");
  }
  ONIONMAIL_RETURN_IF_ERROR(Undefine(*slot));
  t_.operations_.fetch_add(1);
  log::Info(kLog, "erased erasable secret of epoch " + std::to_string(epoch));
  return Ok();
}

Result<std::vector<uint64_t>> ErasableSlots::Epochs() {
  std::vector<uint64_t> epochs;
  for (TPM2_HANDLE i = 0; i < 2; ++i) {
    auto slot = Open(kErasableNvBase + i);
    if (!slot.ok()) return slot.error();
    auto held = ReadEpoch(*slot);
    if (!held.ok()) return held.error();
    if (held->has_value()) epochs.push_back(**held);
  }
  std::sort(epochs.begin(), epochs.end());
  return epochs;
}

Result<void> Tpm2Token::CreateErasable(uint64_t epoch) {
  return Run([&] { return ErasableSlots(*this).Create(epoch); });
}

Result<SecretBytes> Tpm2Token::DeriveErasable(uint64_t epoch, std::span<const uint8_t> label) {
  return Run([&] { return ErasableSlots(*this).Derive(epoch, label); });
}

Result<void> Tpm2Token::EraseErasable(uint64_t epoch) {
  return Run([&] { return ErasableSlots(*this).Erase(epoch); });
}

Result<std::vector<uint64_t>> Tpm2Token::ErasableEpochs() {
  return Run([&] { return ErasableSlots(*this).Epochs(); });
}

}  // namespace onionmail::hsm::tpm2
