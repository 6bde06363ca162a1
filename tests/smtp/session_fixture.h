// Shared fixture for SMTP session tests: a FakeConnection, a
// FakeDeliveryBackend with users alice and bob, and helpers that run a whole
// session and split the server's output into replies.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>
#include <vector>

#include "smtp/session.h"
#include "tests/net/fake_connection.h"
#include "tests/smtp/fake_backend.h"

namespace onionmail::smtp {

inline std::string Base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// Splits server output into complete replies (multi-line replies joined).
inline std::vector<std::string> SplitReplies(const std::string& out) {
  std::vector<std::string> replies;
  std::string current;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t end = out.find("\r\n", pos);
    if (end == std::string::npos) end = out.size();
    std::string line = out.substr(pos, end - pos);
    current += line + "\r\n";
    pos = end + 2;
    if (line.size() < 4 || line[3] != '-') {
      replies.push_back(current);
      current.clear();
    }
  }
  if (!current.empty()) replies.push_back(current);
  return replies;
}

class SessionTest : public ::testing::Test {
 protected:
  static constexpr int kTlsPreamble = 4;  // greeting, EHLO, 220 TLS, EHLO

  mail::TormService* torm = nullptr;    // TORM served only when set
  mail::RelayBackend* relay = nullptr;  // relaying only when set
  mail::TkimService* tkim = nullptr;    // TKIM served only when set
  mail::BotService* bot = nullptr;      // server@ bot only when set
  mail::ListService* lists = nullptr;   // mailing lists only when set
  mail::VmatService* vmat = nullptr;    // VMAT aliases only when set

  SessionTest() {
    cfg.domain = "example.onion";
    cfg.hostname = "mx.example.onion";
    cfg.log_tag = "c1";
    cfg.auth_failure_delay_ms = 0;
    backend.AddUser("alice", "alice-pw");
    backend.AddUser("bob", "bob-pw");
    backend.AddUser("carol", "carol-pw");
  }

  // Runs a session: `plain` is sent before TLS, `tls` inside the tunnel.
  void Run(const std::string& plain, const std::string& tls = "") {
    conn.Feed(plain);
    conn.FeedAfterTls(tls);
    Session(conn, backend, cfg, torm, relay, tkim, bot, lists, vmat).Run();
    replies = SplitReplies(conn.Output());
  }

  // EHLO, STARTTLS, EHLO, then `commands` inside TLS.
  void RunTls(const std::string& commands) {
    Run("EHLO client.test\r\nSTARTTLS\r\n", "EHLO client.test\r\n" + commands);
    ASSERT_GE(replies.size(), static_cast<size_t>(kTlsPreamble)) << conn.Output();
    ASSERT_EQ(replies[2].substr(0, 4), "220 ") << conn.Output();
  }

  // Basic codes of all replies after the TLS preamble.
  std::vector<int> CodesAfterTls() const {
    std::vector<int> codes;
    for (size_t i = kTlsPreamble; i < replies.size(); ++i) codes.push_back(std::stoi(replies[i]));
    return codes;
  }

  std::vector<int> Codes() const {
    std::vector<int> codes;
    for (const auto& r : replies) codes.push_back(std::stoi(r));
    return codes;
  }

  const std::string& Last() const { return replies.back(); }

  static std::string Plain(std::string_view authzid, std::string_view user, std::string_view pw) {
    std::string m(authzid);
    m += '\0';
    m += user;
    m += '\0';
    m += pw;
    return Base64(m);
  }

  SessionConfig cfg;
  net::FakeConnection conn;
  FakeDeliveryBackend backend;
  std::vector<std::string> replies;
};

}  // namespace onionmail::smtp
