// Every POP3 reply line the server sends, in one place (house rule 6).
//
// Contract: each constant or function returns complete reply lines including
// the CRLF terminator. Negative replies carry RFC 2449 / RFC 3206 response
// codes in brackets where one applies ([AUTH], [IN-USE], [SYS/TEMP]). No reply
// ever contains a password, an AUTH argument, a user name or message content.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace onionmail::pop3::reply {

// Terminates a multi-line response (RFC 1939 section 3).
inline constexpr std::string_view kMultiLineEnd = ".\r\n";

// --- Greeting, CAPA, STLS -------------------------------------------------
std::string Greeting(std::string_view hostname);
// The full multi-line CAPA response (RFC 2449), terminator included.
//  offer_stls:  STLS is listed (plaintext AUTHORIZATION state only).
//  offer_login: USER and SASL PLAIN are listed (AUTHORIZATION state over TLS).
//  offer_rqus:  RQUS is listed (registration with a voucher, over TLS).
std::string Capabilities(bool offer_stls, bool offer_login, unsigned expire_days,
                         bool offer_rqus = false);
inline constexpr std::string_view kStlsBegin = "+OK Begin TLS negotiation\r\n";
inline constexpr std::string_view kTlsAlreadyActive = "-ERR TLS already active\r\n";
// USER, PASS or AUTH on a plaintext connection (RFC 2595 section 4).
inline constexpr std::string_view kTlsRequired =
    "-ERR TLS required before authentication, use STLS\r\n";

// --- AUTHORIZATION ----------------------------------------------------------
inline constexpr std::string_view kUserAccepted = "+OK Send PASS\r\n";
inline constexpr std::string_view kUserFirst = "-ERR Send USER first\r\n";
inline constexpr std::string_view kInvalidCredentials = "-ERR [AUTH] Invalid credentials\r\n";
inline constexpr std::string_view kTooManyFailures =
    "-ERR [AUTH] Invalid credentials, too many failures, closing connection\r\n";
inline constexpr std::string_view kInUse = "-ERR [IN-USE] Mailbox already in use\r\n";
inline constexpr std::string_view kLoginTempFailure =
    "-ERR [SYS/TEMP] Mailbox temporarily unavailable, try again later\r\n";
// The server's master key is not unsealed yet (its peers have not answered).
inline constexpr std::string_view kSealed =
    "-ERR [SYS/TEMP] Server sealed: waiting for its peers to unseal the master key, try again "
    "later\r\n";
// "+OK maildrop has N messages (S octets)"; also the RSET reply.
std::string MaildropSummary(size_t messages, uint64_t octets);
inline constexpr std::string_view kAuthContinue = "+ \r\n";
inline constexpr std::string_view kAuthCancelled = "-ERR Authentication cancelled\r\n";
inline constexpr std::string_view kAuthUnsupported =
    "-ERR Unsupported authentication mechanism\r\n";

// --- RQUS: registration with a voucher (docs/PROTOCOL.md) -----------------------
// The new account's address and passwords, shown once; multi-line, with the
// terminator. The caller wipes the string after sending it.
std::string Registered(std::string_view address, std::string_view smtp_password,
                       std::string_view pop3_password);
inline constexpr std::string_view kRqusInvalidName =
    "-ERR Invalid user name: 1-64 characters of a-z 0-9 . _ - (no leading, trailing or double "
    "'.')\r\n";
inline constexpr std::string_view kRqusBadVoucher = "-ERR [AUTH] Unknown or used voucher\r\n";
inline constexpr std::string_view kRqusBadVoucherClosing =
    "-ERR [AUTH] Unknown or used voucher, too many failures, closing connection\r\n";
inline constexpr std::string_view kRqusReserved =
    "-ERR That name is reserved, choose another (the voucher is still valid)\r\n";
inline constexpr std::string_view kRqusTaken =
    "-ERR That name is taken, choose another (the voucher is still valid)\r\n";
inline constexpr std::string_view kRqusRefused =
    "-ERR No more registration attempts in this session\r\n";
inline constexpr std::string_view kRqusOnce = "-ERR One registration per session\r\n";
inline constexpr std::string_view kRqusTempFailure =
    "-ERR [SYS/TEMP] Registration temporarily unavailable, try again later (the voucher is "
    "still valid)\r\n";

// --- TRANSACTION ------------------------------------------------------------
std::string Stat(size_t messages, uint64_t octets);
inline constexpr std::string_view kScanListingFollows = "+OK Scan listing follows\r\n";
inline constexpr std::string_view kUidListingFollows = "+OK Unique-id listing follows\r\n";
std::string ScanListingLine(size_t number, uint64_t octets);    // "n size"
std::string ScanListingSingle(size_t number, uint64_t octets);  // "+OK n size"
std::string UidListingLine(size_t number, std::string_view uid);
std::string UidListingSingle(size_t number, std::string_view uid);
std::string RetrFollows(uint64_t octets);
inline constexpr std::string_view kTopFollows = "+OK Top of message follows\r\n";
std::string Deleted(size_t number);
inline constexpr std::string_view kNoop = "+OK\r\n";
inline constexpr std::string_view kNoSuchMessage = "-ERR No such message\r\n";
inline constexpr std::string_view kInvalidMessageNumber = "-ERR Invalid message number\r\n";
inline constexpr std::string_view kInvalidLineCount = "-ERR Invalid line count\r\n";
inline constexpr std::string_view kAlreadyDeleted = "-ERR Message already deleted\r\n";
inline constexpr std::string_view kReadFailed =
    "-ERR [SYS/TEMP] Message temporarily unreadable, try again later\r\n";

// --- QUIT / UPDATE ------------------------------------------------------------
std::string SigningOff(std::string_view hostname);
inline constexpr std::string_view kExpungeFailed =
    "-ERR [SYS/TEMP] Some deleted messages not removed\r\n";

// --- Protocol errors ----------------------------------------------------------
inline constexpr std::string_view kUnknownCommand = "-ERR Unknown command\r\n";
inline constexpr std::string_view kBadState = "-ERR Command not valid in this state\r\n";
inline constexpr std::string_view kSyntaxError = "-ERR Syntax error in arguments\r\n";
inline constexpr std::string_view kLineTooLong = "-ERR Line too long, closing connection\r\n";

}  // namespace onionmail::pop3::reply
