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
  std::vector<uint8_t> f = {static_cast<uint8_t>(len >> 24),    static_cast<uint8_t>(len >> 16),
                            static_cast<uint8_t>(len >> 8),     static_cast<uint8_t>(len),
                            static_cast<uint8_t>(type >> 8),    static_cast<uint8_t>(type),
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
  EXPECT_EQ(StatusFromError(ErrorCode::kSealed), Status::kSealed);
  EXPECT_EQ(StatusFromError(ErrorCode::kMailboxFull), Status::kMailboxFull);
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
  EXPECT_TRUE(
      Decode(Frame(T(MsgType::kLookupUserRequest), kProtocolVersion, Field(max_user))).ok());

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
  ExpectInvalid(
      Frame(T(MsgType::kLookupUserRequest), kProtocolVersion, Field(std::string("bo\0b", 4))));
  ExpectInvalid(Frame(T(MsgType::kLookupUserRequest), kProtocolVersion, Field("bob\r\n")));
  ExpectInvalid(Frame(T(MsgType::kLookupUserRequest), kProtocolVersion, Field("")));
  EXPECT_FALSE(Encode(LookupUserRequest{std::string("a\0b", 3)}).ok());
  EXPECT_FALSE(Encode(HashedNameRequest{"", "data"}).ok());
}

TEST(IpcCodecTest, UnknownEnumValuesAreRejected) {
  // One past the last status (kRefused).
  ExpectInvalid(Frame(T(MsgType::kVerifyResult), kProtocolVersion,
                      {0, static_cast<uint8_t>(static_cast<uint16_t>(Status::kRefused) + 1)}));
  ExpectInvalid(Frame(T(MsgType::kHello), kProtocolVersion, {0, 0, 0, kProtocolVersion}));
  ExpectInvalid(Frame(T(MsgType::kHello), kProtocolVersion, {0, 7, 0, kProtocolVersion}));
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

// ---------------------------------------------------------------------------
// Front end <-> key role messages.

std::vector<uint8_t> U16Be(size_t v) {
  return {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}
std::vector<uint8_t> U32Be(uint32_t v) {
  return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
          static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}
std::vector<uint8_t> BytesField(size_t n, uint8_t fill) {
  std::vector<uint8_t> f = U16Be(n);
  f.resize(2 + n, fill);
  return f;
}
std::vector<uint8_t> Payload(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> p;
  for (const auto& part : parts) Append(p, part);
  return p;
}

// A valid payload of each shape, for the hand-built rejection cases.
std::vector<uint8_t> EntryBytes(std::string_view uid, uint64_t size) {
  std::vector<uint8_t> e = Field(uid);
  Append(e, U32Be(static_cast<uint32_t>(size >> 32)));
  Append(e, U32Be(static_cast<uint32_t>(size)));
  return e;
}

TEST(IpcCodecTest, FieldlessSessionMessagesRoundTripAsBareHeaders) {
  (void)RoundTrip<NewSession>(NewSession{});
  (void)RoundTrip<CommitRequest>(CommitRequest{});
  (void)RoundTrip<AbortMessageRequest>(AbortMessageRequest{});
  (void)RoundTrip<TlsIdentityRequest>(TlsIdentityRequest{});
  (void)RoundTrip<CloseMailboxRequest>(CloseMailboxRequest{});
  for (MsgType t : {MsgType::kNewSession, MsgType::kCommitRequest, MsgType::kAbortMessageRequest,
                    MsgType::kTlsIdentityRequest, MsgType::kCloseMailboxRequest}) {
    EXPECT_TRUE(Decode(Frame(T(t), kProtocolVersion, {})).ok()) << T(t);
    ExpectInvalid(Frame(T(t), kProtocolVersion, {0}));
  }
  EXPECT_EQ(MustEncode(CommitRequest{}).size(), kFrameHeaderBytes);
}

TEST(IpcCodecTest, StatusReplyRoundTripsEveryStatusAndRejectsUnknownOnes) {
  for (uint16_t v = 0; v <= static_cast<uint16_t>(Status::kRefused); ++v) {
    auto got = RoundTrip<StatusReply>(StatusReply{static_cast<Status>(v)});
    EXPECT_EQ(static_cast<uint16_t>(got.status), v);
  }
  EXPECT_EQ(MustEncode(StatusReply{Status::kNotFound}),
            Frame(T(MsgType::kStatusReply), kProtocolVersion, {0, 2}));
  ExpectInvalid(Frame(T(MsgType::kStatusReply), kProtocolVersion, {0, 15}));
  ExpectInvalid(Frame(T(MsgType::kStatusReply), kProtocolVersion, {0}));
  EXPECT_FALSE(Encode(StatusReply{static_cast<Status>(15)}).ok());
  EXPECT_EQ(static_cast<uint16_t>(Status::kRefused), 14);
}

TEST(IpcCodecTest, CheckRecipientRequestRoundTripsAndBoundsTheLocalPart) {
  EXPECT_EQ(RoundTrip<CheckRecipientRequest>(CheckRecipientRequest{"bob", 0, ""}).local_part,
            "bob");
  std::string max(kMaxLocalPartBytes, 'l');
  EXPECT_EQ(RoundTrip<CheckRecipientRequest>(CheckRecipientRequest{max, 0, ""}).local_part, max);
  EXPECT_FALSE(Encode(CheckRecipientRequest{max + "l", 0, ""}).ok());
  EXPECT_FALSE(Encode(CheckRecipientRequest{"", 0, ""}).ok());
  const std::vector<uint8_t> no_size(8, 0);
  auto with_size = [&](std::vector<uint8_t> f) {
    Append(f, no_size);
    return f;
  };
  ExpectInvalid(
      Frame(T(MsgType::kCheckRecipientRequest), kProtocolVersion, with_size(Field(max + "l"))));
  ExpectInvalid(Frame(T(MsgType::kCheckRecipientRequest), kProtocolVersion, with_size(Field(""))));
  ExpectInvalid(
      Frame(T(MsgType::kCheckRecipientRequest), kProtocolVersion, with_size(Field("b\tb"))));
}

TEST(IpcCodecTest, CheckRecipientRequestCarriesTheDeclaredSizeAsEightBigEndianBytes) {
  auto got = RoundTrip<CheckRecipientRequest>(CheckRecipientRequest{"bob", 25u << 20, ""});
  EXPECT_EQ(got.local_part, "bob");
  EXPECT_EQ(got.declared_size, 25u << 20);
  EXPECT_EQ(
      RoundTrip<CheckRecipientRequest>(CheckRecipientRequest{"bob", UINT64_MAX, ""}).declared_size,
      UINT64_MAX);
  std::vector<uint8_t> payload = Field("bob");
  Append(payload, std::vector<uint8_t>{0, 0, 0, 0, 0, 0x10, 0x20, 0x30});
  std::vector<uint8_t> without_sender = payload;
  Append(payload, Field(""));
  EXPECT_EQ(MustEncode(CheckRecipientRequest{"bob", 0x102030, ""}),
            Frame(T(MsgType::kCheckRecipientRequest), kProtocolVersion, payload));
  // Without the size or the sender (earlier layouts) the frame is malformed.
  ExpectInvalid(Frame(T(MsgType::kCheckRecipientRequest), kProtocolVersion, Field("bob")));
  ExpectInvalid(Frame(T(MsgType::kCheckRecipientRequest), kProtocolVersion, without_sender));
}

TEST(IpcCodecTest, BeginMessageRequestRoundTripsTypicalAndEmptyReversePath) {
  auto got = RoundTrip<BeginMessageRequest>(
      BeginMessageRequest{"alice@example.onion", {"bob", "carol.x"}});
  EXPECT_EQ(got.reverse_path, "alice@example.onion");
  EXPECT_EQ(got.local_parts, (std::vector<std::string>{"bob", "carol.x"}));
  auto null_sender = RoundTrip<BeginMessageRequest>(BeginMessageRequest{"", {"bob"}});
  EXPECT_EQ(null_sender.reverse_path, "");
  EXPECT_EQ(MustEncode(BeginMessageRequest{"", {"bob"}}),
            Frame(T(MsgType::kBeginMessageRequest), kProtocolVersion,
                  Payload({{0, 0}, {0, 1}, Field("bob")})));
}

TEST(IpcCodecTest, BeginMessageRequestAtItsLimitsRoundTrips) {
  BeginMessageRequest m;
  m.reverse_path = std::string(kMaxPathBytes, 'p');
  for (size_t i = 0; i < kMaxRecipients; ++i) {
    std::string lp = std::to_string(i);
    lp.resize(kMaxLocalPartBytes, 'x');
    m.local_parts.push_back(lp);
  }
  auto got = RoundTrip<BeginMessageRequest>(m);
  EXPECT_EQ(got.reverse_path, m.reverse_path);
  EXPECT_EQ(got.local_parts, m.local_parts);
}

TEST(IpcCodecTest, BeginMessageRequestRecipientCountOutOfBoundsIsRejected) {
  EXPECT_FALSE(Encode(BeginMessageRequest{"a@b", {}}).ok());
  ExpectInvalid(
      Frame(T(MsgType::kBeginMessageRequest), kProtocolVersion, Payload({Field("a@b"), {0, 0}})));
  BeginMessageRequest over{"", std::vector<std::string>(kMaxRecipients + 1, "r")};
  EXPECT_FALSE(Encode(over).ok());
  std::vector<uint8_t> p = Payload({Field(""), U16Be(kMaxRecipients + 1)});
  for (size_t i = 0; i <= kMaxRecipients; ++i) Append(p, Field("r"));
  ExpectInvalid(Frame(T(MsgType::kBeginMessageRequest), kProtocolVersion, p));
  // The count promises more names than the frame holds.
  ExpectInvalid(Frame(T(MsgType::kBeginMessageRequest), kProtocolVersion,
                      Payload({Field(""), {0, 3}, Field("a"), Field("b")})));
}

TEST(IpcCodecTest, BeginMessageRequestBadNamesAreRejected) {
  EXPECT_FALSE(Encode(BeginMessageRequest{"", {"bob", ""}}).ok());
  EXPECT_FALSE(Encode(BeginMessageRequest{"", {std::string(kMaxLocalPartBytes + 1, 'x')}}).ok());
  EXPECT_FALSE(Encode(BeginMessageRequest{std::string(kMaxPathBytes + 1, 'p'), {"bob"}}).ok());
  EXPECT_FALSE(Encode(BeginMessageRequest{"a\r\nRCPT TO:<x>", {"bob"}}).ok());
  ExpectInvalid(Frame(T(MsgType::kBeginMessageRequest), kProtocolVersion,
                      Payload({Field(""),
                               {0, 1},
                               Field("bo\x01"
                                     "b")})));
  ExpectInvalid(Frame(T(MsgType::kBeginMessageRequest), kProtocolVersion,
                      Payload({Field("x\x7f"), {0, 1}, Field("bob")})));
}

TEST(IpcCodecTest, AppendRequestAndMessageChunkRoundTripUpToMaxChunk) {
  std::vector<uint8_t> one = {0x00};
  std::vector<uint8_t> max(kMaxChunkBytes);
  for (size_t i = 0; i < max.size(); ++i) max[i] = static_cast<uint8_t>(i * 7);
  EXPECT_EQ(RoundTrip<AppendRequest>(AppendRequest{one}).data, one);
  EXPECT_EQ(RoundTrip<AppendRequest>(AppendRequest{max}).data, max);
  EXPECT_EQ(RoundTrip<MessageChunk>(MessageChunk{one}).data, one);
  EXPECT_EQ(RoundTrip<MessageChunk>(MessageChunk{max}).data, max);
  EXPECT_EQ(kMaxChunkBytes, 32768u);
}

TEST(IpcCodecTest, ChunkOverMaxOrEmptyIsRejected) {
  std::vector<uint8_t> over(kMaxChunkBytes + 1, 'x');
  EXPECT_FALSE(Encode(AppendRequest{over}).ok());
  EXPECT_FALSE(Encode(MessageChunk{over}).ok());
  EXPECT_FALSE(Encode(AppendRequest{{}}).ok());
  EXPECT_FALSE(Encode(MessageChunk{{}}).ok());
  for (MsgType t : {MsgType::kAppendRequest, MsgType::kMessageChunk}) {
    ExpectInvalid(Frame(T(t), kProtocolVersion, BytesField(kMaxChunkBytes + 1, 'x')));
    ExpectInvalid(Frame(T(t), kProtocolVersion, BytesField(0, 'x')));
    EXPECT_TRUE(Decode(Frame(T(t), kProtocolVersion, BytesField(kMaxChunkBytes, 'x'))).ok());
  }
}

TEST(IpcCodecTest, OpenMailboxRoundTrips) {
  auto req = RoundTrip<OpenMailboxRequest>(
      Message(OpenMailboxRequest{"bob", Secret(std::string("p\0p", 3))}));
  EXPECT_EQ(req.user, "bob");
  EXPECT_EQ(Reveal(req.password), std::string("p\0p", 3));
  auto empty_pw = RoundTrip<OpenMailboxRequest>(Message(OpenMailboxRequest{"bob", Secret("")}));
  EXPECT_EQ(Reveal(empty_pw.password), "");
  EXPECT_FALSE(Encode(Message(OpenMailboxRequest{"", Secret("pw")})).ok());
  EXPECT_FALSE(Encode(Message(OpenMailboxRequest{"bob", SecretBytes(kMaxPasswordBytes + 1)})).ok());
  auto rep = RoundTrip<OpenMailboxReply>(OpenMailboxReply{Status::kOk, 0xffffffffu});
  EXPECT_EQ(rep.count, 0xffffffffu);
  EXPECT_EQ(MustEncode(OpenMailboxReply{Status::kFailedPrecondition, 0x01020304}),
            Frame(T(MsgType::kOpenMailboxReply), kProtocolVersion, {0, 6, 1, 2, 3, 4}));
  ExpectInvalid(Frame(T(MsgType::kOpenMailboxReply), kProtocolVersion, {0, 0, 1, 2, 3}));
}

TEST(IpcCodecTest, MailboxListingRoundTripsTypicalAndMaximal) {
  MailboxListing small;
  small.entries = {{"uid-1", 42}, {"uid-2", 0}};
  auto got = RoundTrip<MailboxListing>(small);
  ASSERT_EQ(got.entries.size(), 2u);
  EXPECT_EQ(got.entries[0].uid, "uid-1");
  EXPECT_EQ(got.entries[0].size, 42u);
  EXPECT_EQ(got.entries[1].size, 0u);
  EXPECT_EQ(MustEncode(small),
            Frame(T(MsgType::kMailboxListing), kProtocolVersion,
                  Payload({{0, 2}, EntryBytes("uid-1", 42), EntryBytes("uid-2", 0)})));

  MailboxListing max;
  for (size_t i = 0; i < kMaxListingEntries; ++i) {
    std::string uid = std::to_string(i);
    uid.resize(kMaxUidBytes, '~');
    max.entries.push_back({uid, ~uint64_t{0} - i});
  }
  auto big = RoundTrip<MailboxListing>(max);
  ASSERT_EQ(big.entries.size(), kMaxListingEntries);
  EXPECT_EQ(big.entries.back().uid, max.entries.back().uid);
  EXPECT_EQ(big.entries.back().size, max.entries.back().size);
}

TEST(IpcCodecTest, MailboxListingCountOutOfBoundsIsRejected) {
  EXPECT_FALSE(Encode(MailboxListing{}).ok());
  ExpectInvalid(Frame(T(MsgType::kMailboxListing), kProtocolVersion, {0, 0}));
  MailboxListing over;
  over.entries.assign(kMaxListingEntries + 1, MessageEntry{"u", 1});
  EXPECT_FALSE(Encode(over).ok());
  std::vector<uint8_t> p = U16Be(kMaxListingEntries + 1);
  for (size_t i = 0; i <= kMaxListingEntries; ++i) Append(p, EntryBytes("u", 1));
  ExpectInvalid(Frame(T(MsgType::kMailboxListing), kProtocolVersion, p));
  // Two entries promised, one present; an entry with a truncated size.
  ExpectInvalid(
      Frame(T(MsgType::kMailboxListing), kProtocolVersion, Payload({{0, 2}, EntryBytes("u", 1)})));
  std::vector<uint8_t> cut = Payload({{0, 1}, EntryBytes("u", 1)});
  cut.pop_back();
  ExpectInvalid(Frame(T(MsgType::kMailboxListing), kProtocolVersion, cut));
}

TEST(IpcCodecTest, UidWithControlCharOrBadLengthIsRejected) {
  for (std::string uid : {std::string("ab\x1f"
                                      "c"),
                          std::string("abc\x7f"), std::string("a\0b", 3), std::string("a\nb"),
                          std::string(""), std::string(kMaxUidBytes + 1, 'u')}) {
    MailboxListing m;
    m.entries = {{"good", 1}, {uid, 2}};
    EXPECT_FALSE(Encode(m).ok()) << uid.size();
    ExpectInvalid(Frame(T(MsgType::kMailboxListing), kProtocolVersion,
                        Payload({{0, 2}, EntryBytes("good", 1), EntryBytes(uid, 2)})));
  }
  EXPECT_TRUE(Decode(Frame(T(MsgType::kMailboxListing), kProtocolVersion,
                           Payload({{0, 1}, EntryBytes(std::string(kMaxUidBytes, 'u'), 2)})))
                  .ok());
}

TEST(IpcCodecTest, ReadMessageRequestRoundTripsU32Index) {
  EXPECT_EQ(RoundTrip<ReadMessageRequest>(ReadMessageRequest{0}).index, 0u);
  EXPECT_EQ(RoundTrip<ReadMessageRequest>(ReadMessageRequest{0xfffffffeu}).index, 0xfffffffeu);
  EXPECT_EQ(MustEncode(ReadMessageRequest{0x0a0b0c0d}),
            Frame(T(MsgType::kReadMessageRequest), kProtocolVersion, {10, 11, 12, 13}));
  ExpectInvalid(Frame(T(MsgType::kReadMessageRequest), kProtocolVersion, {0, 0, 1}));
}

TEST(IpcCodecTest, ExpungeRequestRoundTripsUpToMaxIndices) {
  EXPECT_EQ(RoundTrip<ExpungeRequest>(ExpungeRequest{{3, 0, 7}}).indices,
            (std::vector<uint32_t>{3, 0, 7}));
  ExpungeRequest max;
  for (size_t i = 0; i < kMaxExpungeIndices; ++i) max.indices.push_back(static_cast<uint32_t>(i));
  max.indices.back() = 0xffffffffu;
  EXPECT_EQ(RoundTrip<ExpungeRequest>(max).indices, max.indices);
  EXPECT_EQ(MustEncode(ExpungeRequest{{1, 0x01000000}}),
            Frame(T(MsgType::kExpungeRequest), kProtocolVersion, {0, 2, 0, 0, 0, 1, 1, 0, 0, 0}));
}

TEST(IpcCodecTest, ExpungeRequestCountOutOfBoundsIsRejected) {
  EXPECT_FALSE(Encode(ExpungeRequest{{}}).ok());
  ExpectInvalid(Frame(T(MsgType::kExpungeRequest), kProtocolVersion, {0, 0}));
  ExpungeRequest over;
  over.indices.assign(kMaxExpungeIndices + 1, 1);
  EXPECT_FALSE(Encode(over).ok());
  std::vector<uint8_t> p = U16Be(kMaxExpungeIndices + 1);
  p.resize(2 + 4 * (kMaxExpungeIndices + 1), 0);
  ExpectInvalid(Frame(T(MsgType::kExpungeRequest), kProtocolVersion, p));
  ExpectInvalid(Frame(T(MsgType::kExpungeRequest), kProtocolVersion, {0, 2, 0, 0, 0, 1, 0, 0}));
}

TEST(IpcCodecTest, TlsSignRequestBlockIsBoundedByRsaSizes) {
  std::vector<uint8_t> min(kMinRsaBlockBytes, 0x01), max(kMaxRsaBlockBytes, 0x02);
  EXPECT_EQ(RoundTrip<TlsSignRequest>(TlsSignRequest{min}).block, min);
  EXPECT_EQ(RoundTrip<TlsSignRequest>(TlsSignRequest{max}).block, max);
  EXPECT_EQ(RoundTrip<TlsSignRequest>(TlsSignRequest{std::vector<uint8_t>(256, 3)}).block.size(),
            256u);
  EXPECT_FALSE(Encode(TlsSignRequest{std::vector<uint8_t>(kMinRsaBlockBytes - 1, 1)}).ok());
  EXPECT_FALSE(Encode(TlsSignRequest{std::vector<uint8_t>(kMaxRsaBlockBytes + 1, 1)}).ok());
  EXPECT_FALSE(Encode(TlsSignRequest{}).ok());
  ExpectInvalid(
      Frame(T(MsgType::kTlsSignRequest), kProtocolVersion, BytesField(kMinRsaBlockBytes - 1, 1)));
  ExpectInvalid(
      Frame(T(MsgType::kTlsSignRequest), kProtocolVersion, BytesField(kMaxRsaBlockBytes + 1, 1)));
  ExpectInvalid(Frame(T(MsgType::kTlsSignRequest), kProtocolVersion, BytesField(0, 1)));
}

TEST(IpcCodecTest, TlsEcdsaSignRequestCarriesExactlyA32ByteDigest) {
  std::vector<uint8_t> digest(kEcdsaDigestBytes, 7);
  EXPECT_EQ(RoundTrip<TlsEcdsaSignRequest>(TlsEcdsaSignRequest{digest}).digest, digest);
  EXPECT_EQ(RoundTrip<TlsEcdsaSignRequest>(TlsEcdsaSignRequest{digest, 7}).generation, 7u);
  EXPECT_EQ(MustEncode(TlsEcdsaSignRequest{digest}).size(), kFrameHeaderBytes + 2 + 32 + 4);
  EXPECT_FALSE(Encode(TlsEcdsaSignRequest{std::vector<uint8_t>(31, 1)}).ok());
  EXPECT_FALSE(Encode(TlsEcdsaSignRequest{std::vector<uint8_t>(33, 1)}).ok());
  EXPECT_FALSE(Encode(TlsEcdsaSignRequest{}).ok());
  ExpectInvalid(Frame(T(MsgType::kTlsEcdsaSignRequest), kProtocolVersion, BytesField(31, 1)));
  ExpectInvalid(Frame(T(MsgType::kTlsEcdsaSignRequest), kProtocolVersion, BytesField(48, 1)));
  ExpectInvalid(Frame(T(MsgType::kTlsEcdsaSignRequest), kProtocolVersion, BytesField(0, 1)));
  // A version-1 request (no generation) is not accepted.
  ExpectInvalid(Frame(T(MsgType::kTlsEcdsaSignRequest), kProtocolVersion, BytesField(32, 1)));
}

TEST(IpcCodecTest, TlsSignReplyRoundTripsAndBoundsTheSignature) {
  auto ok = RoundTrip<TlsSignReply>(TlsSignReply{Status::kOk, std::vector<uint8_t>(384, 9)});
  EXPECT_EQ(ok.signature, std::vector<uint8_t>(384, 9));
  auto denied = RoundTrip<TlsSignReply>(TlsSignReply{Status::kPermissionDenied, {}});
  EXPECT_EQ(denied.status, Status::kPermissionDenied);
  EXPECT_TRUE(denied.signature.empty());
  EXPECT_FALSE(Encode(TlsSignReply{Status::kOk, std::vector<uint8_t>(kMaxRsaBlockBytes + 1)}).ok());
  ExpectInvalid(Frame(T(MsgType::kTlsSignReply), kProtocolVersion,
                      Payload({{0, 0}, BytesField(kMaxRsaBlockBytes + 1, 1)})));
}

TEST(IpcCodecTest, TlsIdentityReplyRoundTripsAtItsLimits) {
  TlsIdentityReply m{Status::kOk, std::vector<uint8_t>(kMaxCertificateBytes, '-'),
                     std::vector<uint8_t>(kMaxPublicKeyBytes, 0x30), 0xfffffffeu};
  auto got = RoundTrip<TlsIdentityReply>(m);
  EXPECT_EQ(got.certificate_pem, m.certificate_pem);
  EXPECT_EQ(got.public_key, m.public_key);
  EXPECT_EQ(got.generation, 0xfffffffeu);
  auto err = RoundTrip<TlsIdentityReply>(TlsIdentityReply{Status::kInternal, {}, {}});
  EXPECT_EQ(err.status, Status::kInternal);
  m.certificate_pem.push_back('-');
  EXPECT_FALSE(Encode(m).ok());
  ExpectInvalid(
      Frame(T(MsgType::kTlsIdentityReply), kProtocolVersion,
            Payload({{0, 0}, BytesField(kMaxCertificateBytes + 1, '-'), {0, 0}, {0, 0, 0, 0}})));
  ExpectInvalid(
      Frame(T(MsgType::kTlsIdentityReply), kProtocolVersion,
            Payload({{0, 0}, {0, 0}, BytesField(kMaxPublicKeyBytes + 1, 1), {0, 0, 0, 0}})));
}

// Every strict prefix and every one-byte extension of a valid frame (length
// prefix fixed up) is rejected: no field can be dropped or padded.
TEST(IpcCodecTest, NewMessagesRejectTruncationAndTrailingBytes) {
  std::vector<Message> samples;
  samples.emplace_back(StatusReply{Status::kOk});
  samples.emplace_back(CheckRecipientRequest{"bob", 0, ""});
  samples.emplace_back(BeginMessageRequest{"a@b", {"bob", "carol"}});
  samples.emplace_back(AppendRequest{{1, 2, 3}});
  samples.emplace_back(OpenMailboxRequest{"bob", Secret("pw")});
  samples.emplace_back(OpenMailboxReply{Status::kOk, 3});
  samples.emplace_back(MailboxListing{{{"u1", 5}, {"u2", 6}}});
  samples.emplace_back(ReadMessageRequest{2});
  samples.emplace_back(MessageChunk{{9, 9}});
  samples.emplace_back(ExpungeRequest{{0, 2}});
  samples.emplace_back(TlsSignRequest{std::vector<uint8_t>(kMinRsaBlockBytes, 1)});
  samples.emplace_back(TlsSignReply{Status::kOk, {1, 2}});
  samples.emplace_back(TlsEcdsaSignRequest{std::vector<uint8_t>(kEcdsaDigestBytes, 1)});
  samples.emplace_back(TlsIdentityReply{Status::kOk, {'p'}, {0x30}});
  for (const Message& m : samples) {
    std::vector<uint8_t> good = MustEncode(m);
    ASSERT_TRUE(Decode(good).ok()) << T(TypeOf(m));
    std::vector<uint8_t> payload(good.begin() + kFrameHeaderBytes, good.end());
    for (size_t n = 0; n < payload.size(); ++n) {
      std::vector<uint8_t> cut(payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(n));
      ExpectInvalid(Frame(T(TypeOf(m)), kProtocolVersion, cut));
    }
    std::vector<uint8_t> longer = payload;
    longer.push_back(0);
    ExpectInvalid(Frame(T(TypeOf(m)), kProtocolVersion, longer));
  }
}

}  // namespace
}  // namespace onionmail::ipc
