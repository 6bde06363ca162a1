// Implementation of SecretBytes over OpenSSL's secure heap.
#include "base/secret_bytes.h"

#include <openssl/crypto.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cstring>

namespace onionmail {

namespace {
uint8_t* Allocate(size_t n) {
  if (n == 0) return nullptr;
  void* p = OPENSSL_secure_zalloc(n);
  if (p == nullptr) std::abort();  // out of memory is fatal
  return static_cast<uint8_t*>(p);
}
}  // namespace

SecretBytes::SecretBytes(size_t size) : data_(Allocate(size)), size_(size) {}

SecretBytes::SecretBytes(SecretAccess, std::span<const uint8_t> bytes)
    : data_(Allocate(bytes.size())), size_(bytes.size()) {
  if (size_ != 0) std::memcpy(data_, bytes.data(), size_);
}

SecretBytes::SecretBytes(SecretAccess, std::string_view bytes)
    : data_(Allocate(bytes.size())), size_(bytes.size()) {
  if (size_ != 0) std::memcpy(data_, bytes.data(), size_);
}

SecretBytes::~SecretBytes() { Release(); }

SecretBytes::SecretBytes(SecretBytes&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

void SecretBytes::Release() {
  if (data_ != nullptr) OPENSSL_secure_clear_free(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

void SecretBytes::Truncate(size_t new_size) {
  if (new_size >= size_) return;
  OPENSSL_cleanse(data_ + new_size, size_ - new_size);
  size_ = new_size;
}

SecretBytes SecretBytes::Clone() const {
  return SecretBytes(SecretAccess::Grant(), Reveal(SecretAccess::Grant()));
}

bool SecretBytes::Equals(const SecretBytes& other) const {
  if (size_ != other.size_) return false;
  if (size_ == 0) return true;
  return CRYPTO_memcmp(data_, other.data_, size_) == 0;
}

bool InitSecureMemory(size_t heap_bytes) {
  // No core files and no ptrace attach by other users of the same uid.
  struct rlimit no_core = {0, 0};
  (void)setrlimit(RLIMIT_CORE, &no_core);
  (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (CRYPTO_secure_malloc_initialized()) return true;
  return CRYPTO_secure_malloc_init(heap_bytes, 32) == 1;
}

void WipeMemory(void* p, size_t n) {
  if (p != nullptr && n != 0) OPENSSL_cleanse(p, n);
}

}  // namespace onionmail
