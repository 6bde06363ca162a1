// Tests for ipc/codec.h: every message round-trips, every malformation is
// rejected with kInvalidArgument, encoding is canonical.
#include "ipc/codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/secret_bytes.h"

namespace onionmail::ipc {
namespace {

SecretBytes Secret(std::string_view s) { return SecretBytes(SecretAccess::Grant(), s); }
std::string Reveal(const SecretBytes& s) {
  return std::string(s.RevealString(SecretAccess::Grant()));
}

std::vector<uint8_t> MustEncode(const Message& m) {
  auto r = Encode(m);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? std::move(r).value() : std::vector<uint8_t>{};
}

// Decodes, checks the type, and checks the re-encoding is byte-identical.
template <typename T>
T RoundTrip(const Message& m) {
  std::vector<uint8_t> bytes = MustEncode(m);
  auto d = Decode(bytes);
  EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().message);
  if (!d.ok()) return T{};
  EXPECT_EQ(MustEncode(*d), bytes);
  EXPECT_TRUE(std::holds_alternative<T>(*d));
  if (!std::holds_alternative<T>(*d)) return T{};
  return std::get<T>(std::move(*d));
}

void ExpectInvalid(std::span<const uint8_t> bytes) {
  auto d = Decode(bytes);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
}

// (A loop: GCC 12 misreports vector::insert here under -Warray-bounds.)
void Append(std::vector<uint8_t>& to, const std::vector<uint8_t>& more) {
  for (uint8_t b : more) to.push_back(b);
}

// Builds a frame by hand: correct length, given type/version/payload.
std::vector<uint8_t> Frame(uint16_t type, uint16_t version, std::vector<uint8_t> payload) {
  uint32_t len = static_cast<uint32_t>(payload.size() + 4);
  std::vector<uint8_t> f = {static_cast<uint8_t>(len >> 24), static_cast<uint8_t>(len >> 16),
                            static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len),
                            static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type),
                            static_cast<uint8_t>(version >> 8), static_cast<uint8_t>(version)};
  Append(f, payload);
  return f;
}

std::vector<uint8_t> Field(std::string_view s) {
  std::vector<uint8_t> f = {static_cast<uint8_t>(s.size() >> 8), static_cast<uint8_t>(s.size())};
  for (char c : s) f.push_back(static_cast<uint8_t>(c));
  return f;
}

uint16_t T(MsgType t) { return static_cast<uint16_t>(t); }

TEST(IpcCodecTest, HelloRoundTripsWithLayoutLengthTypeVersionPayload) {
  auto bytes = MustEncode(Hello{Role::kPop3, kProtocolVersion});
  EXPECT_EQ(bytes, Frame(T(MsgType::kHello), kProtocolVersion, {0, 4, 0, kProtocolVersion}));
  Hello h = RoundTrip<Hello>(Hello{Role::kKey, kProtocolVersion});
  EXPECT_EQ(h.role, Role::kKey);
  EXPECT_EQ(h.version, kProtocolVersion);
}

TEST(IpcCodecTest, ShutdownAndAcceptedConnectionRoundTrip) {
  (void)RoundTrip<Shutdown>(Shutdown{});
  EXPECT_EQ(MustEncode(Shutdown{}).size(), kFrameHeaderBytes);
  EXPECT_EQ(RoundTrip<AcceptedConnection>(AcceptedConnection{7}).listener_id, 7);
}

TEST(IpcCodecTest, VerifySmtpPasswordRequestRoundTripsIntoSecretBytes) {
  VerifySmtpPasswordRequest m{"alice@example.onion", Secret("s3cr\0t pass")};
  auto got = RoundTrip<VerifySmtpPasswordRequest>(Message(std::move(m)));
  EXPECT_EQ(got.user, "alice@example.onion");
  EXPECT_EQ(Reveal(got.password), std::string("s3cr\0t pass"));
  EXPECT_EQ(RoundTrip<VerifyResult>(VerifyResult{Status::kUnauthenticated}).status,
            Status::kUnauthenticated);
}

TEST(IpcCodecTest, LookupUserRoundTrips) {
  EXPECT_EQ(RoundTrip<LookupUserRequest>(LookupUserRequest{"bob"}).user, "bob");
  LookupUserReply r;
  r.status = Status::kOk;
  r.mailbox_id = "0a1b2c";
  r.public_key = std::vector<uint8_t>(300, 0x30);
  for (size_t i = 0; i < r.key_id.size(); ++i) r.key_id[i] = static_cast<uint8_t>(i);
  auto got = RoundTrip<LookupUserReply>(Message(r));
  EXPECT_EQ(got.status, Status::kOk);
  EXPECT_EQ(got.mailbox_id, r.mailbox_id);
  EXPECT_EQ(got.public_key, r.public_key);
  EXPECT_EQ(got.key_id, r.key_id);
  auto missing = RoundTrip<LookupUserReply>(LookupUserReply{Status::kNotFound, "", {}, {}});
  EXPECT_EQ(missing.status, Status::kNotFound);
}

TEST(IpcCodecTest, OpenInboxRoundTrips) {
  auto req = RoundTrip<OpenInboxRequest>(Message(OpenInboxRequest{"carol", Secret("pw")}));
  EXPECT_EQ(req.user, "carol");
  EXPECT_EQ(Reveal(req.password), "pw");
  auto rep = RoundTrip<OpenInboxReply>(OpenInboxReply{Status::kOk, 0x0102030405060708ull});
  EXPECT_EQ(rep.session_id, 0x0102030405060708ull);
}

TEST(IpcCodecTest, UnwrapAndCloseRoundTrip) {
  auto req = RoundTrip<UnwrapDataKeyRequest>(UnwrapDataKeyRequest{42, {1, 2, 3}});
  EXPECT_EQ(req.session_id, 42u);
  EXPECT_EQ(req.wrapped, (std::vector<uint8_t>{1, 2, 3}));
  auto rep = RoundTrip<UnwrapDataKeyReply>(
      Message(UnwrapDataKeyReply{Status::kOk, Secret(std::string(32, 'k'))}));
  EXPECT_EQ(Reveal(rep.data_key), std::string(32, 'k'));
  EXPECT_EQ(RoundTrip<CloseInboxRequest>(CloseInboxRequest{~0ull}).session_id, ~0ull);
}

TEST(IpcCodecTest, HashedNameRoundTrips) {
  auto req = RoundTrip<HashedNameRequest>(HashedNameRequest{"msgid", std::string("a\0b", 3)});
  EXPECT_EQ(req.purpose, "msgid");
  EXPECT_EQ(req.data, std::string("a\0b", 3));
  auto rep = RoundTrip<HashedNameReply>(HashedNameReply{Status::kOk, "deadbeef"});
  EXPECT_EQ(rep.name, "deadbeef");
}

TEST(IpcCodecTest, StatusMapsToAndFromErrorCodes) {
  EXPECT_EQ(StatusFromError(ErrorCode::kInvalidArgument), Status::kInvalidArgument);
  EXPECT_EQ(StatusFromError(ErrorCode::kInternal), Status::kInternal);
  EXPECT_TRUE(StatusToResult(Status::kOk, "x").ok());
  auto r = StatusToResult(Status::kUnauthenticated, "x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
}

TEST(IpcCodecTest, UnknownTypeIsRejected) {
  ExpectInvalid(Frame(0, kProtocolVersion, {}));
  ExpectInvalid(Frame(9, kProtocolVersion, {}));
  ExpectInvalid(Frame(0xffff, kProtocolVersion, {}));
}

TEST(IpcCodecTest, WrongVersionIsRejected) {
  ExpectInvalid(Frame(T(MsgType::kShutdown), kProtocolVersion + 1, {}));
  ExpectInvalid(Frame(T(MsgType::kShutdown), 0, {}));
  // Hello's own version field must match too.
  ExpectInvalid(Frame(T(MsgType::kHello), kProtocolVersion, {0, 1, 0, kProtocolVersion + 1}));
}

TEST(IpcCodecTest, TrailingBytesAreRejected) {
  ExpectInvalid(Frame(T(MsgType::kShutdown), kProtocolVersion, {0}));
  auto f = Field("bob");
  f.push_back('x');
  ExpectInvalid(Frame(T(MsgType::kLookupUserRequest), kProtocolVersion, f));
}

TEST(IpcCodecTest, LengthPrefixMismatchIsRejected) {
  auto bytes = MustEncode(LookupUserRequest{"bob"});
  bytes.push_back(0);  // frame longer than its length prefix says
  ExpectInvalid(bytes);
  bytes.pop_back();
  bytes.pop_back();  // shorter
  ExpectInvalid(bytes);
  ExpectInvalid(std::vector<uint8_t>{0, 0, 0});  // shorter than a header
}

TEST(IpcCodecTest, ShortFieldsAreRejected) {
  // Length prefix promises more than is there.
  ExpectInvalid(Frame(T(MsgType::kLookupUserRequest), kProtocolVersion, {0, 5, 'b', 'o'}));
  // Half a length prefix.
  ExpectInvalid(Frame(T(MsgType::kLookupUserRequest), kProtocolVersion, {0}));
  // Missing key_id bytes.
  std::vector<uint8_t> p = {0, 0};
  auto id = Field("ab");
  Append(p, id);
  Append(p, {0, 0});
  Append(p, std::vector<uint8_t>(31, 0x11));
  ExpectInvalid(Frame(T(MsgType::kLookupUserReply), kProtocolVersion, p));
  // Truncated session id.
  ExpectInvalid(Frame(T(MsgType::kCloseInboxRequest), kProtocolVersion, {0, 0, 0, 0, 0, 0, 0}));
}

TEST(IpcCodecTest, OverLongFieldsAreRejectedByDecodeAndEncode) {
  std::string long_user(kMaxUserBytes + 1, 'u');
  ExpectInvalid(Frame(T(MsgType::kLookupUserRequest), kProtocolVersion, Field(long_user)));
  std::string max_user(kMaxUserBytes, 'u');
  EXPECT_TRUE(Decode(Frame(T(MsgType::kLookupUserRequest), kProtocolVersion, Field(max_user))).ok());

  auto enc = Encode(LookupUserRequest{long_user});
  ASSERT_FALSE(enc.ok());
  EXPECT_EQ(enc.error().code, ErrorCode::kInvalidArgument);
  auto key = Encode(Message(UnwrapDataKeyReply{Status::kOk, SecretBytes(kMaxDataKeyBytes + 1)}));
  EXPECT_FALSE(key.ok());
  auto pw = Encode(Message(OpenInboxRequest{"u", SecretBytes(kMaxPasswordBytes + 1)}));
  EXPECT_FALSE(pw.ok());
  EXPECT_FALSE(Encode(UnwrapDataKeyRequest{1, std::vector<uint8_t>(kMaxWrappedKeyBytes + 1)}).ok());
}

TEST(IpcCodecTest, NamesWithNulOrControlBytesAreRejected) {
  ExpectInvalid(Frame(T(MsgType::kLookupUserRequest), kProtocolVersion,
                      Field(std::string("bo\0b", 4))));
  ExpectInvalid(Frame(T(MsgType::kLookupUserRequest), kProtocolVersion, Field("bob\r\n")));
  ExpectInvalid(Frame(T(MsgType::kLookupUserRequest), kProtocolVersion, Field("")));
  EXPECT_FALSE(Encode(LookupUserRequest{std::string("a\0b", 3)}).ok());
  EXPECT_FALSE(Encode(HashedNameRequest{"", "data"}).ok());
}

TEST(IpcCodecTest, UnknownEnumValuesAreRejected) {
  ExpectInvalid(Frame(T(MsgType::kVerifyResult), kProtocolVersion, {0, 12}));
  ExpectInvalid(Frame(T(MsgType::kHello), kProtocolVersion, {0, 0, 0, kProtocolVersion}));
  ExpectInvalid(Frame(T(MsgType::kHello), kProtocolVersion, {0, 5, 0, kProtocolVersion}));
  EXPECT_FALSE(Encode(VerifyResult{static_cast<Status>(99)}).ok());
}

TEST(IpcCodecTest, FrameOverOneMebibyteIsRejected) {
  // A well-formed length prefix for a 1 MiB + 1 frame.
  std::vector<uint8_t> big(kMaxFrameBytes + 1, 0);
  uint32_t len = static_cast<uint32_t>(big.size() - 4);
  big[0] = static_cast<uint8_t>(len >> 24);
  big[1] = static_cast<uint8_t>(len >> 16);
  big[2] = static_cast<uint8_t>(len >> 8);
  big[3] = static_cast<uint8_t>(len);
  big[5] = T(MsgType::kHashedNameRequest);
  big[7] = kProtocolVersion;
  auto d = Decode(big);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(d.error().message.find("too large"), std::string::npos);
}

TEST(IpcCodecTest, EncodeIntoReplacesPreviousContents) {
  std::vector<uint8_t> buf;
  ASSERT_TRUE(EncodeInto(Message(OpenInboxRequest{"u", Secret("hunter2")}), buf).ok());
  ASSERT_TRUE(EncodeInto(Shutdown{}, buf).ok());
  EXPECT_EQ(buf, MustEncode(Shutdown{}));
}

}  // namespace
}  // namespace onionmail::ipc
