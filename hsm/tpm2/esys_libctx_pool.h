// EsysLibCtxPool: reuses the OpenSSL library contexts that tss2-esys creates
// and frees around every hash, HMAC and random number it computes.
//
// Why: tss2-esys 3.2 (Debian 12) builds a new OSSL_LIB_CTX for each of those
// operations, so that a TPM2 provider loaded in the default context is never
// called, and frees it right after. In OpenSSL 3.0 a new context loads the
// default provider again, fetches every algorithm again and instantiates a
// new DRBG for its first random bytes: most of the key role's CPU per TPM
// signature (docs/benchmarks.md, "The TPM backend"). tss2-esys 4.0 has
// crypto callbacks (Esys_SetCryptoCallbacks) that would make this file
// unnecessary; Debian 12 ships 3.2.
//
// How: this file defines OSSL_LIB_CTX_new and OSSL_LIB_CTX_free. Linked into
// an executable, they take precedence over libcrypto's for every shared
// library (ELF symbol interposition); they forward to libcrypto's own
// (dlsym RTLD_NEXT) except in the one case below.
//
// Contract:
//  - Until EnableEsysLibCtxPool() both functions are libcrypto's.
//  - Afterwards, OSSL_LIB_CTX_new called directly from libtss2-esys's code
//    returns an idle pooled context if there is one, else a new one from
//    libcrypto; either way the context is then "lent". Calls from anywhere
//    else (libcrypto itself, for child and dispatch contexts; any other
//    library) get libcrypto's behaviour, and their contexts are never
//    pooled.
//  - OSSL_LIB_CTX_free of a lent context makes it idle again (at most
//    kMaxIdle idle; beyond that it is freed). Any other context, and NULL,
//    goes to libcrypto's OSSL_LIB_CTX_free.
//  - A pooled context is never the default context and never has a provider
//    loaded other than the default provider that OpenSSL loads in it by
//    itself: tss2-esys loads none, and no other caller ever gets one. What a
//    reused context keeps from its previous use is what OpenSSL caches in a
//    context (fetched algorithms, name map, its DRBGs' state), the same as
//    the default context keeps. tss2-esys frees its keys and digest
//    contexts before the library context, so no key material stays in it.
//  - Thread-safe. At exit (an atexit handler that runs before OpenSSL's
//    own) the idle contexts are freed, wiping their DRBGs' state, and the
//    pool is off; contexts still lent then stay with their borrower. The
//    pool's own state is never destroyed.
//  - EnableEsysLibCtxPool() returns false, and leaves the pool off, when the
//    interposition is not in effect (the executable does not export the
//    functions) or libtss2-esys's code cannot be located.
#pragma once

#include <cstddef>
#include <cstdint>

namespace onionmail::hsm::tpm2 {

inline constexpr size_t kMaxIdle = 8;

[[nodiscard]] bool EnableEsysLibCtxPool();

struct LibCtxPoolStats {
  bool enabled = false;
  uint64_t created = 0;  // contexts created for tss2-esys (libcrypto's new)
  uint64_t reused = 0;   // lent again from the idle list
  uint64_t freed = 0;    // lent contexts that libcrypto really freed (pool full)
  size_t lent = 0;       // lent now
  size_t idle = 0;       // idle now
};
LibCtxPoolStats EsysLibCtxPoolStats();

}  // namespace onionmail::hsm::tpm2
