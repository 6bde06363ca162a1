// Argon2id (version 1.3): libsodium's crypto_pwhash_argon2id where it
// applies, libargon2's argon2id_hash_raw otherwise (see argon2id.h).
#include "crypto/argon2id.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <sodium.h>

#include <cerrno>
#include <climits>

#include "crypto/huge_pages.h"

namespace onionmail::crypto {

namespace {

constexpr uint32_t kMaxMemoryKib = uint32_t{4} * 1024 * 1024;  // 4 GiB

Result<void> CheckParams(const Argon2Params& p) {
  if (p.t_cost < 1 || p.m_cost_kib < 8 || p.parallelism < 1) {
    return MakeError(ErrorCode::kInvalidArgument, "argon2id parameters below the floor");
  }
  if (p.m_cost_kib > kMaxMemoryKib || p.t_cost > kArgon2MaxTimeCost ||
      p.parallelism > kArgon2MaxParallelism) {
    return MakeError(ErrorCode::kInvalidArgument, "argon2id parameters too high");
  }
  if (p.m_cost_kib < 8 * p.parallelism) {
    return MakeError(ErrorCode::kInvalidArgument, "argon2id memory below 8 KiB per lane");
  }
  return Ok();
}

Error MapArgon2Error(int rc) {
  switch (rc) {
    case ARGON2_MEMORY_ALLOCATION_ERROR:
      return MakeError(ErrorCode::kResourceExhausted, "argon2id: out of memory");
    case ARGON2_THREAD_FAIL:
      return MakeError(ErrorCode::kInternal, "argon2id: thread failure");
    default:
      return MakeError(ErrorCode::kInvalidArgument,
                       std::string("argon2id: ") + argon2_error_message(rc));
  }
}

enum class Impl { kFastest, kReference };

// sodium_init() selects the vector code for this CPU; it is called once, on
// first use (it only calls getrandom(2), which every role may).
bool SodiumReady() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

// libsodium computes Argon2id with one lane only, and takes a 16-byte salt.
// SodiumReady() comes first, so that any call (the key role's start-up one
// included, whatever [kdf] says) initialises libsodium.
bool SodiumServes(const Argon2Params& p, size_t salt_len, size_t out_len) {
  return SodiumReady() && p.parallelism == 1 && salt_len == crypto_pwhash_argon2id_SALTBYTES &&
         out_len >= crypto_pwhash_argon2id_BYTES_MIN &&
         p.t_cost >= crypto_pwhash_argon2id_OPSLIMIT_MIN &&
         size_t{p.m_cost_kib} * 1024 >= crypto_pwhash_argon2id_MEMLIMIT_MIN;
}

Result<SecretBytes> Derive(const SecretBytes& password, std::span<const uint8_t> salt,
                           const Argon2Params& params, size_t out_len, Impl impl) {
  ONIONMAIL_RETURN_IF_ERROR(CheckParams(params));
  if (out_len < ARGON2_MIN_OUTLEN || out_len > 1024) {
    return MakeError(ErrorCode::kInvalidArgument, "argon2id: bad output length");
  }
  if (salt.size() < ARGON2_MIN_SALT_LENGTH || salt.size() > 1024) {
    return MakeError(ErrorCode::kInvalidArgument, "argon2id: bad salt length");
  }
  if (password.size() > 4096) {
    return MakeError(ErrorCode::kInvalidArgument, "argon2id: password too long");
  }
  SecretBytes out(out_len);
  const auto pwd = password.Reveal(SecretAccess::Grant());
  auto hash = out.Reveal(SecretAccess::Grant());
  if (impl == Impl::kFastest && SodiumServes(params, salt.size(), out_len)) {
    // libsodium declares the password pointer non-null, even for length 0.
    const char* pwd_ptr = pwd.empty() ? "" : reinterpret_cast<const char*>(pwd.data());
    errno = 0;
    const HugePageScope huge_pages;  // its memory in huge pages where the executable can
    if (crypto_pwhash_argon2id(hash.data(), hash.size(), pwd_ptr, pwd.size(), salt.data(),
                               params.t_cost, size_t{params.m_cost_kib} * 1024,
                               crypto_pwhash_argon2id_ALG_ARGON2ID13) != 0) {
      if (errno == ENOMEM) {
        return MakeError(ErrorCode::kResourceExhausted, "argon2id: out of memory");
      }
      return MakeError(ErrorCode::kInternal, "argon2id: libsodium refused the parameters");
    }
    return out;
  }
  const int rc = argon2id_hash_raw(params.t_cost, params.m_cost_kib, params.parallelism, pwd.data(),
                                   pwd.size(), salt.data(), salt.size(), hash.data(), hash.size());
  if (rc != ARGON2_OK) return MapArgon2Error(rc);
  return out;
}

}  // namespace

Result<SecretBytes> Argon2idDerive(const SecretBytes& password, std::span<const uint8_t> salt,
                                   const Argon2Params& params, size_t out_len) {
  return Derive(password, salt, params, out_len, Impl::kFastest);
}

const char* Argon2idImplementation(const Argon2Params& params, size_t salt_len, size_t out_len) {
  return SodiumServes(params, salt_len, out_len) ? "libsodium" : "libargon2";
}

Result<SecretBytes> Argon2idDeriveReference(const SecretBytes& password,
                                            std::span<const uint8_t> salt,
                                            const Argon2Params& params, size_t out_len) {
  return Derive(password, salt, params, out_len, Impl::kReference);
}

Result<void> Argon2idVerify(const SecretBytes& password, std::span<const uint8_t> salt,
                            const Argon2Params& params, std::span<const uint8_t> expected) {
  auto derived = Argon2idDerive(password, salt, params, expected.size());
  if (!derived.ok()) return derived.error();
  const auto got = derived->Reveal(SecretAccess::Grant());
  if (CRYPTO_memcmp(got.data(), expected.data(), expected.size()) != 0) {
    return MakeError(ErrorCode::kUnauthenticated, "password mismatch");
  }
  return Ok();
}

}  // namespace onionmail::crypto
