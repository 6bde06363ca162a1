// FakeDeliveryBackend: an in-memory mail::DeliveryBackend for SMTP session
// tests. It records verified logins, recipient checks and every committed
// message (envelope + exact bytes), counts writers that died uncommitted, and
// can be told to fail each step.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "mail/backend.h"

namespace onionmail::smtp {

class FakeDeliveryBackend : public mail::DeliveryBackend {
 public:
  struct Delivered {
    mail::Envelope envelope;
    std::string bytes;
  };

  void AddUser(const std::string& name, const std::string& smtp_password) {
    users_[name] = smtp_password;
  }

  Result<void> VerifySmtpPassword(std::string_view user, const SecretBytes& password) override {
    verify_calls.push_back(std::string(user));
    if (verify_error) return MakeError(*verify_error, "injected");
    auto it = users_.find(std::string(user));
    SecretBytes expected;
    if (it != users_.end()) expected = SecretBytes(SecretAccess::Grant(), it->second);
    if (it == users_.end() || !password.Equals(expected)) {
      return MakeError(ErrorCode::kUnauthenticated, "bad credentials");
    }
    return Ok();
  }

  Result<void> CheckRecipient(std::string_view local_part, uint64_t declared_size,
                              std::string_view sender) override {
    checked.push_back(std::string(local_part));
    declared_sizes.push_back(declared_size);
    senders.push_back(std::string(sender));
    if (check_error) return MakeError(*check_error, "injected");
    if (blocked.count(std::string(local_part) + " " + std::string(sender)) != 0) {
      return MakeError(ErrorCode::kRefused, "blocked");
    }
    if (full_mailboxes.count(std::string(local_part)) != 0) {
      return MakeError(ErrorCode::kMailboxFull, "mailbox full");
    }
    if (users_.count(std::string(local_part)) == 0) return MakeError(ErrorCode::kNotFound, "none");
    return Ok();
  }

  Result<std::unique_ptr<mail::MessageWriter>> BeginMessage(const mail::Envelope& env) override {
    ++begun;
    if (fail_begin) return MakeError(ErrorCode::kUnavailable, "injected");
    return std::unique_ptr<mail::MessageWriter>(new Writer(this, env));
  }

  std::vector<Delivered> delivered;
  std::vector<std::string> verify_calls;
  std::vector<std::string> checked;
  std::vector<uint64_t> declared_sizes;  // CheckRecipient's, in order
  std::vector<std::string> senders;      // CheckRecipient's, in order
  std::set<std::string> blocked;         // "recipient sender": CheckRecipient gives kRefused
  int begun = 0;
  int abandoned = 0;  // writers destroyed without a successful Commit
  std::optional<ErrorCode> verify_error;
  std::set<std::string> full_mailboxes;  // CheckRecipient: kMailboxFull
  std::optional<ErrorCode> check_error;
  bool fail_begin = false;
  bool fail_append = false;
  bool fail_commit = false;

 private:
  class Writer : public mail::MessageWriter {
   public:
    Writer(FakeDeliveryBackend* backend, mail::Envelope env)
        : backend_(backend), env_(std::move(env)) {}
    ~Writer() override {
      if (!committed_) ++backend_->abandoned;
    }
    Result<void> Append(std::span<const uint8_t> bytes) override {
      if (backend_->fail_append) return MakeError(ErrorCode::kInternal, "injected");
      bytes_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      return Ok();
    }
    Result<void> Commit() override {
      if (backend_->fail_commit) return MakeError(ErrorCode::kInternal, "injected");
      committed_ = true;
      backend_->delivered.push_back({env_, bytes_});
      return Ok();
    }

   private:
    FakeDeliveryBackend* backend_;
    mail::Envelope env_;
    std::string bytes_;
    bool committed_ = false;
  };

  std::map<std::string, std::string> users_;
};

}  // namespace onionmail::smtp
