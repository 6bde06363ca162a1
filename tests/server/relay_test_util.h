// Test doubles for the relay role tests (relay_session_test.cc): a remote
// onionmaild (the real smtp::Session over TLS with FakeDeliveryBackend,
// answering for the onion name kRemoteOnion) on loopback, and an in-test
// SOCKS5 proxy that maps that onion name to the remote's loopback port, as
// Tor would, or refuses every CONNECT as Tor does for an onion it cannot
// reach. Both serve one connection at a time (tests/peer/peer_test_util.h).
// And RelayTestRunner: the relay role's control loop on a thread, with the
// front end's RemoteRelayBackend on the other end of its channel.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "ipc/channel.h"
#include "net/socket_connection.h"
#include "peer/socks5.h"
#include "server/relay_backend.h"
#include "server/relay_session.h"
#include "smtp/session.h"
#include "tests/peer/peer_test_util.h"
#include "tests/smtp/fake_backend.h"

namespace onionmail::server {

// v3 onion names of fixed ed25519 keys (bytes 0..31 and 32..63): base32 of
// key || SHA3-256(".onion checksum" || key || 0x03)[:2] || 0x03.
inline constexpr std::string_view kRemoteOnion =
    "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3kead.onion";
inline constexpr std::string_view kLocalOnion =
    "eaqseizeeutcokbjfivsyljof4ydcmrtgq2tmnzyhe5dwpb5hy74yhqd.onion";

// The remote server: users "bob" and "carol" of kRemoteOnion.
class RemoteServer {
 public:
  // `tkim`: served as the remote's TKIM service (may be null: no TKIM).
  // `vmat`: the remote is a gateway for "mx.example.org" serving SMTP VMAT
  // with it (with `tkim` only; may be null: not a gateway).
  explicit RemoteServer(uint64_t max_message_bytes = 25 * 1024 * 1024,
                        mail::TkimService* tkim = nullptr, mail::VmatService* vmat = nullptr)
      : id_(peer::MakeTestIdentity()) {
    using std::chrono_literals::operator""ms;
    cfg_.domain = std::string(kRemoteOnion);
    cfg_.hostname = std::string(kRemoteOnion);
    cfg_.log_tag = "relay-test-remote";
    cfg_.max_message_bytes = max_message_bytes;
    backend_.AddUser("bob", "unused-password");
    backend_.AddUser("carol", "unused-password");
    if (vmat != nullptr) {
      cfg_.exit_domain = "mx.example.org";
      cfg_.vmat_for_servers = true;
    }
    server_ = std::make_unique<peer::LoopbackServer>([this, tkim, vmat](int fd) {
      net::SocketConnection conn(fd, id_.tls, net::Timeouts{5000ms, 20000ms});
      smtp::Session(conn, backend_, cfg_, nullptr, nullptr, tkim, nullptr, nullptr, vmat).Run();
    });
  }
  uint16_t port() const { return server_->port(); }
  int accepted() const { return server_->accepted(); }
  // The pin of its TLS key (SHA-256 of the SubjectPublicKeyInfo).
  const peer::SpkiPin& pin() const { return id_.pin; }
  // Ends the server (waiting for the session in progress to end) and gives
  // its backend.
  smtp::FakeDeliveryBackend& Backend() {
    server_->Stop();
    return backend_;
  }

 private:
  peer::TestIdentity id_;
  smtp::SessionConfig cfg_;
  smtp::FakeDeliveryBackend backend_;
  std::unique_ptr<peer::LoopbackServer> server_;
};

// A SOCKS5 proxy that wants CONNECT to exactly kRemoteOnion:25 (ATYP 3, the
// name unresolved) and relays it to 127.0.0.1:`real_port`; with `refuse` it
// answers every CONNECT with "host unreachable" (0x04).
class OnionProxy {
 public:
  explicit OnionProxy(uint16_t real_port, bool refuse = false)
      : real_port_(real_port), refuse_(refuse), server_([this](int fd) { Serve(fd); }) {}
  std::string address() const { return server_.address(); }
  int accepted() const { return server_.accepted(); }
  std::atomic<int> relayed{0};  // CONNECTs to the right name, relayed

 private:
  void Serve(int fd) {
    using peer::ReadN;
    using peer::WriteAll;
    // (A string: GCC 12 misreports vector::insert here, -Wstringop-overflow.)
    std::string request = {5, 1, 0, static_cast<char>(peer::kSocks5AtypDomain),
                           static_cast<char>(kRemoteOnion.size())};
    request += kRemoteOnion;
    request += std::string{0, 25};
    bool good = ReadN(fd, 3) == std::vector<uint8_t>{5, 1, 0} &&
                WriteAll(fd, std::vector<uint8_t>{5, 0}) &&
                ReadN(fd, request.size()) == std::vector<uint8_t>(request.begin(), request.end());
    if (good && refuse_) {
      (void)WriteAll(fd, std::vector<uint8_t>{5, 4, 0, 1, 0, 0, 0, 0, 0, 0});
      good = false;
    }
    int up = good ? peer::ConnectLoopback(real_port_) : -1;
    if (up >= 0 && WriteAll(fd, std::vector<uint8_t>{5, 0, 0, 1, 0, 0, 0, 0, 0, 0})) {
      ++relayed;
      peer::Pump(fd, up);
    }
    if (up >= 0) ::close(up);
    ::close(fd);
  }

  uint16_t real_port_;
  bool refuse_;
  peer::LoopbackServer server_;
};

// The relay role's control loop on a thread; the front end's backend on the
// other end of the control channel. Stops and joins when destroyed, and
// expects the loop to have ended without an error.
class RelayTestRunner {
 public:
  explicit RelayTestRunner(const RelayOptions& options) {
    using std::chrono_literals::operator""ms;
    auto pair = ipc::Channel::CreatePair();
    EXPECT_TRUE(pair.ok());
    backend_.emplace(std::move(pair->first), RelayWaits{30000ms, 30000ms, 30000ms});
    control_.emplace(std::move(pair->second));
    thread_ =
        std::thread([this, options] { served_ = ServeRelayControl(*control_, options, &stop_); });
  }
  ~RelayTestRunner() {
    stop_ = true;
    thread_.join();
    EXPECT_TRUE(served_.ok()) << served_.error().message;
  }
  RemoteRelayBackend& backend() { return *backend_; }

 private:
  std::optional<RemoteRelayBackend> backend_;
  std::optional<ipc::Channel> control_;
  std::atomic<bool> stop_{false};
  Result<void> served_;
  std::thread thread_;
};

// The stored message without the remote's Return-Path and Received lines.
inline std::string WithoutTraceHeaders(const std::string& stored) {
  size_t first = stored.find("\r\n");  // Return-Path
  if (first == std::string::npos || stored.rfind("Return-Path: <", 0) != 0) return "(no trace)";
  size_t received = first + 2;
  if (stored.compare(received, 10, "Received: ") != 0) return "(no Received)";
  size_t end = stored.find("\r\n", received);
  return end == std::string::npos ? std::string() : stored.substr(end + 2);
}

}  // namespace onionmail::server
