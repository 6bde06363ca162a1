// The interfaces the protocol front ends (SMTP, POP3) use to reach mail
// storage. Front ends never see a private key, the server key or a password
// verifier: they hand credentials over and get back an outcome, a writer for
// an accepted message, or a read-only view of one authenticated mailbox.
//
// Contract:
//  - Names are local parts already validated by ValidLocalPart() and
//    lower-cased by the front end.
//  - MessageWriter::Commit() returns ok only when the message is durable for
//    every recipient (written, fsync'd, renamed, directory fsync'd). A writer
//    destroyed without a successful Commit() leaves nothing behind.
//  - A Mailbox holds the mailbox lock for its whole life (one open session per
//    mailbox). Expunge() is the only call that deletes and is called only from
//    the POP3 UPDATE state.
//  - Error codes: kUnauthenticated = bad credentials (same for unknown user),
//    kFailedPrecondition = mailbox already open, kNotFound = unknown
//    recipient, kUnavailable/anything else = temporary failure.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"

namespace onionmail::mail {

// 1..64 chars of [a-z0-9._-], not starting or ending with '.', no "..".
bool ValidLocalPart(std::string_view local_part);

class MessageWriter {
 public:
  virtual ~MessageWriter() = default;
  // Appends message bytes (CRLF line endings, already dot-unstuffed).
  virtual Result<void> Append(std::span<const uint8_t> bytes) = 0;
  virtual Result<void> Commit() = 0;
};

struct Envelope {
  std::string reverse_path;              // may be empty (null sender)
  std::vector<std::string> local_parts;  // validated, deduplicated, lower-case
};

class DeliveryBackend {
 public:
  virtual ~DeliveryBackend() = default;
  virtual Result<void> VerifySmtpPassword(std::string_view user, const SecretBytes& password) = 0;
  // ok = deliverable; kNotFound = no such user; kRefused = the user's block
  // list (mail/block_list.h) holds `sender` (the MAIL FROM reverse path,
  // empty for the null sender, which no list blocks); other = temporary
  // failure. `declared_size`: the message size the sender declared (MAIL
  // FROM SIZE=, RFC 1870), 0 when it declared none; a mailbox without room
  // for it is kMailboxFull.
  virtual Result<void> CheckRecipient(std::string_view local_part, uint64_t declared_size,
                                      std::string_view sender) = 0;
  virtual Result<std::unique_ptr<MessageWriter>> BeginMessage(const Envelope& envelope) = 0;
};

struct MessageInfo {
  std::string uid;  // stable across sessions, 1..70 printable chars (RFC 1939)
  uint64_t size;    // octets as RETR would send them before dot-stuffing
};

using ChunkSink = std::function<Result<void>(std::span<const uint8_t>)>;

class Mailbox {
 public:
  virtual ~Mailbox() = default;  // releases the mailbox lock
  virtual const std::vector<MessageInfo>& Messages() const = 0;
  // Streams the decrypted message `index` (0-based into Messages()).
  virtual Result<void> Read(size_t index, const ChunkSink& sink) = 0;
  // Deletes the given messages (0-based indices) durably.
  virtual Result<void> Expunge(std::span<const size_t> indices) = 0;
};

class MailboxBackend {
 public:
  virtual ~MailboxBackend() = default;
  virtual Result<std::unique_ptr<Mailbox>> Open(std::string_view user,
                                                const SecretBytes& pop3_password) = 0;
};

}  // namespace onionmail::mail
