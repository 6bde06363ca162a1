// TkimVouches; see tkim_vouch.h.
#include "server/tkim_vouch.h"

#include <openssl/crypto.h>

#include "crypto/kdf.h"
#include "crypto/random.h"
#include "ipc/bounds.h"
#include "mail/relay.h"

namespace onionmail::server {
namespace {

constexpr size_t kExpiryBytes = 8;
static_assert(ipc::kTkimVouchBytes == kExpiryBytes + 32);

bool LowerCase(std::string_view s) {
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') return false;
  }
  return true;
}

}  // namespace

TkimVouches::TkimVouches() : key_(crypto::RandomSecret(32)) {}

Result<std::vector<uint8_t>> TkimVouches::Mac(std::string_view domain, uint64_t expiry) const {
  std::vector<uint8_t> data(kTkimVouchLabel.begin(), kTkimVouchLabel.end());
  data.push_back(0);
  data.insert(data.end(), domain.begin(), domain.end());
  data.push_back(0);
  std::vector<uint8_t> out;
  for (size_t i = 0; i < kExpiryBytes; ++i) {
    out.push_back(static_cast<uint8_t>(expiry >> (8 * (kExpiryBytes - 1 - i))));
  }
  data.insert(data.end(), out.begin(), out.end());
  auto mac = crypto::HmacSha256(key_, data);
  if (!mac.ok()) return mac.error();
  out.insert(out.end(), mac->begin(), mac->end());
  return out;
}

Result<std::vector<uint8_t>> TkimVouches::Mint(std::string_view domain,
                                               uint64_t now_unix_seconds) const {
  if (!mail::IsV3OnionDomain(domain) || !LowerCase(domain)) {
    return MakeError(ErrorCode::kInvalidArgument, "a tkim vouch is for a lower-case v3 onion");
  }
  return Mac(domain, now_unix_seconds + kTkimVouchLifetime);
}

Result<uint64_t> TkimVouches::Check(std::string_view domain, std::span<const uint8_t> vouch,
                                    uint64_t now_unix_seconds) const {
  const Error refused{ErrorCode::kUnauthenticated, "the tkim vouch does not hold"};
  if (vouch.size() != ipc::kTkimVouchBytes) return refused;
  uint64_t expiry = 0;
  for (size_t i = 0; i < kExpiryBytes; ++i) expiry = (expiry << 8) | vouch[i];
  if (expiry <= now_unix_seconds || expiry - now_unix_seconds > kTkimVouchLifetime) {
    return refused;
  }
  auto expected = Mac(domain, expiry);
  if (!expected.ok()) return expected.error();
  if (CRYPTO_memcmp(expected->data(), vouch.data(), vouch.size()) != 0) return refused;
  return expiry;
}

}  // namespace onionmail::server
