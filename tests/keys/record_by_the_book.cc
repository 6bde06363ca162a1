// Records by the book (see record_by_the_book.h).
#include "tests/keys/record_by_the_book.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "crypto/aead.h"
#include "crypto/hex.h"
#include "crypto/inbox_key.h"
#include "crypto/kdf.h"
#include "crypto/random.h"
#include "keys/user_record.h"

namespace onionmail::keys::test_records {
namespace {

std::vector<uint8_t> Copy(const SecretBytes& s) {
  auto b = s.Reveal(SecretAccess::Grant());
  return {b.begin(), b.end()};
}

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

Result<ByTheBookRecord> MakeRecordByTheBook(hsm::KeyStore& key_store, std::string_view user,
                                            uint8_t version, const crypto::Argon2Params& params,
                                            const SecretBytes& smtp_password,
                                            const SecretBytes& pop3_password) {
  if (version != 1 && version != 2) return MakeError(ErrorCode::kInvalidArgument, "version 1 or 2");
  std::string lower(user);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  auto name = key_store.KeyedHash("user-record", Bytes(lower));
  if (!name.ok()) return name.error();
  ByTheBookRecord out;
  out.record_name = crypto::ToHex(*name);

  auto key = crypto::InboxPrivateKey::GenerateX25519();
  if (!key.ok()) return key.error();
  auto pkcs8 = key->ToDer();
  if (!pkcs8.ok()) return pkcs8.error();
  UserRecord r;
  r.version = version;
  r.public_key = key->Public().ToDer();
  r.key_id = key->Public().KeyId();
  out.key_id = r.key_id;

  // SMTP verifier: Argon2id(password, salt), 32 bytes.
  r.smtp_params = params;
  crypto::RandomBytes(r.smtp_salt);
  auto verifier = crypto::Argon2idDerive(smtp_password, r.smtp_salt, params, 32);
  if (!verifier.ok()) return verifier.error();
  auto v = Copy(*verifier);
  std::copy(v.begin(), v.end(), r.smtp_hash.begin());

  // POP3 wrap: P = Argon2id(password, salt); D = InboxWrapSecret(salt [|| P]);
  // wrap key = HKDF(P || D, info of the version); AEAD over the PKCS#8 key.
  r.pop3_params = params;
  crypto::RandomBytes(r.pop3_salt);
  auto p = crypto::Argon2idDerive(pop3_password, r.pop3_salt, params);
  if (!p.ok()) return p.error();
  const std::vector<uint8_t> pb = Copy(*p);
  std::vector<uint8_t> device_input(r.pop3_salt.begin(), r.pop3_salt.end());
  if (version == 2) device_input.insert(device_input.end(), pb.begin(), pb.end());
  auto d = key_store.InboxWrapSecret(device_input);
  if (!d.ok()) return d.error();
  std::vector<uint8_t> ikm = pb;
  const std::vector<uint8_t> db = Copy(*d);
  ikm.insert(ikm.end(), db.begin(), db.end());
  auto wrap = crypto::HkdfSha256(
      SecretBytes(SecretAccess::Grant(), std::span<const uint8_t>(ikm)), {},
      version == 2 ? "onionmail inbox-key wrap v3" : "onionmail inbox-key wrap v2", 32);
  std::fill(ikm.begin(), ikm.end(), 0);
  if (!wrap.ok()) return wrap.error();
  auto enc = crypto::AeadSeal(*wrap, pkcs8->Reveal(SecretAccess::Grant()), PrivateKeyAad(r.key_id));
  if (!enc.ok()) return enc.error();
  r.encrypted_private_key = std::move(*enc);

  SecretBytes encoded = EncodeUserRecord(r);
  auto sealed = key_store.SealRecord(encoded.Reveal(SecretAccess::Grant()), Bytes(out.record_name));
  if (!sealed.ok()) return sealed.error();
  out.sealed = std::move(*sealed);
  return out;
}

Result<void> WriteRecordFile(const std::string& state_dir, const ByTheBookRecord& record) {
  const std::string dir = state_dir + "/users";
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return MakeError(ErrorCode::kInternal, "cannot create " + dir);
  }
  const std::string path = dir + "/" + record.record_name;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return MakeError(ErrorCode::kAlreadyExists, "cannot create " + path);
  const ssize_t n = ::write(fd, record.sealed.data(), record.sealed.size());
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (n != static_cast<ssize_t>(record.sealed.size()) || !synced) {
    return MakeError(ErrorCode::kInternal, "cannot write " + path);
  }
  return Ok();
}

}  // namespace onionmail::keys::test_records
