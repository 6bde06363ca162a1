// mail::IsV3OnionDomain and the one-after-the-other RelayBackend::OpenAll
// (contract in mail/relay.h).
#include "mail/relay.h"

#include <openssl/evp.h>

#include <array>
#include <cstring>
#include <utility>
#include <vector>

namespace onionmail::mail {
namespace {

constexpr std::string_view kOnionSuffix = ".onion";
constexpr size_t kV3NameChars = 56;     // base32 of 35 bytes, no padding
constexpr size_t kV3DecodedBytes = 35;  // pubkey(32) || checksum(2) || version(1)
constexpr size_t kPubkeyBytes = 32;
constexpr uint8_t kV3Version = 3;
constexpr std::string_view kChecksumPrefix = ".onion checksum";  // rend-spec-v3, 6.

// RFC 4648 base32, lower-case alphabet only; -1 for any other byte.
int Base32Value(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

}  // namespace

bool IsV3OnionDomain(std::string_view domain) {
  if (domain.size() != kV3NameChars + kOnionSuffix.size()) return false;
  if (domain.substr(kV3NameChars) != kOnionSuffix) return false;

  std::array<uint8_t, kV3DecodedBytes> raw{};
  uint32_t bits = 0;
  int bit_count = 0;
  size_t out = 0;
  for (char c : domain.substr(0, kV3NameChars)) {
    int value = Base32Value(c);
    if (value < 0) return false;
    bits = (bits << 5) | static_cast<uint32_t>(value);
    bit_count += 5;
    if (bit_count >= 8) {
      bit_count -= 8;
      raw[out++] = static_cast<uint8_t>(bits >> bit_count);
      bits &= (1u << bit_count) - 1;
    }
  }
  // 56 * 5 = 280 bits = exactly 35 bytes: nothing left over.
  if (out != kV3DecodedBytes || bit_count != 0) return false;
  if (raw[kV3DecodedBytes - 1] != kV3Version) return false;

  // checksum = SHA3-256(".onion checksum" || pubkey || version)[:2]
  std::array<uint8_t, kChecksumPrefix.size() + kPubkeyBytes + 1> input{};
  std::memcpy(input.data(), kChecksumPrefix.data(), kChecksumPrefix.size());
  std::memcpy(input.data() + kChecksumPrefix.size(), raw.data(), kPubkeyBytes);
  input.back() = kV3Version;
  std::array<uint8_t, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_len = 0;
  if (EVP_Digest(input.data(), input.size(), digest.data(), &digest_len, EVP_sha3_256(), nullptr) !=
          1 ||
      digest_len != 32) {
    return false;
  }
  return digest[0] == raw[kPubkeyBytes] && digest[1] == raw[kPubkeyBytes + 1];
}

RelayOpened OpenOne(RelayBackend& backend, const RelayOpening& server,
                    std::string_view reverse_path, const MailParameters& params) {
  RelayOpened opened{backend.Begin(server.domain, reverse_path, params), {}};
  if (!opened.begun.ok() || opened.begun->transaction == nullptr) return opened;
  for (const std::string& path : server.forward_paths) {
    opened.rcpts.push_back(opened.begun->transaction->Rcpt(path));
    if (!opened.rcpts.back().ok()) break;
  }
  return opened;
}

std::vector<RelayOpened> RelayBackend::OpenAll(std::span<const RelayOpening> servers,
                                               std::string_view reverse_path,
                                               const MailParameters& params) {
  std::vector<RelayOpened> opened;
  opened.reserve(servers.size());
  for (const RelayOpening& server : servers) {
    opened.push_back(OpenOne(*this, server, reverse_path, params));
  }
  return opened;
}

}  // namespace onionmail::mail
