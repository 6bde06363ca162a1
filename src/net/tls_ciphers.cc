// The front ends' TLS cipher preference (contract in tls_ciphers.h).
#include "net/tls_ciphers.h"

#include <openssl/ssl.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#elif defined(__aarch64__)
#include <sys/auxv.h>  // getauxval; glibc's <bits/hwcap.h> has HWCAP_AES
#ifndef HWCAP_AES
#define HWCAP_AES (1 << 3)  // the arm64 kernel ABI (arch/arm64/include/uapi/asm/hwcap.h)
#endif
#endif

namespace onionmail::net {

CipherPreference ServerCipherPreference(bool cpu_has_aes) {
  if (cpu_has_aes) {
    return {"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
            "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
            "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
            "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"};
  }
  return {"TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384",
          "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
          "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384"};
}

bool CpuHasAesInstructions() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (ecx & bit_AES) != 0;
#elif defined(__aarch64__)
  return (getauxval(AT_HWCAP) & HWCAP_AES) != 0;
#else
  return false;
#endif
}

Result<void> ApplyServerCipherPreference(SSL_CTX* ctx, bool cpu_has_aes) {
  const CipherPreference pref = ServerCipherPreference(cpu_has_aes);
  if (SSL_CTX_set_ciphersuites(ctx, pref.tls13) != 1) {
    return MakeError(ErrorCode::kInternal, "cannot set the TLS 1.3 cipher suites");
  }
  if (SSL_CTX_set_cipher_list(ctx, pref.tls12) != 1) {
    return MakeError(ErrorCode::kInternal, "cannot set the TLS 1.2 cipher list");
  }
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA);
  return Ok();
}

}  // namespace onionmail::net
