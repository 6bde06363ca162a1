// make_fuzz_seeds <dir>: writes the binary seeds of the stored_blob fuzz
// target into <dir> (normally tests/fuzz/corpus/stored_blob), produced by the
// real encoders: an encoded user record and message files encrypted to the
// fixed test key (fuzz_test_key.h). Run once; the output is committed.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"
#include "crypto/aead.h"
#include "crypto/inbox_key.h"
#include "crypto/random.h"
#include "keys/user_record.h"
#include "store/message_file.h"
#include "tests/fuzz/fuzz_test_key.h"

namespace {

using namespace onionmail;

bool WriteFile(const std::string& path, std::span<const uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

std::vector<uint8_t> UserRecordSeed(const crypto::InboxPrivateKey& key) {
  keys::UserRecord r;
  r.smtp_params = {3, 65536, 1};
  r.smtp_salt.fill(0x11);
  r.smtp_hash.fill(0x22);
  r.pop3_params = {3, 65536, 1};
  r.pop3_salt.fill(0x33);
  r.public_key = key.Public().ToDer();
  r.key_id = key.Public().KeyId();
  auto pkcs8 = key.ToDer();
  ONIONMAIL_CHECK(pkcs8.ok());
  auto sealed =
      crypto::AeadSeal(crypto::RandomSecret(crypto::kAeadKeyBytes),
                       pkcs8->Reveal(SecretAccess::Grant()), keys::PrivateKeyAad(r.key_id));
  ONIONMAIL_CHECK(sealed.ok());
  r.encrypted_private_key = *sealed;
  SecretBytes encoded = keys::EncodeUserRecord(r);
  auto view = encoded.Reveal(SecretAccess::Grant());
  return std::vector<uint8_t>(view.begin(), view.end());
}

std::vector<uint8_t> MessageSeed(const crypto::InboxPrivateKey& key, std::string_view message) {
  auto enc = store::MessageEncryptor::Create(key.Public());
  ONIONMAIL_CHECK(enc.ok());
  std::vector<uint8_t> body;
  crypto::ByteSink sink = [&](std::span<const uint8_t> b) -> Result<void> {
    body.insert(body.end(), b.begin(), b.end());
    return Ok();
  };
  ONIONMAIL_CHECK(
      (*enc)
          ->Update({reinterpret_cast<const uint8_t*>(message.data()), message.size()}, sink)
          .ok());
  auto meta = (*enc)->Finish(1700000000ull * 1000000000ull, sink);
  ONIONMAIL_CHECK(meta.ok());
  std::vector<uint8_t> file = (*enc)->header();
  file.insert(file.end(), meta->begin(), meta->end());
  file.insert(file.end(), body.begin(), body.end());
  return file;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_fuzz_seeds <corpus/stored_blob dir>\n");
    return 2;
  }
  const std::string dir = argv[1];
  auto key = crypto::InboxPrivateKey::FromDer(
      SecretBytes(SecretAccess::Grant(), std::span<const uint8_t>(fuzz::kFuzzRsaKeyDer)));
  ONIONMAIL_CHECK(key.ok());
  auto x25519 = crypto::InboxPrivateKey::FromDer(
      SecretBytes(SecretAccess::Grant(), std::span<const uint8_t>(fuzz::kFuzzX25519KeyDer)));
  ONIONMAIL_CHECK(x25519.ok());
  bool ok =
      WriteFile(dir + "/user_record", UserRecordSeed(*key)) &&
      WriteFile(dir + "/user_record_x25519", UserRecordSeed(*x25519)) &&
      WriteFile(dir + "/message_x25519",
                MessageSeed(*x25519, "Subject: hi\r\n\r\nhello\r\n.\r\n")) &&
      WriteFile(dir + "/message_small", MessageSeed(*key, "Subject: hi\r\n\r\nhello\r\n.\r\n")) &&
      WriteFile(dir + "/message_empty", MessageSeed(*key, ""));
  return ok ? 0 : 1;
}
