// Fuzz target: a whole SMTP session (smtp::Session over a FakeConnection),
// including STARTTLS, AUTH and the DATA reader. The input is the client's
// byte stream; everything after the first "STARTTLS\r\n" is delivered inside
// the (fake, always successful) TLS tunnel. The backend accepts every
// recipient, knows one user (alice / "secret") and keeps committed messages
// in memory. A scripted relay (ScriptedRelay) answers for remote onions:
// its replies depend on the domain's and the local part's first letters, so
// a transaction to several remote servers meets every outcome (all, none or
// some of them taking the message). TKIM always proves kProven, so a member
// of the list at that onion may post and ask server@ to leave without AUTH.
// The server is an enter gateway for gw.example (docs/gateways.md): its
// VMAT aliases (ScriptedVmat) lead, by their first letter, to an onion
// mailbox, to a user here, to nowhere, or fail; it serves the VMAT command
// of a TKIM-proven server.
//
// Checked besides memory safety: every server line is a well-formed reply
// ("NNN " or "NNN-", CRLF-terminated), every committed message has CRLF
// line endings only and starts with the trace headers, and the relay is
// driven in order (Begin only for alice's own address, for a proven
// member's list post the list's address, or after a VMAT alias led to an
// onion, RCPT for the
// transaction's domain, DATA after an accepted RCPT, the message only after
// 354, at most one End, nothing after it).
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/ascii.h"
#include "base/log.h"
#include "base/result.h"
#include "mail/backend.h"
#include "mail/bot.h"
#include "mail/mailing_list.h"
#include "mail/relay.h"
#include "mail/tkim.h"
#include "mail/vmat.h"
#include "smtp/address.h"
#include "smtp/session.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/net/fake_connection.h"

namespace {

using namespace onionmail;

// The onion every TKIM proof proves (a valid v3 name; tests/mail/relay_test.cc).
constexpr std::string_view kProven =
    "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3kead.onion";

void CheckCrlfOnly(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') ONIONMAIL_CHECK(i > 0 && text[i - 1] == '\r');
    if (text[i] == '\r') ONIONMAIL_CHECK(i + 1 < text.size() && text[i + 1] == '\n');
  }
}

class Writer : public mail::MessageWriter {
 public:
  Result<void> Append(std::span<const uint8_t> bytes) override {
    ONIONMAIL_CHECK(!committed_);
    bytes_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return Ok();
  }
  Result<void> Commit() override {
    ONIONMAIL_CHECK(!committed_);
    committed_ = true;
    ONIONMAIL_CHECK(bytes_.rfind("Return-Path: <", 0) == 0);
    CheckCrlfOnly(bytes_);
    return Ok();
  }

 private:
  std::string bytes_;
  bool committed_ = false;
};

class AcceptAllBackend : public mail::DeliveryBackend {
 public:
  Result<void> VerifySmtpPassword(std::string_view user, const SecretBytes& password) override {
    if (user == "alice" && password.Equals(SecretBytes(SecretAccess::Grant(), "secret"))) {
      alice_verified = true;
      return Ok();
    }
    return MakeError(ErrorCode::kUnauthenticated, "bad credentials");
  }
  Result<void> CheckRecipient(std::string_view local_part, uint64_t, std::string_view) override {
    ONIONMAIL_CHECK(smtp::IsValidLocalPart(local_part));
    return Ok();
  }
  Result<std::unique_ptr<mail::MessageWriter>> BeginMessage(
      const mail::Envelope& envelope) override {
    ONIONMAIL_CHECK(!envelope.local_parts.empty());
    return std::unique_ptr<mail::MessageWriter>(new Writer());
  }
  bool alice_verified = false;
};

// Two lists, "team" (alice, bob, carol, dave at kProven, erin at another
// onion), "news" (the same members, an announce list: only alice posts,
// so news.list@ never relays) and "board" (the same, moderated: a member's
// post goes to alice alone, so board.list@ relays only alice's): the session asks only kPost, for a
// valid list name, after alice logged in (no user named) or for a member at kProven (named); the
// bot asks kLeave for such a member.
class OneList : public mail::ListService {
 public:
  explicit OneList(const AcceptAllBackend& backend) : backend_(backend) {}
  Result<mail::ListRecord> Apply(mail::ListOp op, std::string_view name,
                                 std::string_view user) override {
    ONIONMAIL_CHECK(mail::ValidListName(name));
    if (user.empty()) {
      ONIONMAIL_CHECK(backend_.alice_verified && op == mail::ListOp::kPost);
    } else {
      ONIONMAIL_CHECK(op == mail::ListOp::kPost || op == mail::ListOp::kLeave);
      ONIONMAIL_CHECK(mail::ValidListMember(user) && mail::IsRemoteMember(user));
      ONIONMAIL_CHECK(user.substr(user.find('@') + 1) == kProven);
      ONIONMAIL_CHECK(!mail::ListNameOf(user.substr(0, user.find('@'))));
    }
    // "news" has the members of "team" and is an announce list; "board"
    // has them too and is moderated (dave's post goes to alice alone).
    if (name != "team" && name != "news" && name != "board") {
      return MakeError(ErrorCode::kNotFound, "no such list");
    }
    mail::ListRecord record{"alice",
                            {"alice", "bob", "carol", "dave@" + std::string(kProven),
                             "erin@2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion"},
                            name == "news",
                            name == "board"};
    auto applied = mail::ApplyListOp(record, op, user.empty() ? "alice" : user, "");
    if (!applied.ok()) return applied.error();
    return **applied;
  }

 private:
  const AcceptAllBackend& backend_;
};

// Replies by the first letter of the remote domain (mod 6): 0 takes the
// message, 1 refuses DATA, 2 fails at DATA, 3 refuses the message, 4 fails
// at the final dot, 5 fails while the message streams. A local part starting
// with 'r' is refused at RCPT, with 'd' deferred.
// VMAT aliases by their first letter (mod 4): 0 an onion mailbox (at one of
// three onions, by the second letter), 1 alice here, 2 none, 3 a fault.
class ScriptedVmat : public mail::VmatService {
 public:
  Result<std::string> Lookup(std::string_view alias) override {
    ONIONMAIL_CHECK(mail::ValidVmatAlias(alias));
    switch (static_cast<unsigned char>(alias[0]) % 4) {
      case 0: {
        static constexpr std::array<const char*, 3> kOnions = {
            "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3kead.onion",
            "eaqseizeeutcokbjfivsyljof4ydcmrtgq2tmnzyhe5dwpb5hy74yhqd.onion",
            "ibaueq2eivdeoscjjjfuytkoj5ifcustkrkvmv2ylfnfwxc5lzp26mqd.onion"};
        const size_t which = alias.size() > 1 ? static_cast<unsigned char>(alias[1]) % 3 : 0;
        led_to_onion = true;
        return std::string(alias) + "@" + kOnions[which];
      }
      case 1:
        return std::string("alice@example.onion");
      case 2:
        return MakeError(ErrorCode::kNotFound, "no such alias");
      default:
        return MakeError(ErrorCode::kUnavailable, "scripted");
    }
  }
  Result<std::string> SenderAddress(std::string_view) override {
    ONIONMAIL_CHECK(false);  // the session does not ask yet
    return MakeError(ErrorCode::kInternal, "unreachable");
  }
  Result<void> Own(mail::VmatOwnOp) override {
    ONIONMAIL_CHECK(false);  // the session never asks; the bot (QuietBot here) would
    return Ok();
  }
  // SMTP VMAT: only after a TKIM proof, with words the session lower-cased.
  // By the user's first letter (mod 3): the alias at gw.example, a
  // malformed address (the session must not send it), or a refusal.
  Result<std::string> ForServer(mail::VmatOwnOp op, std::string_view user,
                                std::string_view alias) override {
    ONIONMAIL_CHECK(!user.empty() && AsciiLower(user) == user && AsciiLower(alias) == alias);
    ONIONMAIL_CHECK((op == mail::VmatOwnOp::kOn) != alias.empty());
    switch (static_cast<unsigned char>(user[0]) % 3) {
      case 0:
        return std::string(mail::ValidVmatAlias(alias) ? alias : "fixed") + "@gw.example";
      case 1:
        return std::string("x@") + std::string(user);
      default:
        return MakeError(ErrorCode::kAlreadyExists, "scripted");
    }
  }
  bool led_to_onion = false;
};

class ScriptedRelay : public mail::RelayBackend {
 public:
  ScriptedRelay(const AcceptAllBackend& backend, const ScriptedVmat& vmat)
      : backend_(backend), vmat_(vmat) {}
  Result<mail::RelayBegin> Begin(std::string_view domain, std::string_view reverse_path,
                                 const mail::MailParameters&) override {
    ONIONMAIL_CHECK((backend_.alice_verified && reverse_path == "alice@example.onion") ||
                    reverse_path == "team.list@example.onion" || vmat_.led_to_onion);
    ONIONMAIL_CHECK(mail::IsV3OnionDomain(domain));
    mail::RelayBegin begun;
    begun.mail_reply = {250, "2.1.0"};
    begun.transaction = std::make_unique<Transaction>(std::string(domain));
    return begun;
  }

 private:
  class Transaction : public mail::RemoteTransaction {
   public:
    explicit Transaction(std::string domain)
        : domain_(std::move(domain)), script_(static_cast<unsigned char>(domain_[0]) % 6) {}
    Result<mail::RelayReply> Rcpt(std::string_view forward_path) override {
      ONIONMAIL_CHECK(!data_asked_);
      size_t at = forward_path.rfind('@');
      ONIONMAIL_CHECK(at != std::string_view::npos && forward_path.substr(at + 1) == domain_);
      if (forward_path[0] == 'r') return mail::RelayReply{550, "5.1.1"};
      if (forward_path[0] == 'd') return mail::RelayReply{450, "4.2.1"};
      took_recipient_ = true;
      return mail::RelayReply{250, "2.1.5"};
    }
    Result<mail::RelayReply> Data() override {
      ONIONMAIL_CHECK(took_recipient_ && !data_asked_);
      data_asked_ = true;
      if (script_ == 1) return mail::RelayReply{554, "5.5.0"};
      if (script_ == 2) return MakeError(ErrorCode::kUnavailable, "scripted");
      streaming_ = true;
      return mail::RelayReply{354, ""};
    }
    Result<void> Append(std::span<const uint8_t> bytes) override {
      ONIONMAIL_CHECK(streaming_ && !ended_);
      bytes_ += bytes.size();
      if (script_ == 5 && bytes_ > 200) return MakeError(ErrorCode::kUnavailable, "scripted");
      return Ok();
    }
    Result<mail::RelayReply> End() override {
      ONIONMAIL_CHECK(streaming_ && !ended_);
      ended_ = true;
      if (script_ == 3) return mail::RelayReply{550, "5.7.1"};
      if (script_ == 4) return MakeError(ErrorCode::kDeadlineExceeded, "scripted");
      return mail::RelayReply{250, "2.0.0"};
    }

   private:
    const std::string domain_;
    const int script_;
    bool took_recipient_ = false;
    bool data_asked_ = false;
    bool streaming_ = false;
    bool ended_ = false;
    size_t bytes_ = 0;
  };

  const AcceptAllBackend& backend_;
  const ScriptedVmat& vmat_;
};

class ProvenTkim : public mail::TkimService {
 public:
  Result<std::vector<uint8_t>> ServerKey() override { return std::vector<uint8_t>{0x30, 0x00}; }
  Result<std::string> Check(const mail::ChannelBinding&, std::span<const uint8_t>) override {
    return std::string(kProven);
  }
};

// server@: no message for anyone; a member elsewhere gets an outcome chosen
// by the request's length.
class QuietBot : public mail::BotService {
 public:
  Result<mail::BotAnswer> Answer(std::string_view user, std::string_view) override {
    ONIONMAIL_CHECK(user == "alice");
    return mail::BotAnswer{"HELP", ""};
  }
  Result<mail::RemoteBotAnswer> AnswerRemote(std::string_view member,
                                             std::string_view request) override {
    ONIONMAIL_CHECK(mail::ValidListMember(member) && mail::IsRemoteMember(member));
    ONIONMAIL_CHECK(member.substr(member.find('@') + 1) == kProven);
    switch (request.size() % 4) {
      case 0:
        return mail::RemoteBotAnswer{"LIST LEAVE", mail::RemoteBotOutcome::kLeft};
      case 1:
        return mail::RemoteBotAnswer{"ignored", mail::RemoteBotOutcome::kIgnored};
      case 2:
        return mail::RemoteBotAnswer{"refused", mail::RemoteBotOutcome::kRefused};
      default:
        return MakeError(ErrorCode::kUnavailable, "scripted");
    }
  }
};

void CheckReplies(const std::string& out) {
  size_t pos = 0;
  while (pos < out.size()) {
    size_t end = out.find("\r\n", pos);
    ONIONMAIL_CHECK(end != std::string::npos);
    std::string_view line(out.data() + pos, end - pos);
    ONIONMAIL_CHECK(line.size() >= 4);
    for (int i = 0; i < 3; ++i) ONIONMAIL_CHECK(line[i] >= '0' && line[i] <= '9');
    ONIONMAIL_CHECK(line[3] == ' ' || line[3] == '-');
    ONIONMAIL_CHECK(line.find_first_of("\r\n") == std::string_view::npos);
    pos = end + 2;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  log::SetLevel(log::Level::kError);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  net::FakeConnection conn;
  fuzz::SplitAtTls(fuzz::AsText(data, size), "STARTTLS\r\n", conn);
  AcceptAllBackend backend;
  smtp::SessionConfig config;
  config.domain = "example.onion";
  config.hostname = "mx.example.onion";
  config.max_message_bytes = 2048;  // reachable within libFuzzer's 4 KiB inputs
  config.max_recipients = 5;
  config.max_received_headers = 3;  // a loop within reach of short inputs
  config.max_command_line = 512;
  config.max_text_line = 1000;
  config.log_tag = "fuzz";
  config.auth_failure_delay_ms = 0;
  config.max_remote_servers = 3;
  config.exit_domain = "gw.example";
  config.vmat_for_servers = true;  // SMTP VMAT after TKIM
  OneList lists(backend);
  ScriptedVmat vmat;
  ScriptedRelay relay(backend, vmat);
  ProvenTkim tkim;
  QuietBot bot;
  conn.set_binding(std::array<uint8_t, 32>{7});
  smtp::Session session(conn, backend, config, nullptr, &relay, &tkim, &bot, &lists, &vmat);
  session.Run();
  CheckReplies(conn.Output());
  return 0;
}
