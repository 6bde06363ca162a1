// DATA phase reader (RFC 5321 section 4.1.1.4 and 4.5.2).
//
// Contract:
//  - Read() consumes lines from the connection until the end-of-data line "."
//    terminated by CRLF, undoes dot-stuffing ("..x" -> ".x") and streams the
//    message to the writer in chunks, each line ending in CRLF. `writer` may be
//    null: the data is then read and discarded.
//  - Only CRLF "." CRLF ends the data. A line ending in a bare LF or holding a
//    bare CR (SMTP smuggling, CVE-2023-51764 class) stops reading at once with
//    kBareLineEnding; an overlong line stops with kLineTooLong. In both cases
//    the connection is no longer in sync and the session must close it.
//  - Loop detection (RFC 5321 section 6.3): the Received header fields of the
//    message's header section (the lines before the first empty line; a
//    field name matched case-insensitively, white space allowed before its
//    colon) are counted; more than max_received_headers is kTooManyHops.
//    Received lines in the body do not count.
//  - DropField(name): the header section's fields of that name (matched as
//    Received fields are), with their folded continuation lines, are not
//    passed to the writer (they still count towards max_message_bytes).
//  - A NUL byte, a message larger than max_message_bytes, too many hops or a
//    failed Append() do not stop reading: the rest of the data is consumed (and discarded) so
//    the session can answer and continue; the status says why the message
//    must not be committed. Nothing further is appended after such a fault.
//  - Connection errors (timeout, peer gone) are returned as the Error.
//  - Flushes the connection before every read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "mail/backend.h"
#include "net/connection.h"

namespace onionmail::smtp {

enum class DataStatus {
  kOk,              // complete message streamed to the writer
  kNulByte,         // read to the end; contained NUL
  kTooBig,          // read to the end; larger than the limit
  kTooManyHops,     // read to the end; more Received headers than the limit
  kWriteFailed,     // read to the end; writer->Append failed
  kBareLineEnding,  // stopped early: bare LF or CR seen
  kLineTooLong,     // stopped early: line longer than max_text_line
};

struct DataOutcome {
  DataStatus status = DataStatus::kOk;
  uint64_t message_bytes = 0;   // unstuffed bytes seen (CRLF included)
  size_t received_headers = 0;  // Received fields in the header section
};

class DataReader {
 public:
  DataReader(net::Connection& conn, size_t max_text_line, uint64_t max_message_bytes,
             size_t max_received_headers);

  // True when `line` (one header line, without CRLF) starts a Received field.
  static bool IsReceivedField(std::string_view line);
  // True when `line` starts a field named `name` (case-insensitive, white
  // space allowed before the colon).
  static bool IsField(std::string_view line, std::string_view name);

  // Call before Read(). `name` must outlive the reader.
  void DropField(std::string_view name) { drop_field_ = name; }

  Result<DataOutcome> Read(mail::MessageWriter* writer);

 private:
  // Sends the pending chunk to the writer (if still healthy).
  void FlushChunk(mail::MessageWriter* writer, DataOutcome& outcome);

  net::Connection& conn_;
  size_t max_text_line_;
  uint64_t max_message_bytes_;
  size_t max_received_headers_;
  std::string_view drop_field_;  // empty: none
  std::string chunk_;
};

}  // namespace onionmail::smtp
