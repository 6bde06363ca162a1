// Codec tests for the registration messages of src/ipc/messages.h
// (RegisterRequest, RegisterReply; POP3 RQUS, mail/registration.h): round
// trips with the secrets in SecretBytes, the wire layout and numbers, every
// bound (the voucher's length and alphabet, the user's length and bytes, the
// passwords' length and alphabet, no password unless kOk) refused both ways,
// truncation and trailing bytes, and the frames, which carry the secrets in
// clear, wiped by ipc::Channel on both sides.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/secret_bytes.h"
#include "ipc/channel.h"
#include "ipc/codec.h"
#include "ipc/messages.h"
#include "mail/registration.h"
#include "tests/ipc/message_round_trip.h"

namespace onionmail::ipc {
namespace {

constexpr std::string_view kVoucher = "abcdefghijklmnopqr27";  // 20 of the alphabet
constexpr std::string_view kSmtpPw = "stuvwxyz234567abcdefghij";
constexpr std::string_view kPop3Pw = "klmnopqrstuvwxyz23456777";

SecretBytes S(std::string_view s) { return SecretBytes(SecretAccess::Grant(), s); }
std::string Reveal(const SecretBytes& s) {
  return std::string(s.RevealString(SecretAccess::Grant()));
}

RegisterRequest Request(std::string_view voucher, std::string user) {
  return RegisterRequest{S(voucher), std::move(user)};
}
RegisterReply Reply(Status status, std::string_view smtp, std::string_view pop3) {
  return RegisterReply{status, S(smtp), S(pop3)};
}

// RoundTrip (message_round_trip.h) for the secret-carrying messages: encodes,
// decodes, checks the type and that encoding again gives the same
// bytes (frames wiped after use: they hold the secrets in clear).
template <typename T>
T WipingRoundTrip(Message m) {
  auto bytes = Encode(m);
  EXPECT_TRUE(bytes.ok()) << (bytes.ok() ? "" : bytes.error().message);
  if (!bytes.ok()) return T{};
  auto back = Decode(*bytes);
  EXPECT_TRUE(back.ok()) << (back.ok() ? "" : back.error().message);
  if (back.ok()) {
    auto again = Encode(*back);
    EXPECT_TRUE(again.ok() && *again == *bytes);
    if (again.ok()) WipeMemory(again->data(), again->size());
  }
  WipeMemory(bytes->data(), bytes->size());
  if (!back.ok() || !std::holds_alternative<T>(*back)) return T{};
  return std::get<T>(std::move(*back));
}

bool Encodes(Message m) {
  auto bytes = Encode(m);
  if (!bytes.ok()) return false;
  WipeMemory(bytes->data(), bytes->size());
  return true;
}

// A u16 length and the bytes (sized first, then copied: GCC 12 reports a
// false -Warray-bounds for an insert into a short vector).
std::vector<uint8_t> Field(std::string_view s) {
  std::vector<uint8_t> f(2 + s.size());
  f[0] = static_cast<uint8_t>(s.size() >> 8);
  f[1] = static_cast<uint8_t>(s.size());
  std::copy(s.begin(), s.end(), f.begin() + 2);
  return f;
}

// Fields one after the other.
std::vector<uint8_t> Concat(std::initializer_list<std::vector<uint8_t>> parts) {
  size_t n = 0;
  for (const auto& p : parts) n += p.size();
  std::vector<uint8_t> out(n);
  auto at = out.begin();
  for (const auto& p : parts) at = std::copy(p.begin(), p.end(), at);
  return out;
}
std::vector<uint8_t> RequestFrame(std::string_view voucher, std::string_view user) {
  return Frame(MsgType::kRegisterRequest, Concat({Field(voucher), Field(user)}));
}
std::vector<uint8_t> ReplyFrame(uint16_t status, std::string_view smtp, std::string_view pop3) {
  std::vector<uint8_t> st = {static_cast<uint8_t>(status >> 8), static_cast<uint8_t>(status)};
  return Frame(MsgType::kRegisterReply, Concat({st, Field(smtp), Field(pop3)}));
}

// Characters outside the voucher alphabet ("a".."z", "2".."7").
const std::string kForeign = std::string("AZ0189=-_ .\x7f\r\n") + std::string(1, '\0');

TEST(RegisterMessagesTest, ProtocolVersionAndWireNumbers) {
  EXPECT_GE(kProtocolVersion, 6);  // 7: TKIM vouches (tkim_messages_test.cc)
  EXPECT_EQ(static_cast<uint16_t>(MsgType::kRegisterRequest), 65);
  EXPECT_EQ(static_cast<uint16_t>(MsgType::kRegisterReply), 66);
  EXPECT_EQ(kVoucherBytes, mail::kVoucherChars);
  EXPECT_EQ(kGeneratedPasswordBytes, mail::kGeneratedPasswordChars);
  EXPECT_EQ(kVoucher.size(), kVoucherBytes);
  EXPECT_EQ(kSmtpPw.size(), kGeneratedPasswordBytes);
  EXPECT_EQ(kPop3Pw.size(), kGeneratedPasswordBytes);
}

TEST(RegisterMessagesTest, RequestRoundTripsIntoSecretBytes) {
  auto got = WipingRoundTrip<RegisterRequest>(Request(kVoucher, "alice"));
  EXPECT_EQ(Reveal(got.voucher), kVoucher);
  EXPECT_EQ(got.user, "alice");
  // Every character of the alphabet, and the user at both of its bounds.
  for (std::string_view v : {"abcdefghijklmnopqrst", "uvwxyz234567aaaaaaaa"}) {
    EXPECT_EQ(Reveal(WipingRoundTrip<RegisterRequest>(Request(v, "b")).voucher), v);
  }
  std::string longest(kMaxLocalPartBytes, 'u');
  EXPECT_EQ(WipingRoundTrip<RegisterRequest>(Request(kVoucher, longest)).user, longest);
}

TEST(RegisterMessagesTest, ReplyRoundTripsIntoSecretBytes) {
  auto ok = WipingRoundTrip<RegisterReply>(Reply(Status::kOk, kSmtpPw, kPop3Pw));
  EXPECT_EQ(ok.status, Status::kOk);
  EXPECT_EQ(Reveal(ok.smtp_password), kSmtpPw);
  EXPECT_EQ(Reveal(ok.pop3_password), kPop3Pw);
  for (uint16_t v = 1; v <= static_cast<uint16_t>(Status::kRefused); ++v) {
    auto failed = WipingRoundTrip<RegisterReply>(Reply(static_cast<Status>(v), "", ""));
    EXPECT_EQ(static_cast<uint16_t>(failed.status), v);
    EXPECT_TRUE(failed.smtp_password.empty() && failed.pop3_password.empty());
  }
}

TEST(RegisterMessagesTest, WireLayout) {
  auto req = Encode(Request(kVoucher, "bob"));
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(*req, RequestFrame(kVoucher, "bob"));
  WipeMemory(req->data(), req->size());
  auto reply = Encode(Reply(Status::kOk, kSmtpPw, kPop3Pw));
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(*reply, ReplyFrame(0, kSmtpPw, kPop3Pw));
  WipeMemory(reply->data(), reply->size());
  auto denied = Encode(Reply(Status::kUnauthenticated, "", ""));
  ASSERT_TRUE(denied.ok());
  EXPECT_EQ(*denied, ReplyFrame(static_cast<uint16_t>(Status::kUnauthenticated), "", ""));
}

TEST(RegisterMessagesTest, VoucherLengthIsExactBothWays) {
  for (size_t n : {size_t{0}, size_t{1}, kVoucherBytes - 1, kVoucherBytes + 1, size_t{64}}) {
    std::string v(n, 'a');
    EXPECT_FALSE(Encodes(Request(v, "bob"))) << n;
    EXPECT_FALSE(Decode(RequestFrame(v, "bob")).ok()) << n;
  }
  EXPECT_TRUE(Decode(RequestFrame(kVoucher, "bob")).ok());
}

TEST(RegisterMessagesTest, VoucherOutsideTheAlphabetIsRefusedBothWays) {
  for (char c : kForeign) {
    std::string v(kVoucher);
    v[7] = c;
    EXPECT_FALSE(Encodes(Request(v, "bob"))) << static_cast<int>(c);
    EXPECT_FALSE(Decode(RequestFrame(v, "bob")).ok()) << static_cast<int>(c);
  }
  // Upper case is what a client may type; only the canonical form crosses.
  std::string upper(kVoucher);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; });
  EXPECT_FALSE(Encodes(Request(upper, "bob")));
  EXPECT_FALSE(Decode(RequestFrame(upper, "bob")).ok());
}

TEST(RegisterMessagesTest, UserBoundsAreEnforcedBothWays) {
  std::string too_long(kMaxLocalPartBytes + 1, 'u');
  for (const std::string& bad : {std::string(), too_long, std::string("bo\0b", 4),
                                 std::string("bob\r\n"), std::string("b\x7f")}) {
    EXPECT_FALSE(Encodes(Request(kVoucher, bad))) << bad;
    EXPECT_FALSE(Decode(RequestFrame(kVoucher, bad)).ok()) << bad;
  }
}

TEST(RegisterMessagesTest, PasswordsAreExactlyTheirLengthWhenOkBothWays) {
  std::string short_pw(kGeneratedPasswordBytes - 1, 'a');
  std::string long_pw(kGeneratedPasswordBytes + 1, 'a');
  for (const std::string& bad : {std::string(), short_pw, long_pw}) {
    EXPECT_FALSE(Encodes(Reply(Status::kOk, bad, kPop3Pw))) << bad.size();
    EXPECT_FALSE(Encodes(Reply(Status::kOk, kSmtpPw, bad))) << bad.size();
    EXPECT_FALSE(Decode(ReplyFrame(0, bad, kPop3Pw)).ok()) << bad.size();
    EXPECT_FALSE(Decode(ReplyFrame(0, kSmtpPw, bad)).ok()) << bad.size();
  }
  for (char c : kForeign) {
    std::string pw(kSmtpPw);
    pw[0] = c;
    EXPECT_FALSE(Encodes(Reply(Status::kOk, pw, kPop3Pw))) << static_cast<int>(c);
    EXPECT_FALSE(Encodes(Reply(Status::kOk, kSmtpPw, pw))) << static_cast<int>(c);
    EXPECT_FALSE(Decode(ReplyFrame(0, pw, kPop3Pw)).ok()) << static_cast<int>(c);
    EXPECT_FALSE(Decode(ReplyFrame(0, kSmtpPw, pw)).ok()) << static_cast<int>(c);
  }
}

TEST(RegisterMessagesTest, NoPasswordUnlessOkBothWays) {
  const uint16_t denied = static_cast<uint16_t>(Status::kUnauthenticated);
  EXPECT_FALSE(Encodes(Reply(Status::kUnauthenticated, kSmtpPw, kPop3Pw)));
  EXPECT_FALSE(Encodes(Reply(Status::kAlreadyExists, kSmtpPw, "")));
  EXPECT_FALSE(Encodes(Reply(Status::kInternal, "", kPop3Pw)));
  EXPECT_FALSE(Decode(ReplyFrame(denied, kSmtpPw, kPop3Pw)).ok());
  EXPECT_FALSE(Decode(ReplyFrame(denied, kSmtpPw, "")).ok());
  EXPECT_FALSE(Decode(ReplyFrame(denied, "", kPop3Pw)).ok());
  EXPECT_TRUE(Decode(ReplyFrame(denied, "", "")).ok());
  // A status past kRefused.
  const uint16_t unknown = static_cast<uint16_t>(Status::kRefused) + 1;
  EXPECT_FALSE(Encodes(Reply(static_cast<Status>(unknown), "", "")));
  EXPECT_FALSE(Decode(ReplyFrame(unknown, "", "")).ok());
}

// Every strict prefix and every one-byte extension of a valid frame is
// refused: no field can be dropped or padded.
TEST(RegisterMessagesTest, TruncationAndTrailingBytesAreRefused) {
  std::vector<std::vector<uint8_t>> frames = {
      RequestFrame(kVoucher, "bob"), ReplyFrame(0, kSmtpPw, kPop3Pw), ReplyFrame(5, "", "")};
  for (const auto& good : frames) {
    ASSERT_TRUE(Decode(good).ok());
    const auto type = static_cast<MsgType>((good[4] << 8) | good[5]);
    std::vector<uint8_t> payload(good.begin() + kFrameHeaderBytes, good.end());
    for (size_t n = 0; n < payload.size(); ++n) {
      std::vector<uint8_t> cut(payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(n));
      EXPECT_FALSE(Decode(Frame(type, cut)).ok()) << n;
    }
    EXPECT_FALSE(Decode(Frame(type, Concat({payload, {0}}))).ok());
  }
}

bool AllZero(std::span<const uint8_t> b) {
  return std::all_of(b.begin(), b.end(), [](uint8_t c) { return c == 0; });
}
bool Holds(std::span<const uint8_t> frame, std::string_view secret) {
  return std::search(frame.begin(), frame.end(), secret.begin(), secret.end()) != frame.end();
}

// The frames hold the voucher and the passwords in clear (codec.h): the
// channel wipes its send buffer and the bytes it received, and EncodeInto
// wipes what its buffer held before.
TEST(RegisterMessagesTest, FramesWithSecretsAreWiped) {
  std::vector<uint8_t> buf;
  ASSERT_TRUE(EncodeInto(Request(kVoucher, "bob"), buf).ok());
  EXPECT_TRUE(Holds(buf, kVoucher));
  const uint8_t* old = buf.data();
  const size_t old_size = buf.size();
  ASSERT_TRUE(EncodeInto(Shutdown{}, buf).ok());
  ASSERT_EQ(buf.data(), old);  // the same storage, shorter: the tail was wiped
  EXPECT_TRUE(AllZero({old + buf.size(), old_size - buf.size()}));
  EXPECT_FALSE(Holds({old, old_size}, kVoucher));

  auto pair = Channel::CreatePair();
  ASSERT_TRUE(pair.ok());
  Channel& front = pair->first;
  Channel& key = pair->second;
  const auto timeout = std::chrono::milliseconds(2000);
  ASSERT_TRUE(front.Send(Request(kVoucher, "bob")).ok());
  ASSERT_FALSE(front.SendBufferForTesting().empty());
  EXPECT_TRUE(AllZero(front.SendBufferForTesting()));
  auto req = key.Receive(timeout);
  ASSERT_TRUE(req.ok()) << req.error().message;
  ASSERT_TRUE(std::holds_alternative<RegisterRequest>(*req));
  EXPECT_EQ(Reveal(std::get<RegisterRequest>(*req).voucher), kVoucher);
  ASSERT_FALSE(key.LastReceiveBytesForTesting().empty());
  EXPECT_TRUE(AllZero(key.LastReceiveBytesForTesting()));

  ASSERT_TRUE(key.Send(Reply(Status::kOk, kSmtpPw, kPop3Pw)).ok());
  EXPECT_TRUE(AllZero(key.SendBufferForTesting()));
  auto reply = front.Receive(timeout);
  ASSERT_TRUE(reply.ok()) << reply.error().message;
  ASSERT_TRUE(std::holds_alternative<RegisterReply>(*reply));
  EXPECT_EQ(Reveal(std::get<RegisterReply>(*reply).smtp_password), kSmtpPw);
  EXPECT_EQ(Reveal(std::get<RegisterReply>(*reply).pop3_password), kPop3Pw);
  ASSERT_FALSE(front.LastReceiveBytesForTesting().empty());
  EXPECT_TRUE(AllZero(front.LastReceiveBytesForTesting()));
}

}  // namespace
}  // namespace onionmail::ipc
