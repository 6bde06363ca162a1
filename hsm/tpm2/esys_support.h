// Helpers for the TPM2 token (hsm/tpm2/tpm2_token.cc): object templates,
// return-code classification, key-blob files and handle guards.
//
// Contract:
//  - Templates are fixed: the storage primary (ECC P-256, restricted decrypt,
//    AES-128-CFB) is deterministic for a given owner seed, so it is re-created
//    at every connect instead of being persisted.
//  - ClassifyRc() maps a TSS2_RC to an Error whose message is safe to log
//    (command name, device name, decoded rc; never auth values). It says
//    whether the connection must be torn down (TCTI / transport failures,
//    TPM out of object memory, TPM not started).
//  - Key blobs are TPM2B_PUBLIC || TPM2B_PRIVATE marshalled with tss2-mu,
//    written atomically with mode 0600. The private part is encrypted by the
//    TPM's storage hierarchy and useless without this TPM.
//  - HandleGuard flushes one transient object or session when it goes out
//    of scope (swtpm has only 3 transient slots and no resource manager).
#pragma once

#include <tss2/tss2_esys.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace onionmail::hsm::tpm2 {

struct KeyBlob {
  TPM2B_PUBLIC pub{};
  TPM2B_PRIVATE priv{};
};

// kNotFound when the file is missing; kDataLoss when it does not unmarshal.
Result<KeyBlob> ReadKeyBlob(const std::string& path);
// Writes path.tmp (0600), fsyncs and renames it over path.
Result<void> WriteKeyBlob(const std::string& path, const KeyBlob& blob);

struct RcClass {
  Error error;
  bool reconnect = false;  // the connection is unusable: tear it down
};
RcClass ClassifyRc(TSS2_RC rc, std::string_view command, std::string_view device);

// True when `tcti` talks to the TPM with no resource manager in between:
// swtpm, mssim, or a raw device node /dev/tpm<N>. Everything else (the
// kernel's /dev/tpmrm<N>, tabrmd, an empty or unknown TCTI) may share the TPM
// with other clients, whose sessions must never be flushed.
bool TctiIsDirect(std::string_view tcti);

TPM2B_PUBLIC PrimaryTemplate();
// With a non-empty policy the object needs a policy session (no
// userWithAuth); otherwise plain authValue authorisation.
TPM2B_PUBLIC HmacKeyTemplate(const TPM2B_DIGEST& policy);
TPM2B_PUBLIC RsaKeyTemplate(int bits, const TPM2B_DIGEST& policy);
TPMT_SYM_DEF SessionSymmetric();
// SHA-256 bank selection of `pcrs` (each 0..23).
Result<TPML_PCR_SELECTION> PcrSelection(const std::vector<int>& pcrs);

// Modulus (big-endian) and public exponent of an RSA public area.
std::vector<uint8_t> RsaModulus(const TPM2B_PUBLIC& pub);
// DER SubjectPublicKeyInfo of an RSA public area (exponent 0 = 65537).
Result<std::vector<uint8_t>> RsaPublicDer(const TPM2B_PUBLIC& pub);

// Flushes `handle` at scope exit unless released. The context must outlive it.
class HandleGuard {
 public:
  HandleGuard(ESYS_CONTEXT* ctx, ESYS_TR handle) : ctx_(ctx), handle_(handle) {}
  ~HandleGuard() { Flush(); }
  HandleGuard(const HandleGuard&) = delete;
  HandleGuard& operator=(const HandleGuard&) = delete;

  ESYS_TR get() const { return handle_; }
  void Flush() {
    if (ctx_ != nullptr && handle_ != ESYS_TR_NONE) Esys_FlushContext(ctx_, handle_);
    handle_ = ESYS_TR_NONE;
  }

 private:
  ESYS_CONTEXT* ctx_;
  ESYS_TR handle_;
};

// Frees an Esys-allocated output (and wipes it first) at scope exit.
template <typename T>
class EsysOut {
 public:
  EsysOut() = default;
  ~EsysOut() { Reset(); }
  EsysOut(const EsysOut&) = delete;
  EsysOut& operator=(const EsysOut&) = delete;
  T** out() {
    Reset();
    return &p_;
  }
  T* get() const { return p_; }
  T* operator->() const { return p_; }
  void Reset();

 private:
  T* p_ = nullptr;
};

void WipeAndFree(void* p, size_t n);

template <typename T>
void EsysOut<T>::Reset() {
  if (p_ != nullptr) WipeAndFree(p_, sizeof(T));
  p_ = nullptr;
}

}  // namespace onionmail::hsm::tpm2
