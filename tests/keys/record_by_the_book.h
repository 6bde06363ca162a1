// Test support: user records built from the documented formulas of
// docs/store.md ("users/<record name>") with public building blocks only
// (Argon2id, HKDF-SHA256, AES-256-GCM and the key store's KeyedHash,
// InboxWrapSecret and SealRecord), so that tests check the key service against
// the documentation rather than against itself. Version 1 is what servers
// before version 2 wrote; nothing in the product writes it any more.
//
// Contract: MakeRecordByTheBook returns the sealed record, its name
// (hex KeyedHash("user-record", lower-cased user)) and the inbox key id;
// WriteRecordFile creates <state>/users/<name> (0600, O_EXCL; users/ made
// 0700 if missing). Errors are Results naming what failed.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"
#include "crypto/argon2id.h"
#include "hsm/key_store.h"

namespace onionmail::keys::test_records {

struct ByTheBookRecord {
  std::string record_name;
  std::vector<uint8_t> sealed;
  std::array<uint8_t, 32> key_id{};
};

[[nodiscard]] Result<ByTheBookRecord> MakeRecordByTheBook(hsm::KeyStore& key_store,
                                                          std::string_view user, uint8_t version,
                                                          const crypto::Argon2Params& params,
                                                          const SecretBytes& smtp_password,
                                                          const SecretBytes& pop3_password);

[[nodiscard]] Result<void> WriteRecordFile(const std::string& state_dir,
                                           const ByTheBookRecord& record);

}  // namespace onionmail::keys::test_records
