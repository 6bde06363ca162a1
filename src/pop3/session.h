// One POP3 server session (RFC 1939) with CAPA (RFC 2449), STLS (RFC 2595),
// AUTH PLAIN (RFC 5034) and response codes (RFC 2449 / RFC 3206).
//
// Contract:
//  - States: AUTHORIZATION -> TRANSACTION -> UPDATE. Run() sends the greeting,
//    serves commands until QUIT, a fatal protocol error or a connection error,
//    then returns; the Mailbox (and so the mailbox lock) is released on return.
//  - Authentication (USER/PASS, AUTH PLAIN) is refused until STLS succeeded.
//    STLS discards pipelined plaintext (net::Connection::StartTls) so nothing
//    sent before the handshake is executed after it.
//  - Credentials only ever live in SecretBytes; credential lines are wiped in
//    place and conn.WipeBuffers() is called after every AUTHORIZATION line.
//    Invalid user names, unknown users and wrong passwords get the same reply
//    after the same delay; after max_auth_failures the session closes.
//  - Messages are streamed (never held whole) with dot-stuffing. Deletions are
//    applied only by QUIT in TRANSACTION (Mailbox::Expunge); a dropped
//    connection deletes nothing.
//  - RQUS (docs/PROTOCOL.md, "Registration: RQUS") is served only when a
//    mail::RegistrationService is given, in AUTHORIZATION over TLS (listed in
//    CAPA there): `RQUS <voucher> <name>`. A name NormalizeUserName() refuses
//    is answered at once; a voucher of the wrong form, or one the service
//    does not know (kUnauthenticated), counts as a failed login (same delay,
//    same max_auth_failures). Success sends the address and both passwords
//    once (the reply is wiped after sending) and the session stays in
//    AUTHORIZATION, so the client may log in next; one account per session.
//    Without a service RQUS is an unknown command.
//  - Logs: one line per login success or failure, per RQUS outcome, tagged with log_tag; never
//    a user name, password, AUTH argument or message content.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/secret_bytes.h"
#include "mail/backend.h"
#include "mail/registration.h"
#include "net/connection.h"
#include "pop3/command.h"

namespace onionmail::pop3 {

struct SessionConfig {
  std::string hostname;
  size_t max_line = 1024;  // command line bytes (AUTH needs 255+)
  std::string log_tag;
  unsigned auth_failure_delay_ms = 300;
  size_t max_auth_failures = 3;  // then -ERR and close
  unsigned expire_days = 60;     // advertised in CAPA as EXPIRE
  std::string domain;            // mail domain, for RQUS's address line (empty: hostname)
};

class Session {
 public:
  // `registration` may be null (RQUS not offered); it must outlive the session.
  Session(net::Connection& conn, mail::MailboxBackend& backend, const SessionConfig& config,
          mail::RegistrationService* registration = nullptr);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Run();

 private:
  enum class State { kAuthorization, kTransaction, kClosed };

  void Send(std::string_view reply);
  void Close() { state_ = State::kClosed; }
  void Log(bool warning, std::string_view what) const;

  void HandleAuthorization(const Command& command);
  void HandleTransaction(const Command& command);

  void Capa();
  void Stls();
  void User(const Command& command);
  void Pass(const Command& command);
  void Auth(const Command& command);
  void Login(std::string_view user, const SecretBytes& password);
  void CredentialFailure();
  // RQUS (session_register.cc).
  void Rqus(const Command& command);

  // The 0-based index for a message-number argument, or nullopt after the
  // -ERR reply was sent.
  std::optional<size_t> ResolveMessage(std::string_view arg);
  size_t LiveCount() const;
  uint64_t LiveOctets() const;
  void List(const Command& command, bool uids);
  void Retrieve(size_t index, std::optional<uint64_t> body_lines);
  void Quit();

  net::Connection& conn_;
  mail::MailboxBackend& backend_;
  mail::RegistrationService* const registration_;
  bool registered_ = false;  // one account per session
  SessionConfig config_;
  State state_ = State::kAuthorization;
  std::optional<std::string> pending_user_;  // after USER, before PASS
  size_t auth_failures_ = 0;
  std::unique_ptr<mail::Mailbox> mailbox_;
  std::vector<bool> deleted_;
};

}  // namespace onionmail::pop3
