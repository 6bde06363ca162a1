// The front ends' TLS cipher preference (SMTP STARTTLS, POP3 STLS): which
// AEAD the server picks, given what the CPU it runs on does in hardware.
//
// Contract:
//  - Only AEAD suites with forward secrecy: TLS 1.3's three suites; for TLS 1.2,
//    ECDHE with AES-GCM or ChaCha20-Poly1305 (ECDSA or RSA certificates).
//  - With AES instructions (x86-64 AES-NI, the ARMv8 crypto extension): AES-128-GCM
//    first, then AES-256-GCM, then ChaCha20-Poly1305. TLS_AES_128_GCM_SHA256 is
//    TLS 1.3's mandatory suite; its 128-bit level is that of the X25519 key
//    exchange and the P-256 signature that protect the session anyway, and its
//    SHA-256 runs in hardware on CPUs with SHA extensions (measured in
//    docs/benchmarks.md: about 40 µs less per server handshake than
//    TLS_AES_256_GCM_SHA384, and 48 µs less for the client).
//  - Without them (e.g. the Cortex-A72 of a Raspberry Pi 4): ChaCha20-Poly1305
//    first, which is faster and constant-time in software.
//  - Either way, a client that lists ChaCha20-Poly1305 first (what clients
//    without AES instructions do) gets it (SSL_OP_PRIORITIZE_CHACHA).
#pragma once

#include "base/result.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace onionmail::net {

struct CipherPreference {
  const char* tls13;  // for SSL_CTX_set_ciphersuites
  const char* tls12;  // for SSL_CTX_set_cipher_list
};

// The preference for a CPU with (true) or without AES instructions.
CipherPreference ServerCipherPreference(bool cpu_has_aes);

// Whether this CPU has AES instructions (cpuid on x86-64, the auxiliary vector
// on aarch64; false elsewhere). No system call: safe under any sandbox.
bool CpuHasAesInstructions();

// Sets `ctx`'s suites and lists to ServerCipherPreference(cpu_has_aes) with
// the server's preference enforced (SSL_OP_CIPHER_SERVER_PREFERENCE and
// SSL_OP_PRIORITIZE_CHACHA).
Result<void> ApplyServerCipherPreference(SSL_CTX* ctx, bool cpu_has_aes);

}  // namespace onionmail::net
