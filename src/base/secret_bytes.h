// SecretBytes: the one container for secret material in RAM (passwords,
// password-derived keys, data keys, the server key).
//
// Contract:
//  - Storage comes from OpenSSL's secure heap when InitSecureMemory() has
//    succeeded (mlock'ed, MADV_DONTDUMP, guard pages); otherwise from the
//    normal heap. In both cases the bytes are wiped (OPENSSL_cleanse) when the
//    object is destroyed, resized or moved from.
//  - Move-only; no operator<<, no implicit conversion to a string.
//  - Reading or writing the raw bytes needs a SecretAccess token, obtained only
//    through SecretAccess::Grant(): every raw access is greppable.
//  - Equals() compares in constant time (CRYPTO_memcmp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace onionmail {

class SecretAccess {
 public:
  // The single, greppable way to get raw access to a secret.
  static SecretAccess Grant() { return SecretAccess(); }

 private:
  SecretAccess() = default;
};

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t size);  // zero-filled
  SecretBytes(SecretAccess, std::span<const uint8_t> bytes);
  SecretBytes(SecretAccess, std::string_view bytes);
  ~SecretBytes();

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  std::span<uint8_t> Reveal(SecretAccess) { return {data_, size_}; }
  std::span<const uint8_t> Reveal(SecretAccess) const { return {data_, size_}; }
  std::string_view RevealString(SecretAccess) const {
    return {reinterpret_cast<const char*>(data_), size_};
  }

  // Shrinks the logical size (bytes past the new size are wiped).
  void Truncate(size_t new_size);

  // A copy; explicit because copies of secrets should be rare.
  SecretBytes Clone() const;

  bool Equals(const SecretBytes& other) const;

 private:
  void Release();
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Sets up OpenSSL's secure heap and makes the process non-dumpable with no
// core files. Call once at start-up of every binary that handles secrets.
// Returns false when the secure heap could not be created (secrets then live
// on the normal heap, still wiped on free); the caller logs it.
bool InitSecureMemory(size_t heap_bytes = size_t{1} << 21);

// Wipes a buffer that is not a SecretBytes (e.g. an I/O buffer that held a
// password line).
void WipeMemory(void* p, size_t n);

}  // namespace onionmail
