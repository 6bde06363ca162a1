// Codec tests for the server@ VOUCHER messages of src/ipc/messages.h
// (IssueVouchersRequest, IssueVouchersReply; mail/registration.h,
// VoucherService): round trips with the vouchers in SecretBytes, the wire
// layout and numbers, the count's range, the vouchers' number, length and
// alphabet, and no voucher unless kOk, each refused both ways.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/secret_bytes.h"
#include "ipc/codec.h"
#include "ipc/messages.h"
#include "mail/registration.h"
#include "tests/ipc/message_round_trip.h"

namespace onionmail::ipc {
namespace {

constexpr std::string_view kVoucher = "abcdefghijklmnopqr27";  // 20 of the alphabet

SecretBytes S(std::string_view s) { return SecretBytes(SecretAccess::Grant(), s); }

IssueVouchersReply Reply(Status status, std::vector<std::string_view> vouchers) {
  IssueVouchersReply r{status, {}};
  for (std::string_view v : vouchers) r.vouchers.push_back(S(v));
  return r;
}

bool Encodes(Message m) {
  auto bytes = Encode(m);
  if (!bytes.ok()) return false;
  WipeMemory(bytes->data(), bytes->size());
  return true;
}

std::vector<uint8_t> ReplyPayload(uint16_t status, std::vector<std::string_view> vouchers) {
  std::vector<uint8_t> p = {static_cast<uint8_t>(status >> 8), static_cast<uint8_t>(status), 0,
                            static_cast<uint8_t>(vouchers.size())};
  for (std::string_view v : vouchers) {
    p.push_back(0);
    p.push_back(static_cast<uint8_t>(v.size()));
    p.insert(p.end(), v.begin(), v.end());
  }
  return p;
}

TEST(VoucherMessagesTest, WireNumbersAndBounds) {
  EXPECT_EQ(static_cast<uint16_t>(MsgType::kIssueVouchersRequest), 70);
  EXPECT_EQ(static_cast<uint16_t>(MsgType::kIssueVouchersReply), 71);
  EXPECT_EQ(kMaxIssuedVouchers, mail::kMaxIssuedVouchers);
  EXPECT_EQ(kVoucherBytes, mail::kVoucherChars);
}

TEST(VoucherMessagesTest, RequestIsACountOf1To10BothWays) {
  for (uint16_t n : {1, 5, 10}) EXPECT_EQ(RoundTrip(IssueVouchersRequest{n}).count, n);
  EXPECT_FALSE(Encodes(IssueVouchersRequest{0}));
  EXPECT_FALSE(Encodes(IssueVouchersRequest{11}));
  auto bytes = Encode(IssueVouchersRequest{3});
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(FramePayload(*bytes), (std::vector<uint8_t>{0, 3}));
  EXPECT_FALSE(Decode(Frame(MsgType::kIssueVouchersRequest, {0, 0})).ok());
  EXPECT_FALSE(Decode(Frame(MsgType::kIssueVouchersRequest, {0, 11})).ok());
  EXPECT_FALSE(Decode(Frame(MsgType::kIssueVouchersRequest, {0, 3, 0})).ok());
}

TEST(VoucherMessagesTest, ReplyCarriesItsVouchersInSecretBytes) {
  const std::string second = "zzzzzzzzzzzzzzzzzz77";
  auto bytes = Encode(Reply(Status::kOk, {kVoucher, second}));
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(FramePayload(*bytes), ReplyPayload(0, {kVoucher, second}));
  auto back = Decode(*bytes);
  WipeMemory(bytes->data(), bytes->size());
  ASSERT_TRUE(back.ok());
  auto& reply = std::get<IssueVouchersReply>(*back);
  ASSERT_EQ(reply.vouchers.size(), 2u);
  EXPECT_EQ(reply.vouchers[0].RevealString(SecretAccess::Grant()), kVoucher);
  EXPECT_EQ(reply.vouchers[1].RevealString(SecretAccess::Grant()), second);
  auto refused = Encode(Reply(Status::kPermissionDenied, {}));
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(std::get<IssueVouchersReply>(Decode(*refused).value()).status,
            Status::kPermissionDenied);
}

TEST(VoucherMessagesTest, AReplyOutOfShapeIsRefusedBothWays) {
  const std::vector<std::vector<std::string_view>> bad_ok = {
      {},                                            // kOk without a voucher
      {"abcdefghijklmnopqr2"},                       // 19 characters
      {"abcdefghijklmnopqr278"},                     // 21
      {"ABCDEFGHIJKLMNOPQR27"},                      // upper case
      {"abcdefghijklmnopqr18"},                      // 1 and 8 are not base32
      std::vector<std::string_view>(11, kVoucher)};  // one too many
  for (const auto& vouchers : bad_ok) {
    EXPECT_FALSE(Encodes(Reply(Status::kOk, vouchers))) << vouchers.size();
    EXPECT_FALSE(Decode(Frame(MsgType::kIssueVouchersReply, ReplyPayload(0, vouchers))).ok())
        << vouchers.size();
  }
  EXPECT_TRUE(Encodes(Reply(Status::kOk, std::vector<std::string_view>(10, kVoucher))));
  // A refusal carries none.
  EXPECT_FALSE(Encodes(Reply(Status::kPermissionDenied, {kVoucher})));
  EXPECT_FALSE(
      Decode(Frame(MsgType::kIssueVouchersReply,
                   ReplyPayload(static_cast<uint16_t>(Status::kPermissionDenied), {kVoucher})))
          .ok());
}

}  // namespace
}  // namespace onionmail::ipc
