// The server's unseal enrolment record: which peers hold a share of the master key M,
// how to rebuild each share key K_i with them, and the encrypted shares.
//
// Stored at <state>/unseal/enrolment (file 0600, directory 0700). The file holds exactly
// KeyStore::SealRecord(plaintext, aad = "onionmail-enrolment-v1") of the device, so a disk
// without the device shows nothing but the file size. The plaintext contains no secret in
// the clear (only ciphertexts and public points); it is:
//
//   u8 version (1) || u8 t || u8 n || commitment (32)
//   || v16 local_sealed_share || u8 count (= n - 1)
//   || count * ( v8 peer_id || tls_pin (32) || S_i (65) || C_i (65) || u8 x
//                || v16 encrypted_share )
//
//   commitment         = HMAC-SHA256(key = M, "onionmail-master-commit-v1")
//   local_sealed_share = KeyStore::SealRecord(share x = 1 (33-byte encoding of shamir.h),
//                                             aad = "onionmail-local-share-v1")
//   encrypted_share    = crypto::AeadSeal(K_i, share x (33-byte encoding),
//                                         aad = "onionmail-share-v1" || v8 peer_id || u8 x)
//                        (12-byte nonce || 33 bytes || 16-byte tag = 61 bytes)
//   K_i                = KDF(c_i * S_i, peer_id) of ecmr.h; c_i is forgotten, C_i = c_i * G.
//
// Integers are big-endian; "v8/v16 x" is a 1/2-byte length then x.
//
// Contract:
//  - DecodeEnrolmentRecord refuses (kDataLoss, the record is stored data) a wrong version,
//    t/n outside 2 <= t <= n <= 32, count != n - 1, an empty or duplicate peer_id, an
//    invalid point, x outside 2..n or repeated, an encrypted share that is not 61 bytes, an
//    empty local share, short input and trailing bytes. EncodeEnrolmentRecord never emits
//    what the decoder refuses (it checks the same rules, kInvalidArgument).
//  - ReadEnrolmentRecord: kNotFound when there is no record, kDataLoss when the file fails
//    authentication with the device or does not parse. WriteEnrolmentRecord with
//    replace = false fails with kAlreadyExists (atomically) when a record exists.
//  - Nothing here is secret; error messages never contain peer ids or key material.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "crypto/kdf.h"
#include "hsm/key_store.h"
#include "unseal/ecmr.h"

namespace onionmail::unseal {

inline constexpr uint8_t kEnrolmentVersion = 1;
inline constexpr std::string_view kEnrolmentAad = "onionmail-enrolment-v1";
inline constexpr std::string_view kLocalShareAad = "onionmail-local-share-v1";
inline constexpr std::string_view kShareAadLabel = "onionmail-share-v1";
inline constexpr std::string_view kCommitmentLabel = "onionmail-master-commit-v1";
inline constexpr std::string_view kUnsealDirName = "unseal";
inline constexpr std::string_view kEnrolmentFileName = "enrolment";
// crypto::AeadSeal of a 33-byte share encoding.
inline constexpr size_t kEncryptedShareSize = 12 + 33 + 16;
inline constexpr size_t kMaxEnrolmentFileSize = 64 * 1024;

struct EnrolledPeer {
  std::string peer_id;                   // 1..255 bytes, bound into K_i and the share aad
  std::array<uint8_t, 32> tls_pin{};     // SHA-256 of the peer's TLS SubjectPublicKeyInfo
  Point S{};                             // the peer's public key for this server
  Point C{};                             // c_i * G
  uint8_t x = 0;                         // the Shamir x of the share this peer unlocks
  std::vector<uint8_t> encrypted_share;  // kEncryptedShareSize bytes
};

struct EnrolmentRecord {
  int t = 0;
  int n = 0;
  crypto::Digest commitment{};
  std::vector<uint8_t> local_sealed_share;  // x = 1, sealed by the device
  std::vector<EnrolledPeer> peers;          // n - 1 entries
};

// "onionmail-share-v1" || v8 peer_id || x (peer_id must be 1..255 bytes).
std::vector<uint8_t> ShareAad(std::string_view peer_id, uint8_t x);

// HMAC-SHA256(key = M, "onionmail-master-commit-v1"); M must be 32 bytes.
[[nodiscard]] Result<crypto::Digest> MasterKeyCommitment(const SecretBytes& master_key);

[[nodiscard]] Result<std::vector<uint8_t>> EncodeEnrolmentRecord(const EnrolmentRecord& record);
[[nodiscard]] Result<EnrolmentRecord> DecodeEnrolmentRecord(std::span<const uint8_t> plaintext);

// <state_dir>/unseal and <state_dir>/unseal/enrolment.
std::string UnsealDir(const std::string& state_dir);
std::string EnrolmentPath(const std::string& state_dir);

// Seals the record with the device and publishes it durably (creates the 0700 directory).
[[nodiscard]] Result<void> WriteEnrolmentRecord(const std::string& state_dir, hsm::KeyStore& device,
                                                const EnrolmentRecord& record, bool replace);
[[nodiscard]] Result<EnrolmentRecord> ReadEnrolmentRecord(const std::string& state_dir,
                                                          hsm::KeyStore& device);

}  // namespace onionmail::unseal
