// FakeRelayBackend: an in-memory mail::RelayBackend for SMTP session tests.
// It records every call (Begin's arguments, each Rcpt, Data, the appended
// bytes, Finish, End) and how each transaction died, and answers from a script:
// replies per step (per forward path for Rcpt, per domain for Data and End)
// or an injected Error (per domain for Append, Finish and End).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "mail/relay.h"

namespace onionmail::smtp {

class FakeRelayBackend : public mail::RelayBackend {
 public:
  struct BeginCall {
    std::string domain;
    std::string reverse_path;
    uint64_t declared_size;
    bool body_8bitmime;
  };

  Result<mail::RelayBegin> Begin(std::string_view domain, std::string_view reverse_path,
                                 const mail::MailParameters& params) override {
    begins.push_back({std::string(domain), std::string(reverse_path), params.declared_size,
                      params.body_8bitmime});
    events.push_back("begin");
    if (begin_error) return MakeError(*begin_error, "injected");
    mail::RelayBegin begun;
    begun.mail_reply = mail_reply;
    if (mail_reply.code >= 200 && mail_reply.code <= 299) {
      begun.transaction = std::make_unique<Transaction>(this, std::string(domain));
      ++opened;
    }
    return begun;
  }

  // Script.
  std::optional<ErrorCode> begin_error;
  mail::RelayReply mail_reply{250, "2.1.0"};
  mail::RelayReply rcpt_reply{250, "2.1.5"};             // unless in rcpt_replies
  std::map<std::string, mail::RelayReply> rcpt_replies;  // by forward path
  std::optional<ErrorCode> rcpt_error;
  mail::RelayReply data_reply{354, ""};
  std::optional<ErrorCode> data_error;
  std::optional<ErrorCode> append_error;
  mail::RelayReply end_reply{250, "2.0.0"};
  std::optional<ErrorCode> end_error;
  // By domain, over the ones above.
  std::map<std::string, mail::RelayReply> data_replies;
  std::map<std::string, ErrorCode> append_errors;
  std::map<std::string, mail::RelayReply> end_replies;
  std::map<std::string, ErrorCode> end_errors;
  std::map<std::string, ErrorCode> finish_errors;

  // Record.
  std::vector<std::string> events;  // begin, rcpt, data, append (once per run), end, destroyed
  std::vector<BeginCall> begins;
  std::vector<std::string> rcpts;
  int data_calls = 0;
  int append_calls = 0;
  std::string appended;  // what every transaction got
  std::map<std::string, std::string> appended_by_domain;
  std::vector<std::string> finished;  // the domains, in the order of their Finish()
  std::vector<std::string> ended;     // the domains, in the order of their End()
  int end_calls = 0;
  int opened = 0;
  int destroyed_without_end = 0;
  int destroyed_after_end = 0;

 private:
  class Transaction : public mail::RemoteTransaction {
   public:
    Transaction(FakeRelayBackend* fake, std::string domain)
        : fake_(fake), domain_(std::move(domain)) {}
    ~Transaction() override {
      fake_->events.push_back("destroyed");
      if (ended_) {
        ++fake_->destroyed_after_end;
      } else {
        ++fake_->destroyed_without_end;
      }
    }
    Result<mail::RelayReply> Rcpt(std::string_view forward_path) override {
      fake_->rcpts.push_back(std::string(forward_path));
      fake_->events.push_back("rcpt");
      if (fake_->rcpt_error) return MakeError(*fake_->rcpt_error, "injected");
      auto it = fake_->rcpt_replies.find(std::string(forward_path));
      return it != fake_->rcpt_replies.end() ? it->second : fake_->rcpt_reply;
    }
    Result<mail::RelayReply> Data() override {
      ++fake_->data_calls;
      fake_->events.push_back("data");
      if (fake_->data_error) return MakeError(*fake_->data_error, "injected");
      auto it = fake_->data_replies.find(domain_);
      return it != fake_->data_replies.end() ? it->second : fake_->data_reply;
    }
    Result<void> Append(std::span<const uint8_t> bytes) override {
      if (fake_->events.back() != "append") fake_->events.push_back("append");
      ++fake_->append_calls;
      if (fake_->append_error) return MakeError(*fake_->append_error, "injected");
      if (auto it = fake_->append_errors.find(domain_); it != fake_->append_errors.end()) {
        return MakeError(it->second, "injected");
      }
      fake_->appended.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      fake_->appended_by_domain[domain_].append(reinterpret_cast<const char*>(bytes.data()),
                                                bytes.size());
      return Ok();
    }
    Result<void> Finish() override {
      fake_->events.push_back("finish");
      fake_->finished.push_back(domain_);
      if (auto it = fake_->finish_errors.find(domain_); it != fake_->finish_errors.end()) {
        return MakeError(it->second, "injected");
      }
      return Ok();
    }
    Result<mail::RelayReply> End() override {
      ++fake_->end_calls;
      fake_->events.push_back("end");
      ended_ = true;
      fake_->ended.push_back(domain_);
      if (fake_->end_error) return MakeError(*fake_->end_error, "injected");
      if (auto it = fake_->end_errors.find(domain_); it != fake_->end_errors.end()) {
        return MakeError(it->second, "injected");
      }
      auto it = fake_->end_replies.find(domain_);
      return it != fake_->end_replies.end() ? it->second : fake_->end_reply;
    }

   private:
    FakeRelayBackend* fake_;
    std::string domain_;
    bool ended_ = false;
  };
};

}  // namespace onionmail::smtp
