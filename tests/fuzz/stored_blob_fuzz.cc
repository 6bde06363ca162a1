// Fuzz target: the decoders of bytes read back from disk.
//  - keys::DecodeUserRecord (src/keys/user_record.h) on the whole input;
//  - store::MessageReader (src/store/message_file.h) on the whole input as a
//    message file (in a memfd): header parsing, DEK unwrap with the fixed
//    test keys (fuzz_test_key.h: RSA, and X25519 for 80-byte wraps), metadata AEAD, then ReadBody.
// Checked besides memory safety: a decoded user record re-encodes to exactly
// the input bytes; a message body that reads back fine has exactly meta.size
// bytes.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "base/log.h"
#include "base/result.h"
#include "base/secret_bytes.h"
#include "crypto/inbox_key.h"
#include "keys/user_record.h"
#include "store/message_file.h"
#include "tests/fuzz/fuzz_test_key.h"

namespace {

using namespace onionmail;

const crypto::InboxPrivateKey* LoadKey(std::span<const uint8_t> der) {
  auto k = crypto::InboxPrivateKey::FromDer(SecretBytes(SecretAccess::Grant(), der));
  ONIONMAIL_CHECK(k.ok());
  return new crypto::InboxPrivateKey(std::move(*k));
}

// The wrap size says which key: 80 bytes for X25519 (HPKE), else RSA-OAEP.
const crypto::InboxPrivateKey& TestKey(size_t wrapped_size) {
  static const crypto::InboxPrivateKey* rsa = LoadKey(fuzz::kFuzzRsaKeyDer);
  static const crypto::InboxPrivateKey* x25519 = LoadKey(fuzz::kFuzzX25519KeyDer);
  return wrapped_size == crypto::kX25519WrappedBytes ? *x25519 : *rsa;
}

// RSA private operations are slow; remember the last successful unwrap so
// mutations of the rest of a seed file run at full speed.
Result<SecretBytes> Unwrap(std::span<const uint8_t> wrapped) {
  static std::vector<uint8_t> last_wrapped;
  static std::optional<SecretBytes> last_dek;
  if (last_dek && wrapped.size() == last_wrapped.size() &&
      std::equal(wrapped.begin(), wrapped.end(), last_wrapped.begin())) {
    return last_dek->Clone();
  }
  auto dek = TestKey(wrapped.size()).Unwrap(wrapped);
  if (!dek.ok()) return dek.error();
  last_wrapped.assign(wrapped.begin(), wrapped.end());
  last_dek = dek->Clone();
  return dek;
}

void FuzzUserRecord(std::span<const uint8_t> bytes) {
  auto record = keys::DecodeUserRecord(bytes);
  if (!record.ok()) {
    ONIONMAIL_CHECK(record.error().code == ErrorCode::kDataLoss);
    return;
  }
  SecretBytes again = keys::EncodeUserRecord(*record);
  auto view = again.Reveal(SecretAccess::Grant());
  ONIONMAIL_CHECK(view.size() == bytes.size());
  ONIONMAIL_CHECK(std::memcmp(view.data(), bytes.data(), bytes.size()) == 0);
}

void FuzzMessageFile(std::span<const uint8_t> bytes) {
  static const int fd = ::memfd_create("stored_blob_fuzz", MFD_CLOEXEC);
  ONIONMAIL_CHECK(fd >= 0);
  ONIONMAIL_CHECK(::ftruncate(fd, 0) == 0);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    ONIONMAIL_CHECK(n > 0);
    done += static_cast<size_t>(n);
  }
  ONIONMAIL_CHECK(::lseek(fd, 0, SEEK_SET) == 0);
  auto reader = store::MessageReader::Open(fd, "fuzz", Unwrap);
  if (!reader.ok()) return;
  uint64_t received = 0;
  auto body = (*reader)->ReadBody([&](std::span<const uint8_t> plain) -> Result<void> {
    received += plain.size();
    return Ok();
  });
  if (body.ok()) ONIONMAIL_CHECK(received == (*reader)->meta().size);
  // A second read is refused, not undefined.
  ONIONMAIL_CHECK(!(*reader)->ReadBody([](std::span<const uint8_t>) { return Ok(); }).ok());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  log::SetLevel(log::Level::kError);
  (void)TestKey(0);  // load both keys before fuzzing starts
  (void)TestKey(crypto::kX25519WrappedBytes);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  FuzzUserRecord(bytes);
  FuzzMessageFile(bytes);
  return 0;
}
