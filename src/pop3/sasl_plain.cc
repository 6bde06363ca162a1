#include "pop3/sasl_plain.h"

#include <openssl/evp.h>

#include <cstdint>

#include "pop3/command.h"

namespace onionmail::pop3 {
namespace {

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// Checks the canonical form and returns the number of '=' pad characters.
bool ValidBase64(std::string_view text, size_t* padding) {
  if (text.empty() || text.size() % 4 != 0) return false;
  size_t pad = 0;
  while (pad < 2 && text[text.size() - 1 - pad] == '=') ++pad;
  for (size_t i = 0; i < text.size() - pad; ++i) {
    if (!IsBase64Char(text[i])) return false;
  }
  *padding = pad;
  return true;
}

Error Malformed() {
  return MakeError(ErrorCode::kInvalidArgument, "malformed SASL PLAIN response");
}

}  // namespace

Result<PlainCredentials> DecodeSaslPlain(std::string_view base64) {
  size_t padding = 0;
  if (base64.size() > 4096 || !ValidBase64(base64, &padding)) return Malformed();
  SecretBytes decoded(base64.size() / 4 * 3);
  auto raw = decoded.Reveal(SecretAccess::Grant());
  int n = EVP_DecodeBlock(raw.data(), reinterpret_cast<const unsigned char*>(base64.data()),
                          static_cast<int>(base64.size()));
  if (n < 0 || static_cast<size_t>(n) != decoded.size()) return Malformed();
  decoded.Truncate(decoded.size() - padding);

  std::string_view plain = decoded.RevealString(SecretAccess::Grant());
  size_t first = plain.find('\0');
  if (first == std::string_view::npos) return Malformed();
  size_t second = plain.find('\0', first + 1);
  if (second == std::string_view::npos) return Malformed();
  if (plain.find('\0', second + 1) != std::string_view::npos) return Malformed();
  std::string_view authzid = plain.substr(0, first);
  std::string_view authcid = plain.substr(first + 1, second - first - 1);
  std::string_view password = plain.substr(second + 1);
  if (authcid.empty() || password.empty()) return Malformed();
  if (!authzid.empty() && !AsciiEqualsIgnoreCase(authzid, authcid)) return Malformed();

  PlainCredentials out;
  out.authcid = std::string(authcid);
  out.password = SecretBytes(SecretAccess::Grant(), password);
  return out;
}

}  // namespace onionmail::pop3
