// HPKE (RFC 9180), base mode, single shot, with DHKEM(X25519, HKDF-SHA256)
// and HKDF-SHA256: the data-key wrap of X25519 inbox keys (docs/store.md).
//
// Contract: Seal() makes a fresh ephemeral key per call and returns
// enc (32 bytes, the ephemeral public key) and the AEAD ciphertext of the
// plaintext (plaintext || 16-byte tag), both public. Open() reverses it with
// the recipient's private key; every failure of Open() (bad enc, low-order
// point, wrong key, wrong info or aad, tampering) returns kDataLoss with the
// same message and no detail. Only sequence number 0 is ever used (one
// message per context), as in RFC 9180 section 6.1. Keys are OpenSSL
// EVP_PKEYs of type X25519; the recipient's private key never leaves it.
// Thread-safe: concurrent calls may share keys. The first call fetches
// SHA-256, AES-GCM and X25519 from the default provider (once per process).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace onionmail::crypto::hpke {

// RFC 9180 AEAD identifiers. Production uses AES-256-GCM; AES-128-GCM exists
// so the key schedule can be checked against RFC 9180 appendix A.1.
enum class Aead : uint16_t { kAes128Gcm = 0x0001, kAes256Gcm = 0x0002 };

constexpr size_t kEncBytes = 32;  // Nenc for DHKEM(X25519, HKDF-SHA256)
constexpr size_t kTagBytes = 16;

struct Sealed {
  std::array<uint8_t, kEncBytes> enc{};
  std::vector<uint8_t> ciphertext;  // plaintext size + kTagBytes
};

// SetupBaseS + Seal with a fresh ephemeral key. `recipient` may be a public
// or a private X25519 key (only its public half is used). kInvalidArgument if
// it is null, not X25519, or a low-order point (all-zero shared secret), or
// if an input exceeds INT_MAX bytes; kInternal if OpenSSL fails.
Result<Sealed> Seal(Aead aead, const EVP_PKEY* recipient, std::span<const uint8_t> info,
                    std::span<const uint8_t> aad, const SecretBytes& plaintext);

// SetupBaseR + Open. `recipient` must hold the X25519 private key; any other
// key (null, public only, another type) is kDataLoss like every failure.
Result<SecretBytes> Open(Aead aead, const EVP_PKEY* recipient, std::span<const uint8_t> enc,
                         std::span<const uint8_t> info, std::span<const uint8_t> aad,
                         std::span<const uint8_t> ciphertext);

// Test hooks (RFC 9180 test vectors are deterministic): DeriveKeyPair
// (section 7.1.3) and Seal with a caller-chosen ephemeral private key.
// Returns an owned EVP_PKEY (free with EVP_PKEY_free), or null on failure.
EVP_PKEY* DeriveKeyPairForTest(std::span<const uint8_t> ikm);
Result<Sealed> SealWithEphemeralForTest(Aead aead, const EVP_PKEY* recipient,
                                        const EVP_PKEY* ephemeral, std::span<const uint8_t> info,
                                        std::span<const uint8_t> aad, const SecretBytes& plaintext);

}  // namespace onionmail::crypto::hpke
