// RemoteRelayBackend::OpenAll (relay_backend.h): the servers of a list post
// are opened at once, each on its own session channel, and the results come
// back in the order of the servers. The test plays the relay role on the
// control channel: it answers no MAIL until every server's session has
// arrived, which only a backend that opens them at once can bring about (one
// that waits for each answer before the next would leave it waiting; its
// bounded wait then fails the test instead of hanging it).
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "ipc/channel.h"
#include "ipc/messages.h"
#include "mail/relay.h"
#include "server/relay_backend.h"
#include "tests/mail/test_onions.h"

namespace onionmail::server {
namespace {

using std::chrono_literals::operator""ms;
using std::chrono_literals::operator""s;

// Takes `count` sessions (RelayBeginRequest first), then answers every MAIL
// with 250 and every RCPT with 250, or 550 for a path starting "nobody".
// Returns how many sessions had arrived before the first answer.
size_t ServeSessions(ipc::Channel& control, size_t count, std::vector<std::string>* domains) {
  std::vector<ipc::Channel> sessions;
  while (sessions.size() < count) {
    auto got = control.ReceiveFd(10s);
    if (!got.ok()) break;  // the backend is not opening them all at once
    auto session = ipc::Channel::FromFd(got->fd.Release());
    if (!session.ok()) break;
    auto begin = session->Receive(1s);
    if (!begin.ok() || !std::holds_alternative<ipc::RelayBeginRequest>(*begin)) break;
    domains->push_back(std::get<ipc::RelayBeginRequest>(*begin).domain);
    sessions.push_back(std::move(*session));
  }
  const size_t arrived = sessions.size();
  for (ipc::Channel& session : sessions) {
    (void)session.Send(ipc::RelayReply{ipc::Status::kOk, 250, "2.1.0"});
  }
  // The RCPTs, each session in turn (each is used by its own thread).
  for (ipc::Channel& session : sessions) {
    while (true) {
      auto m = session.Receive(2s);
      if (!m.ok()) break;  // closed: the transaction was dropped
      auto* rcpt = std::get_if<ipc::RelayRcptRequest>(&*m);
      if (rcpt == nullptr) break;
      const bool known = rcpt->forward_path.rfind("nobody", 0) != 0;
      (void)session.Send(ipc::RelayReply{ipc::Status::kOk, static_cast<uint16_t>(known ? 250 : 550),
                                         known ? "2.1.5" : "5.1.1"});
      if (rcpt->forward_path.rfind("last", 0) == 0) break;
    }
  }
  return arrived;
}

TEST(RelayOpenAllTest, EveryServerIsOpenedAtOnceAndResultsKeepTheirOrder) {
  auto pair = ipc::Channel::CreatePair();
  ASSERT_TRUE(pair.ok());
  RemoteRelayBackend backend(std::move(pair->first), RelayWaits{20000ms, 20000ms, 20000ms});
  ipc::Channel control = std::move(pair->second);

  const std::vector<std::string>& onions = mail::kTestOnions;
  std::vector<mail::RelayOpening> servers;
  for (size_t i = 0; i < 4; ++i) {
    servers.push_back(
        {onions[i], {"bob@" + onions[i], "nobody@" + onions[i], "last@" + onions[i]}});
  }
  std::vector<std::string> seen;
  size_t arrived = 0;
  std::thread relay([&] { arrived = ServeSessions(control, servers.size(), &seen); });
  std::vector<mail::RelayOpened> opened = backend.OpenAll(servers, "alice@x.onion", {0, false});
  relay.join();

  EXPECT_EQ(arrived, servers.size());  // all four were waiting before any answer
  EXPECT_EQ(seen.size(), servers.size());
  ASSERT_EQ(opened.size(), servers.size());
  for (size_t i = 0; i < servers.size(); ++i) {
    ASSERT_TRUE(opened[i].begun.ok()) << i << ": " << opened[i].begun.error().message;
    EXPECT_EQ(opened[i].begun->mail_reply.code, 250);
    ASSERT_NE(opened[i].begun->transaction, nullptr);
    ASSERT_EQ(opened[i].rcpts.size(), 3u) << i;
    EXPECT_EQ(opened[i].rcpts[0]->code, 250);
    EXPECT_EQ(opened[i].rcpts[1]->code, 550);  // its own answer, in its place
    EXPECT_EQ(opened[i].rcpts[2]->code, 250);
  }
}

TEST(RelayOpenAllTest, NoServerIsNothingAndOneRunsOnTheCallersThread) {
  auto pair = ipc::Channel::CreatePair();
  ASSERT_TRUE(pair.ok());
  RemoteRelayBackend backend(std::move(pair->first), RelayWaits{20000ms, 20000ms, 20000ms});
  ipc::Channel control = std::move(pair->second);
  EXPECT_TRUE(backend.OpenAll({}, "alice@x.onion", {0, false}).empty());

  std::vector<mail::RelayOpening> one{{mail::kTestOnions[0], {"last@" + mail::kTestOnions[0]}}};
  std::vector<std::string> seen;
  std::thread relay([&] { ServeSessions(control, 1, &seen); });
  std::vector<mail::RelayOpened> opened = backend.OpenAll(one, "alice@x.onion", {0, false});
  relay.join();
  ASSERT_EQ(opened.size(), 1u);
  ASSERT_TRUE(opened[0].begun.ok());
  ASSERT_EQ(opened[0].rcpts.size(), 1u);
  EXPECT_EQ(opened[0].rcpts[0]->code, 250);
  EXPECT_EQ(seen, std::vector<std::string>{mail::kTestOnions[0]});
}

TEST(RelayOpenAllTest, AServerThatCannotBeOpenedFailsAloneInItsPlace) {
  auto pair = ipc::Channel::CreatePair();
  ASSERT_TRUE(pair.ok());
  RemoteRelayBackend backend(std::move(pair->first), RelayWaits{20000ms, 20000ms, 20000ms});
  ipc::Channel control = std::move(pair->second);
  // The second is out of the IPC bounds: refused before anything is sent.
  std::vector<mail::RelayOpening> servers{{mail::kTestOnions[0], {"last@" + mail::kTestOnions[0]}},
                                          {std::string(300, 'a'), {"last@x"}},
                                          {mail::kTestOnions[2], {"last@" + mail::kTestOnions[2]}}};
  std::vector<std::string> seen;
  std::thread relay([&] { ServeSessions(control, 2, &seen); });
  std::vector<mail::RelayOpened> opened = backend.OpenAll(servers, "alice@x.onion", {0, false});
  relay.join();
  ASSERT_EQ(opened.size(), 3u);
  EXPECT_TRUE(opened[0].begun.ok());
  ASSERT_FALSE(opened[1].begun.ok());
  EXPECT_EQ(opened[1].begun.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(opened[1].rcpts.empty());
  EXPECT_TRUE(opened[2].begun.ok());
  EXPECT_EQ(seen.size(), 2u);
}

}  // namespace
}  // namespace onionmail::server
