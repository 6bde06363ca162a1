// Signature-block guard; see sign_guard.h.
#include "server/sign_guard.h"

#include <openssl/evp.h>

#include <vector>

namespace onionmail::server {
namespace {

bool IsPkcs1V15(std::span<const uint8_t> b) {
  if (b.size() < 11 + 1 || b[0] != 0x00 || b[1] != 0x01) return false;
  size_t i = 2;
  while (i < b.size() && b[i] == 0xff) ++i;
  if (i - 2 < 8 || i >= b.size() || b[i] != 0x00) return false;
  size_t t_len = b.size() - i - 1;
  return t_len >= 1 && t_len <= 83;
}

// MGF1 (RFC 8017 B.2.1) of `seed` into `out` (XORed in place).
bool XorMgf1(const EVP_MD* md, std::span<const uint8_t> seed, std::span<uint8_t> out) {
  const size_t h_len = static_cast<size_t>(EVP_MD_get_size(md));
  std::vector<uint8_t> digest(h_len);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return false;
  bool ok = true;
  for (uint32_t counter = 0, done = 0; ok && done < out.size(); ++counter) {
    uint8_t c[4] = {static_cast<uint8_t>(counter >> 24), static_cast<uint8_t>(counter >> 16),
                    static_cast<uint8_t>(counter >> 8), static_cast<uint8_t>(counter)};
    ok = EVP_DigestInit_ex(ctx, md, nullptr) == 1 &&
         EVP_DigestUpdate(ctx, seed.data(), seed.size()) == 1 && EVP_DigestUpdate(ctx, c, 4) == 1 &&
         EVP_DigestFinal_ex(ctx, digest.data(), nullptr) == 1;
    for (size_t j = 0; ok && j < h_len && done < out.size(); ++j) out[done++] ^= digest[j];
  }
  EVP_MD_CTX_free(ctx);
  return ok;
}

bool IsPss(std::span<const uint8_t> em, size_t em_bits, const EVP_MD* md) {
  const size_t h_len = static_cast<size_t>(EVP_MD_get_size(md));
  const size_t em_len = (em_bits + 7) / 8;
  if (em.size() != em_len || em_len < 2 * h_len + 2 + 8 || em.back() != 0xbc) return false;
  const size_t db_len = em_len - h_len - 1;
  const unsigned top_mask = 0xffu >> (8 * em_len - em_bits);
  if ((em[0] & ~top_mask) != 0) return false;
  std::vector<uint8_t> db(em.begin(), em.begin() + static_cast<std::ptrdiff_t>(db_len));
  if (!XorMgf1(md, em.subspan(db_len, h_len), db)) return false;
  db[0] &= static_cast<uint8_t>(top_mask);
  const size_t ps_len = db_len - h_len - 1;  // salt length == hash length
  for (size_t i = 0; i < ps_len; ++i) {
    if (db[i] != 0) return false;
  }
  return db[ps_len] == 0x01;
}

}  // namespace

bool IsSignatureBlock(std::span<const uint8_t> block, size_t modulus_bits) {
  if (modulus_bits < 1024 || block.size() != (modulus_bits + 7) / 8) return false;
  if (IsPkcs1V15(block)) return true;
  // EM has emBits = modBits - 1; when that is a multiple of 8 the block has
  // one leading zero byte more than EM.
  const size_t em_bits = modulus_bits - 1;
  std::span<const uint8_t> em = block;
  if (em_bits % 8 == 0) {
    if (block[0] != 0) return false;
    em = block.subspan(1);
  }
  for (const EVP_MD* md : {EVP_sha256(), EVP_sha384(), EVP_sha512()}) {
    if (IsPss(em, em_bits, md)) return true;
  }
  return false;
}

}  // namespace onionmail::server
