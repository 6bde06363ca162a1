// Hex encoding helpers for non-secret data (ids, hashed names, digests).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace onionmail::crypto {

std::string ToHex(std::span<const uint8_t> bytes);
std::optional<std::vector<uint8_t>> FromHex(std::string_view hex);

}  // namespace onionmail::crypto
