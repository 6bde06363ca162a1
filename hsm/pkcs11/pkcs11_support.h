// Helpers of the PKCS#11 backend that need neither a module nor a session:
// CK_RV names and classes, the PIN file, and the OpenSSL side (building the
// SubjectPublicKeyInfo from the token's modulus/exponent, OAEP encryption for
// the start-up self-test).
//
// Contract: no function here logs or returns secret bytes except
// ReadPinFile, which returns the PIN in SecretBytes and wipes its buffers.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"
#include "hsm/token.h"

namespace onionmail::hsm::pkcs11 {

// "CKR_PIN_INCORRECT", or "CKR_0x..." for codes without a name here.
std::string CkrName(unsigned long rv);

// True for return values that mean the device, token or session went away
// (or the library lost its state, e.g. after fork): the caller reconnects.
bool IsDeviceError(unsigned long rv);

// Reads the user PIN: one line, one trailing "\n" (or "\r\n") stripped.
// Missing file: kNotFound; readable/writable by "other": kPermissionDenied;
// empty: kInvalidArgument.
Result<SecretBytes> ReadPinFile(const std::string& path);

// DER SubjectPublicKeyInfo of the RSA key (n, e) given big-endian.
Result<std::vector<uint8_t>> RsaSpkiFromComponents(std::span<const uint8_t> modulus,
                                                   std::span<const uint8_t> exponent);

// RSA-OAEP encryption with OpenSSL (hash and MGF1 hash both `hash`, no label).
Result<std::vector<uint8_t>> OaepEncrypt(std::span<const uint8_t> spki_der,
                                         std::span<const uint8_t> plaintext, OaepHash hash);

}  // namespace onionmail::hsm::pkcs11
