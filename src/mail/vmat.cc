// VMAT aliases and their records (contract in mail/vmat.h).
#include "mail/vmat.h"

#include "base/ascii.h"
#include "mail/backend.h"
#include "mail/mailing_list.h"
#include "mail/registration.h"

namespace onionmail::mail {
namespace {

constexpr uint8_t kRecordVersion = 1;

}  // namespace

bool ValidVmatAlias(std::string_view alias) {
  return ValidLocalPart(alias) && !ReservedUserName(alias);
}

bool ValidVmatTarget(std::string_view target) {
  return target.size() <= kMaxVmatTargetBytes && IsRemoteMember(target) && ValidListMember(target);
}

std::optional<std::string> CanonicalVmatAlias(std::string_view text, std::string_view exit_domain) {
  std::string lower = AsciiLower(text);
  if (size_t at = lower.find('@'); at != std::string::npos) {
    if (exit_domain.empty() || lower.substr(at + 1) != AsciiLower(exit_domain)) return std::nullopt;
    lower.resize(at);
  }
  if (!ValidVmatAlias(lower)) return std::nullopt;
  return lower;
}

std::optional<std::string> CanonicalVmatTarget(std::string_view text) {
  std::string lower = AsciiLower(text);
  if (!ValidVmatTarget(lower)) return std::nullopt;
  return lower;
}

std::vector<uint8_t> EncodeVmatRecord(const VmatRecord& record) {
  std::vector<uint8_t> out;
  out.reserve(3 + record.alias.size() + record.target.size());
  out.push_back(kRecordVersion);
  out.push_back(static_cast<uint8_t>(record.alias.size()));
  out.insert(out.end(), record.alias.begin(), record.alias.end());
  out.push_back(static_cast<uint8_t>(record.target.size()));
  out.insert(out.end(), record.target.begin(), record.target.end());
  return out;
}

std::optional<VmatRecord> DecodeVmatRecord(const std::vector<uint8_t>& bytes) {
  size_t pos = 0;
  auto take = [&](std::string& field) {
    if (pos >= bytes.size()) return false;
    const size_t len = bytes[pos++];
    if (bytes.size() - pos < len) return false;
    field.assign(bytes.begin() + static_cast<std::ptrdiff_t>(pos),
                 bytes.begin() + static_cast<std::ptrdiff_t>(pos + len));
    pos += len;
    return true;
  };
  if (bytes.empty() || bytes[0] != kRecordVersion) return std::nullopt;
  pos = 1;
  VmatRecord record;
  if (!take(record.alias) || !take(record.target) || pos != bytes.size()) return std::nullopt;
  if (!ValidVmatAlias(record.alias) || !ValidVmatTarget(record.target)) return std::nullopt;
  return record;
}

}  // namespace onionmail::mail
