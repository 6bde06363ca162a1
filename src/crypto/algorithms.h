// Process-wide OpenSSL algorithm objects, fetched once.
//
// OpenSSL 3 looks an algorithm up by name (an "implicit fetch": name map,
// method store, property query) every time a legacy pointer such as
// EVP_aes_256_gcm() or a name such as "HMAC" is used to start an operation.
// In a tight loop the lookup is cheap (about 0.7 µs), but out of one it is
// mostly cache misses: under SMTP load the key role's HMACs of user names cost
// about 25 µs each, 15 µs with the objects fetched once (docs/benchmarks-history.md,
// fourteenth session). OpenSSL's migration guide recommends fetching once
// ("explicit fetching"); this is that.
//
// Contract: each accessor fetches on its first call (thread-safe static
// initialisation) and returns the same object for the life of the process;
// callers never free it. A fetch that fails (OpenSSL without its default
// provider) makes the accessor return nullptr for the life of the process;
// callers check for it and fail their operation with an error. The objects
// are only read after initialisation, so any thread may use them
// concurrently. HmacSha256Template() is an EVP_MAC_CTX with the digest
// already set: duplicate it (EVP_MAC_CTX_dup) and key the copy; never key or
// update the template itself. (OpenSSL 3.0 cannot duplicate an HKDF context,
// so HKDF callers still name the digest, which OpenSSL looks up per call.)
#pragma once

typedef struct evp_cipher_st EVP_CIPHER;
typedef struct evp_mac_st EVP_MAC;
typedef struct evp_mac_ctx_st EVP_MAC_CTX;
typedef struct evp_kdf_st EVP_KDF;
typedef struct evp_md_st EVP_MD;

namespace onionmail::crypto {

const EVP_CIPHER* Aes128Gcm();
const EVP_CIPHER* Aes256Gcm();
EVP_MAC* HmacAlgorithm();
const EVP_MAC_CTX* HmacSha256Template();
EVP_KDF* HkdfAlgorithm();
const EVP_MD* Sha256Md();

}  // namespace onionmail::crypto
