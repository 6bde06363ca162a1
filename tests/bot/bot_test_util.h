// Helpers for the bot::Bot tests: a bot over fixed facts and a fixed clock, and
// a strict reader of its reply that checks the line rules on the way (every
// line ends in CRLF, none is longer than 998 octets, no bare CR or LF).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bot/bot.h"

namespace onionmail::bot::testing {

inline constexpr char kDomain[] = "exampleonionaddress.onion";
inline constexpr std::time_t kFixedTime = 1700000000;
inline constexpr char kFixedDate[] = "Tue, 14 Nov 2023 22:13:20 +0000";

inline ServerFacts TestFacts() {
  ServerFacts facts;
  facts.domain = kDomain;
  facts.software = "onionmaild 0.1.0";
  facts.max_message_bytes = 26214400;
  facts.max_recipients = 100;
  facts.max_remote_servers = 8;
  facts.mailbox_quota_bytes = 0;
  facts.relay_enabled = true;
  facts.require_tkim = false;
  facts.torm_served = true;
  return facts;
}

inline ServerKeySource AbcKey() {
  return []() -> Result<std::vector<uint8_t>> { return std::vector<uint8_t>{'a', 'b', 'c'}; };
}

inline Bot TestBot(ServerFacts facts = TestFacts(), ServerKeySource key = AbcKey()) {
  return Bot(std::move(facts), std::move(key), [] { return kFixedTime; });
}

struct Reply {
  std::vector<std::pair<std::string, std::string>> headers;  // in order
  std::string body;                                          // CRLF line endings

  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    for (const auto& h : headers) names.push_back(h.first);
    return names;
  }
  // The value of the only field named `name`; "" and a failure otherwise.
  std::string Header(std::string_view name) const {
    std::string value;
    int count = 0;
    for (const auto& h : headers) {
      if (h.first == name) {
        value = h.second;
        ++count;
      }
    }
    EXPECT_LE(count, 1) << name;
    return value;
  }
  bool Has(std::string_view name) const {
    for (const auto& h : headers) {
      if (h.first == name) return true;
    }
    return false;
  }
};

// Checks the whole message's line rules and splits it; header values must be
// printable ASCII (no folding is ever written).
inline Reply ParseReply(const std::string& message) {
  Reply reply;
  EXPECT_FALSE(message.empty());
  EXPECT_TRUE(message.size() >= 2 && message.compare(message.size() - 2, 2, "\r\n") == 0);
  bool in_body = false;
  size_t pos = 0;
  while (pos < message.size()) {
    size_t crlf = message.find("\r\n", pos);
    if (crlf == std::string::npos) {
      ADD_FAILURE() << "last line without CRLF";
      break;
    }
    std::string line = message.substr(pos, crlf - pos);
    pos = crlf + 2;
    EXPECT_LE(line.size(), 998u);
    EXPECT_EQ(line.find_first_of("\r\n"), std::string::npos) << "bare CR or LF";
    if (in_body) {
      reply.body += line + "\r\n";
      continue;
    }
    if (line.empty()) {
      in_body = true;
      continue;
    }
    for (char c : line) {
      unsigned char u = static_cast<unsigned char>(c);
      EXPECT_TRUE(u >= 0x20 && u <= 0x7E) << "header octet " << static_cast<int>(u);
    }
    size_t colon = line.find(": ");
    EXPECT_NE(colon, std::string::npos) << line;
    if (colon == std::string::npos) continue;
    reply.headers.emplace_back(line.substr(0, colon), line.substr(colon + 2));
  }
  EXPECT_TRUE(in_body) << "no empty line after the header section";
  return reply;
}

// Answers `request` from "alice", expecting success and a reply.
inline Reply AskOk(Bot& bot, std::string_view request, std::string* keyword = nullptr) {
  Result<mail::BotAnswer> answer = bot.Answer("alice", request);
  EXPECT_TRUE(answer.ok()) << (answer.ok() ? "" : answer.error().message);
  if (!answer.ok()) return Reply{};
  if (keyword != nullptr) *keyword = answer->keyword;
  return ParseReply(answer->message);
}

inline std::vector<std::string> BodyLines(const std::string& body) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t crlf = body.find("\r\n", pos);
    if (crlf == std::string::npos) break;
    lines.push_back(body.substr(pos, crlf - pos));
    pos = crlf + 2;
  }
  return lines;
}

}  // namespace onionmail::bot::testing
