#include "smtp/auth.h"

#include <cstdint>
#include <optional>

#include "smtp/address.h"

namespace onionmail::smtp {
namespace {

constexpr size_t kMaxField = 255;  // RFC 4616 limit for authcid and passwd

// Wipes a temporary string that held credentials, then empties it.
void Wipe(std::string& s) {
  WipeMemory(s.data(), s.size());
  s.clear();
}

std::string NormalizeUser(std::string_view authcid, std::string_view own_domain) {
  std::string user = AsciiLower(authcid);
  size_t at = user.rfind('@');
  if (at != std::string::npos &&
      AsciiEqualsIgnoreCase(std::string_view(user).substr(at + 1), own_domain)) {
    user.resize(at);
  }
  return user;
}

enum class LineStatus { kOk, kBareLineEnding, kTooLong };

// Reads one continuation line into `text` and wipes the connection buffers.
Result<LineStatus> ReadCredentialLine(net::Connection& conn, size_t max_line, std::string& text) {
  ONIONMAIL_RETURN_IF_ERROR(conn.Flush());
  auto line = conn.ReadLine(max_line);
  conn.WipeBuffers();
  if (!line.ok()) return line.error();
  text = std::move(line->text);
  if (line->ending == net::LineEnding::kTooLong) return LineStatus::kTooLong;
  if (line->ending == net::LineEnding::kBareLf || text.find('\r') != std::string::npos) {
    Wipe(text);
    return LineStatus::kBareLineEnding;
  }
  return LineStatus::kOk;
}

AuthOutcome Simple(AuthOutcome::Kind kind, Reply reply = Reply::kAuthFailed) {
  AuthOutcome out;
  out.kind = kind;
  out.reply = reply;
  return out;
}

AuthOutcome FromLineStatus(LineStatus status) {
  return Simple(status == LineStatus::kTooLong ? AuthOutcome::Kind::kLineTooLong
                                               : AuthOutcome::Kind::kBareLineEnding);
}

// Gets one client response: the initial response if given, else a 334
// challenge and a continuation line. Decoded into `out`; on anything but
// success returns the outcome to report.
Result<std::optional<AuthOutcome>> GetResponse(net::Connection& conn,
                                               std::optional<std::string_view> initial,
                                               Reply challenge, size_t max_line, SecretBytes& out) {
  std::string text;
  if (initial) {
    if (*initial == "=") {  // RFC 4954: "=" is an empty initial response
      out = SecretBytes();
      return std::optional<AuthOutcome>();
    }
    text.assign(initial->data(), initial->size());
  } else {
    ONIONMAIL_RETURN_IF_ERROR(conn.Write(FormatReply(challenge, "")));
    auto status = ReadCredentialLine(conn, max_line, text);
    if (!status.ok()) return status.error();
    if (*status != LineStatus::kOk) {
      Wipe(text);
      return std::optional<AuthOutcome>(FromLineStatus(*status));
    }
    if (text == "*")
      return std::optional<AuthOutcome>(Simple(AuthOutcome::Kind::kReply, Reply::kAuthCancelled));
  }
  auto decoded = DecodeBase64(text);
  Wipe(text);
  if (!decoded.ok())
    return std::optional<AuthOutcome>(Simple(AuthOutcome::Kind::kReply, Reply::kBadBase64));
  out = std::move(*decoded);
  return std::optional<AuthOutcome>();
}

}  // namespace

Result<Credentials> ParsePlainMessage(const SecretBytes& message, std::string_view own_domain) {
  std::string_view m = message.RevealString(SecretAccess::Grant());
  size_t first = m.find('\0');
  if (first == std::string_view::npos)
    return MakeError(ErrorCode::kInvalidArgument, "PLAIN format");
  size_t second = m.find('\0', first + 1);
  if (second == std::string_view::npos)
    return MakeError(ErrorCode::kInvalidArgument, "PLAIN format");
  std::string_view authzid = m.substr(0, first);
  std::string_view authcid = m.substr(first + 1, second - first - 1);
  std::string_view password = m.substr(second + 1);
  if (authcid.empty() || authcid.size() > kMaxField || password.empty() ||
      password.size() > kMaxField || password.find('\0') != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument, "PLAIN fields");
  }
  Credentials creds;
  creds.user = NormalizeUser(authcid, own_domain);
  if (!authzid.empty() && NormalizeUser(authzid, own_domain) != creds.user) {
    return MakeError(ErrorCode::kPermissionDenied, "authzid differs from authcid");
  }
  creds.password = SecretBytes(SecretAccess::Grant(), password);
  return creds;
}

Result<AuthOutcome> RunAuthExchange(net::Connection& conn, std::string_view arg, size_t max_line,
                                    std::string_view own_domain) {
  size_t space = arg.find(' ');
  std::string_view mechanism = arg.substr(0, space);
  std::optional<std::string_view> initial;
  if (space != std::string_view::npos) {
    initial = arg.substr(space + 1);
    if (initial->empty() || initial->find(' ') != std::string_view::npos) {
      return Simple(AuthOutcome::Kind::kReply, Reply::kSyntaxError);
    }
  }
  if (mechanism.empty()) return Simple(AuthOutcome::Kind::kReply, Reply::kSyntaxError);

  if (AsciiEqualsIgnoreCase(mechanism, "PLAIN")) {
    SecretBytes message;
    auto got = GetResponse(conn, initial, Reply::kAuthChallengeEmpty, max_line, message);
    if (!got.ok()) return got.error();
    if (*got) return std::move(**got);
    auto creds = ParsePlainMessage(message, own_domain);
    if (!creds.ok()) return Simple(AuthOutcome::Kind::kFailed);
    AuthOutcome out;
    out.kind = AuthOutcome::Kind::kCredentials;
    out.credentials = std::move(*creds);
    return out;
  }

  if (AsciiEqualsIgnoreCase(mechanism, "LOGIN")) {
    SecretBytes user;
    auto got = GetResponse(conn, initial, Reply::kAuthChallengeUser, max_line, user);
    if (!got.ok()) return got.error();
    if (*got) return std::move(**got);
    SecretBytes password;
    got = GetResponse(conn, std::nullopt, Reply::kAuthChallengePassword, max_line, password);
    if (!got.ok()) return got.error();
    if (*got) return std::move(**got);
    std::string_view name = user.RevealString(SecretAccess::Grant());
    if (name.empty() || name.size() > kMaxField || password.empty() ||
        password.size() > kMaxField || name.find('\0') != std::string_view::npos ||
        password.RevealString(SecretAccess::Grant()).find('\0') != std::string_view::npos) {
      return Simple(AuthOutcome::Kind::kFailed);
    }
    AuthOutcome out;
    out.kind = AuthOutcome::Kind::kCredentials;
    out.credentials.user = NormalizeUser(name, own_domain);
    out.credentials.password = std::move(password);
    return out;
  }

  return Simple(AuthOutcome::Kind::kReply, Reply::kUnknownMechanism);
}

}  // namespace onionmail::smtp
