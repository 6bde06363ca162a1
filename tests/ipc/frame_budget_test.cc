// The IPC frames at their field bounds (ipc/messages.h) fit one datagram of a
// stock Linux socket. The roles' channels keep the kernel's default send
// buffer (net.core.wmem_default, 212992 bytes on Debian), and Linux refuses a
// datagram over the buffer less 32 bytes with EMSGSIZE; a field bound raised
// past that would break the roles on a stock machine only, never on one whose
// wmem sysctls were raised. The channel tests send the largest frames through
// a socket given exactly the stock buffer.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "ipc/channel.h"
#include "ipc/codec.h"

namespace onionmail::ipc {
namespace {

using std::chrono::milliseconds;

// Linux's default for net.core.wmem_default and net.core.wmem_max.
constexpr int kStockSendBufferBytes = 212992;
constexpr size_t kStockDatagramBytes = kStockSendBufferBytes - 32;

std::string Name(size_t n, size_t i) {
  std::string s = std::to_string(i);
  s.resize(n, 'x');
  return s;
}

MailboxListing LargestListing() {
  MailboxListing m;
  for (size_t i = 0; i < kMaxListingEntries; ++i) m.entries.push_back({Name(kMaxUidBytes, i), 1});
  return m;
}

BeginMessageRequest LargestBegin() {
  BeginMessageRequest m;
  m.reverse_path = std::string(kMaxPathBytes, 'p');
  for (size_t i = 0; i < kMaxRecipients; ++i) m.local_parts.push_back(Name(kMaxLocalPartBytes, i));
  return m;
}

// Each message that can pass 4 KiB, at its field bounds; the others carry
// only a few short fields (names, a password, one RSA block).
std::vector<std::pair<const char*, Message>> LargestMessages() {
  std::vector<std::pair<const char*, Message>> out;
  out.emplace_back("MailboxListing", LargestListing());
  out.emplace_back("BeginMessageRequest", LargestBegin());
  ExpungeRequest expunge;
  for (uint32_t i = 0; i < kMaxExpungeIndices; ++i) expunge.indices.push_back(i);
  out.emplace_back("ExpungeRequest", std::move(expunge));
  out.emplace_back("AppendRequest", AppendRequest{std::vector<uint8_t>(kMaxChunkBytes, 'a')});
  out.emplace_back("MessageChunk", MessageChunk{std::vector<uint8_t>(kMaxChunkBytes, 'm')});
  out.emplace_back("RelayAppendRequest",
                   RelayAppendRequest{std::vector<uint8_t>(kMaxChunkBytes, 'r')});
  TlsIdentityReply identity;
  identity.certificate_pem.assign(kMaxCertificateBytes, 'c');
  identity.public_key.assign(kMaxPublicKeyBytes, 'k');
  out.emplace_back("TlsIdentityReply", std::move(identity));
  LookupUserReply lookup;
  lookup.mailbox_id = std::string(kMaxMailboxIdBytes, 'b');
  lookup.public_key.assign(kMaxPublicKeyBytes, 'k');
  out.emplace_back("LookupUserReply", std::move(lookup));
  TormRequest torm;
  torm.blob.assign(mail::kMaxTormBlobBytes, 't');
  out.emplace_back("TormRequest", std::move(torm));
  out.emplace_back("TormReply", TormReply{mail::TormOutcome::kOk,
                                          std::vector<uint8_t>(mail::kMaxTormBlobBytes, 't')});
  out.emplace_back(
      "DerkPrepareReply",
      DerkPrepareReply{Status::kOk, std::vector<uint8_t>(mail::kMaxTormBlobBytes, 'q')});
  DerkResultRequest derk;
  derk.reached = true;
  derk.outcome = mail::TormOutcome::kOk;
  derk.reply.assign(mail::kMaxTormBlobBytes, 'r');
  derk.detail = std::string(kMaxDetailBytes, 'd');
  out.emplace_back("DerkResultRequest", std::move(derk));
  ForwardList forward;
  for (size_t i = 0; i < kMaxForwardItems; ++i) {
    forward.items.push_back(
        {std::vector<uint8_t>(kMaxKctlCertBytes, 'k'), Name(kMaxPeerAddressBytes, i), {}});
  }
  out.emplace_back("ForwardList", std::move(forward));
  UnsealPlan plan;
  for (size_t i = 0; i < kMaxUnsealTargets; ++i) {
    plan.targets.push_back({static_cast<uint16_t>(i), Name(kMaxPeerAddressBytes, i), {}});
  }
  out.emplace_back("UnsealPlan", std::move(plan));
  ListReply list;  // the owner (a local part) and the others remote, the longest members
  list.owner = Name(kMaxLocalPartBytes, 0);
  list.members.push_back(list.owner);
  for (size_t i = 1; i < kMaxListMembers; ++i) list.members.push_back(Name(kMaxListMemberBytes, i));
  out.emplace_back("ListReply", std::move(list));
  BlockListReply blocks;
  for (size_t i = 0; i < kMaxBlockEntries; ++i) {
    blocks.entries.push_back(Name(kMaxBlockEntryBytes, i));
  }
  out.emplace_back("BlockListReply", std::move(blocks));
  return out;
}

TEST(IpcFrameBudgetTest, EveryFrameAtItsFieldBoundsFitsOneStockDatagram) {
  for (const auto& [name, msg] : LargestMessages()) {
    auto frame = Encode(msg);
    ASSERT_TRUE(frame.ok()) << name << ": " << frame.error().message;
    EXPECT_LE(frame->size(), kStockDatagramBytes) << name;
    // Half the budget: room to grow a bound before this test must change.
    EXPECT_LE(frame->size(), kStockDatagramBytes / 2) << name;
  }
}

TEST(IpcFrameBudgetTest, LargestFramesCrossASocketWithTheStockSendBuffer) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  // The kernel doubles what is asked (socket(7)).
  for (int fd : sv) {
    int half = kStockSendBufferBytes / 2;
    ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &half, sizeof half), 0);
    int got = 0;
    socklen_t len = sizeof got;
    ASSERT_EQ(getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &got, &len), 0);
    ASSERT_EQ(got, kStockSendBufferBytes);
  }
  auto a = Channel::FromFd(sv[0]);
  auto b = Channel::FromFd(sv[1]);
  ASSERT_TRUE(a.ok() && b.ok());
  for (const auto& [name, msg] : LargestMessages()) {
    auto sent = a->Send(msg);
    ASSERT_TRUE(sent.ok()) << name << ": " << sent.error().message;
    auto got = b->Receive(milliseconds(5000));
    ASSERT_TRUE(got.ok()) << name << ": " << got.error().message;
    EXPECT_EQ(got->index(), msg.index()) << name;
  }
}

}  // namespace
}  // namespace onionmail::ipc
