// A recording mail::VmatService for the tests of SMTP VMAT (the gateway's
// side, tests/smtp/session_vmat_command_test.cc; and the asking side against
// a real gateway session, tests/server/relay_vmat_test.cc): ForServer()
// records each call and answers `answer` when set, else "<alias or
// user>@mx.example.org", or fails with `error`. Thread-safe; the other
// methods are not asked by those tests.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mail/vmat.h"

namespace onionmail::smtp {

class FakeServerVmat : public mail::VmatService {
 public:
  struct Call {
    mail::VmatOwnOp op;
    std::string user;
    std::string alias;
  };
  Result<std::string> Lookup(std::string_view) override {
    return MakeError(ErrorCode::kNotFound, "none");
  }
  Result<void> Own(mail::VmatOwnOp) override { return MakeError(ErrorCode::kInternal, "unused"); }
  Result<std::string> SenderAddress(std::string_view) override {
    return MakeError(ErrorCode::kInternal, "unused");
  }
  Result<std::string> ForServer(mail::VmatOwnOp op, std::string_view user,
                                std::string_view alias) override {
    std::lock_guard<std::mutex> lock(mu);
    calls.push_back({op, std::string(user), std::string(alias)});
    if (error) return MakeError(*error, "scripted");
    if (answer) return *answer;
    return std::string(alias.empty() ? user : alias) + "@mx.example.org";
  }
  std::mutex mu;  // guards the fields below
  std::vector<Call> calls;
  std::optional<std::string> answer;
  std::optional<ErrorCode> error;
};

}  // namespace onionmail::smtp
