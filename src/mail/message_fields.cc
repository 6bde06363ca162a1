#include "mail/message_fields.h"

#include <openssl/rand.h>

#include <array>
#include <cstddef>
#include <cstdio>

namespace onionmail::mail {
namespace {

constexpr size_t kMessageIdRandomBytes = 16;

}  // namespace

Result<std::string> Rfc5322Date(std::time_t when) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  if (gmtime_r(&when, &tm) == nullptr || tm.tm_year < 0 || tm.tm_year > 9999 - 1900) {
    return MakeError(ErrorCode::kInternal, "mail: the clock's time has no RFC 5322 date");
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday % 7],
                tm.tm_mday, kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return std::string(buf);
}

Result<std::string> NewMessageIdLocal() {
  std::array<uint8_t, kMessageIdRandomBytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return MakeError(ErrorCode::kInternal, "mail: RAND_bytes failed for a Message-ID");
  }
  return LowerHex(bytes);
}

std::string LowerHex(std::span<const uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    hex.push_back(kHex[b >> 4]);
    hex.push_back(kHex[b & 0x0F]);
  }
  return hex;
}

}  // namespace onionmail::mail
