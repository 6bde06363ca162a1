// UserRecord: what the key service stores per user (inner format of
// <state>/users/<hex>; normative description in docs/store.md).
//
//   "OMUR" || u8 version (1 or 2)
//   || smtp params (u32 BE t_cost, m_cost_kib, parallelism)
//   || u16 BE 16 || smtp salt || u16 BE 32 || smtp Argon2id hash
//   || pop3 params (3 x u32 BE) || u16 BE 16 || pop3 salt
//   || u16 BE len || inbox public key (DER SubjectPublicKeyInfo)
//   || u16 BE 32 || key id (SHA-256 of the public key DER)
//   || u16 BE len || encrypted private key
// encrypted private key = crypto::AeadSeal(wrap key, PKCS#8 DER,
//                         aad = "OMUR-privkey v1" || key id), where, with
// P = Argon2id(pop3 password, pop3 salt):
//   version 2: wrap key = HKDF-SHA256(P || KeyStore::InboxWrapSecret(pop3 salt || P),
//                                     info "onionmail inbox-key wrap v3")
//              (the device factor depends on the password: one device
//              operation per password guess, none can be computed ahead)
//   version 1: wrap key = HKDF-SHA256(P || KeyStore::InboxWrapSecret(pop3 salt),
//                                     info "onionmail inbox-key wrap v2")
//              (records made by earlier versions: they keep it until the
//              user's POP3 password changes, which rewrites them as version 2)
// Both need the password AND the device.
// The encoded record is sealed with hsm::KeyStore::SealRecord (aad = the
// record's file name) before it touches the disk.
//
// Contract: DecodeUserRecord is strict: every length is bounds-checked,
// fixed-size fields must have their size, Argon2 parameters must be in range,
// the key id must match the public key, and nothing may follow the last
// field; anything else is kDataLoss.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"
#include "crypto/argon2id.h"

namespace onionmail::keys {

// The version written for new wraps; DecodeUserRecord also reads version 1.
constexpr uint8_t kUserRecordVersion = 2;
constexpr uint8_t kUserRecordVersionSaltOnlyWrap = 1;
constexpr size_t kMaxPublicKeyBytes = 4096;
constexpr size_t kMaxEncryptedPrivateKeyBytes = 16384;
constexpr size_t kMaxUserRecordBytes = 32768;  // encoded, before sealing

struct UserRecord {
  // Which wrap-key derivation encrypted_private_key uses (header comment).
  uint8_t version = kUserRecordVersion;
  crypto::Argon2Params smtp_params;
  std::array<uint8_t, crypto::kArgon2SaltBytes> smtp_salt{};
  std::array<uint8_t, 32> smtp_hash{};
  crypto::Argon2Params pop3_params;
  std::array<uint8_t, crypto::kArgon2SaltBytes> pop3_salt{};
  std::vector<uint8_t> public_key;  // DER SubjectPublicKeyInfo
  std::array<uint8_t, 32> key_id{};
  std::vector<uint8_t> encrypted_private_key;
};

// The encoded record (held as a secret: it contains the SMTP verifier).
SecretBytes EncodeUserRecord(const UserRecord& record);
Result<UserRecord> DecodeUserRecord(std::span<const uint8_t> bytes);

// Associated data of the encrypted private key.
std::vector<uint8_t> PrivateKeyAad(const std::array<uint8_t, 32>& key_id);

}  // namespace onionmail::keys
