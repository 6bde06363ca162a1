// A scripted mail::TkimService for the SMTP session tests: ServerKey()
// gives `key` (or `key_error`), Check() records each call and proves
// `domain` (or fails with `check_error`).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mail/tkim.h"

namespace onionmail::smtp {

struct FakeTkim : mail::TkimService {
  struct Call {
    mail::ChannelBinding binding;
    std::vector<uint8_t> proof;
  };
  Result<std::vector<uint8_t>> ServerKey() override {
    ++key_calls;
    if (key_error) return MakeError(*key_error, "key role gone");
    return key;
  }
  Result<std::string> Check(const mail::ChannelBinding& cb,
                            std::span<const uint8_t> proof) override {
    calls.push_back({cb, {proof.begin(), proof.end()}});
    if (check_error) return MakeError(*check_error, "scripted");
    return domain;
  }
  std::vector<uint8_t> key = {0xfb, 0xff, 0x30, 0x82, 0x01};
  std::optional<ErrorCode> key_error;
  int key_calls = 0;
  std::string domain;
  std::optional<ErrorCode> check_error;
  std::vector<Call> calls;
};

}  // namespace onionmail::smtp
