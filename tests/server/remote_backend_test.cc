// Tests of the front ends' side of the key role (remote_backend.h) against a
// scripted key role on the other end of a channel pair, for replies a real key
// role does not send (malformed, out of order, missing). The end to end tests
// against a real key role are in remote_backend_key_role_test.cc.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "tests/server/remote_backend_fixture.h"

namespace onionmail::server {
namespace {

using namespace std::chrono_literals;

// ---------------------------------------------------------------------------
// Against a scripted key role: `script` runs with the key role's end of a
// session channel in a thread, with bounded waits so a failure cannot hang.
class ScriptedKeyRole {
 public:
  explicit ScriptedKeyRole(std::function<void(ipc::Channel&)> script) {
    auto pair = ipc::Channel::CreatePair();
    if (!pair.ok()) std::abort();
    link_ = std::make_unique<SessionLink>(std::move(pair->first));
    thread_ = std::thread(
        [script = std::move(script), ch = std::move(pair->second)]() mutable { script(ch); });
  }
  ~ScriptedKeyRole() { thread_.join(); }
  SessionLink& link() { return *link_; }

 private:
  std::unique_ptr<SessionLink> link_;
  std::thread thread_;
};

template <typename T>
T Expect(ipc::Channel& ch) {
  auto m = ch.Receive(10s);
  if (!m.ok() || !std::holds_alternative<T>(*m)) {
    ADD_FAILURE() << "key role expected message type " << static_cast<int>(T::kType);
    return T{};
  }
  return std::get<T>(std::move(*m));
}

TEST(RemoteBackendTest, AppendIsSplitIntoMaxChunksAndAbortSentOnlyWithoutCommit) {
  const std::string text = BigMessage();  // 200 KiB: 6 full chunks and a partial one
  std::string received;
  std::vector<size_t> sizes;
  {
    ScriptedKeyRole role([&](ipc::Channel& ch) {
      (void)Expect<ipc::BeginMessageRequest>(ch);
      ASSERT_TRUE(ch.Send(ipc::StatusReply{ipc::Status::kOk}).ok());
      while (received.size() < text.size()) {
        auto a = Expect<ipc::AppendRequest>(ch);
        if (a.data.empty()) return;
        sizes.push_back(a.data.size());
        received.append(a.data.begin(), a.data.end());
      }
      (void)Expect<ipc::CommitRequest>(ch);
      ASSERT_TRUE(ch.Send(ipc::StatusReply{ipc::Status::kOk}).ok());
      (void)Expect<ipc::BeginMessageRequest>(ch);
      ASSERT_TRUE(ch.Send(ipc::StatusReply{ipc::Status::kOk}).ok());
      (void)Expect<ipc::AbortMessageRequest>(ch);                    // second writer dropped
      EXPECT_TRUE(Fails(ch.Receive(10s), ErrorCode::kUnavailable));  // and nothing else
    });
    RemoteDelivery delivery(role.link());
    auto w = delivery.BeginMessage(mail::Envelope{"", {"bob"}});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(AsBytes(text)).ok());
    ASSERT_TRUE((*w)->Commit().ok());
    w->reset();  // committed: no abort
    auto w2 = delivery.BeginMessage(mail::Envelope{"", {"bob"}});
    ASSERT_TRUE(w2.ok());
    w2->reset();
    role.link().Break();
  }
  EXPECT_EQ(received, text);
  ASSERT_EQ(sizes.size(), 7u);
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(sizes[i], ipc::kMaxChunkBytes);
  EXPECT_EQ(sizes[6], text.size() - 6 * ipc::kMaxChunkBytes);
}

TEST(RemoteBackendTest, CommitErrorStatusIsReturnedAndNothingClaimedDurable) {
  ScriptedKeyRole role([](ipc::Channel& ch) {
    (void)Expect<ipc::BeginMessageRequest>(ch);
    ASSERT_TRUE(ch.Send(ipc::StatusReply{ipc::Status::kOk}).ok());
    (void)Expect<ipc::AppendRequest>(ch);
    (void)Expect<ipc::CommitRequest>(ch);
    ASSERT_TRUE(ch.Send(ipc::StatusReply{ipc::Status::kResourceExhausted}).ok());
  });
  auto w = RemoteDelivery(role.link()).BeginMessage(mail::Envelope{"", {"bob"}});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append(AsBytes("x")).ok());
  EXPECT_TRUE(Fails((*w)->Commit(), ErrorCode::kResourceExhausted));
  EXPECT_TRUE(Fails((*w)->Commit(), ErrorCode::kFailedPrecondition));  // once only
}

TEST(RemoteBackendTest, UnexpectedReplyTypeBreaksTheLink) {
  ScriptedKeyRole role([](ipc::Channel& ch) {
    (void)Expect<ipc::VerifySmtpPasswordRequest>(ch);
    ASSERT_TRUE(ch.Send(ipc::StatusReply{ipc::Status::kOk}).ok());  // not a VerifyResult
  });
  RemoteDelivery delivery(role.link());
  EXPECT_TRUE(Fails(delivery.VerifySmtpPassword("bob", Pw("pw")), ErrorCode::kUnavailable));
  EXPECT_TRUE(role.link().broken());
  EXPECT_TRUE(Fails(delivery.CheckRecipient("bob", 0, ""), ErrorCode::kUnavailable));
}

TEST(RemoteBackendTest, KeyRoleGoneMidReadIsUnavailable) {
  ScriptedKeyRole role([](ipc::Channel& ch) {
    (void)Expect<ipc::OpenMailboxRequest>(ch);
    ASSERT_TRUE(ch.Send(ipc::OpenMailboxReply{ipc::Status::kOk, 1}).ok());
    ASSERT_TRUE(ch.Send(ipc::MailboxListing{{{"u1", 10}}}).ok());
    (void)Expect<ipc::ReadMessageRequest>(ch);
    ASSERT_TRUE(ch.Send(ipc::MessageChunk{{'a', 'b'}}).ok());
  });  // then the channel closes without the final StatusReply
  auto box = RemoteMailboxes(role.link()).Open("bob", Pw("pw"));
  ASSERT_TRUE(box.ok());
  std::string got;
  auto r = (*box)->Read(0, [&](std::span<const uint8_t> b) -> Result<void> {
    got.append(b.begin(), b.end());
    return Ok();
  });
  EXPECT_TRUE(Fails(r, ErrorCode::kUnavailable));
  EXPECT_EQ(got, "ab");
}

TEST(RemoteBackendTest, ListingPagesAreJoinedAndAnOverlongListingIsRefused) {
  {
    ScriptedKeyRole role([](ipc::Channel& ch) {
      (void)Expect<ipc::OpenMailboxRequest>(ch);
      ASSERT_TRUE(ch.Send(ipc::OpenMailboxReply{ipc::Status::kOk, 3}).ok());
      ASSERT_TRUE(ch.Send(ipc::MailboxListing{{{"a", 1}, {"b", 2}}}).ok());
      ASSERT_TRUE(ch.Send(ipc::MailboxListing{{{"c", 3}}}).ok());
    });
    auto box = RemoteMailboxes(role.link()).Open("bob", Pw("pw"));
    ASSERT_TRUE(box.ok());
    ASSERT_EQ((*box)->Messages().size(), 3u);
    EXPECT_EQ((*box)->Messages()[2].uid, "c");
    EXPECT_EQ((*box)->Messages()[2].size, 3u);
  }
  ScriptedKeyRole role([](ipc::Channel& ch) {
    (void)Expect<ipc::OpenMailboxRequest>(ch);
    ASSERT_TRUE(ch.Send(ipc::OpenMailboxReply{ipc::Status::kOk, 1}).ok());
    ASSERT_TRUE(ch.Send(ipc::MailboxListing{{{"a", 1}, {"b", 2}}}).ok());
  });
  EXPECT_TRUE(Fails(RemoteMailboxes(role.link()).Open("bob", Pw("pw")), ErrorCode::kUnavailable));
  EXPECT_TRUE(role.link().broken());
}

// A reply promising more messages than it delivers must end in kUnavailable
// (remote_backend.h: a malformed reply breaks the link), not in a front-end
// crash. Run in a child process: a failure here is an abort.
TEST(RemoteBackendDeathTest, HugeMessageCountInOpenMailboxReplyIsUnavailableNotACrash) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ScriptedKeyRole role([](ipc::Channel& ch) {
          (void)Expect<ipc::OpenMailboxRequest>(ch);
          (void)ch.Send(ipc::OpenMailboxReply{ipc::Status::kOk, 0xffffffffu});
        });
        auto box = RemoteMailboxes(role.link()).Open("bob", Pw("pw"));
        std::_Exit(!box.ok() && box.error().code == ErrorCode::kUnavailable ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace onionmail::server
