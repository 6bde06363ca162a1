// Tests for the encrypted message file format (store/message_file.{h,cc}).
#include "store/message_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <optional>

#include "crypto/random.h"
#include "store/durable_file.h"
#include "tests/store/test_util.h"

namespace onionmail::store {
namespace {

using onionmail::testing::ReadFileBytes;
using onionmail::testing::TempDir;
using onionmail::testing::WriteFileBytes;

// Every test runs for both inbox key types (X25519 with HPKE, RSA-2048 with OAEP).
class MessageFileTest : public ::testing::TestWithParam<crypto::InboxKeyType> {
 protected:
  static void SetUpTestSuite() {
    auto a = crypto::InboxPrivateKey::GenerateRsa(2048);
    auto b = crypto::InboxPrivateKey::GenerateRsa(2048);
    auto c = crypto::InboxPrivateKey::GenerateX25519();
    auto d = crypto::InboxPrivateKey::GenerateX25519();
    ASSERT_TRUE(a.ok() && b.ok() && c.ok() && d.ok());
    rsa_key_.emplace(std::move(*a));
    rsa_other_key_.emplace(std::move(*b));
    x25519_key_.emplace(std::move(*c));
    x25519_other_key_.emplace(std::move(*d));
  }
  static void TearDownTestSuite() {
    rsa_key_.reset();
    rsa_other_key_.reset();
    x25519_key_.reset();
    x25519_other_key_.reset();
  }
  bool Rsa() const { return GetParam() == crypto::InboxKeyType::kRsa; }
  const crypto::InboxPrivateKey& Key() const { return Rsa() ? *rsa_key_ : *x25519_key_; }
  const crypto::InboxPrivateKey& OtherKey() const {
    return Rsa() ? *rsa_other_key_ : *x25519_other_key_;
  }
  size_t WrappedBytes() const { return Rsa() ? 256 : 80; }

  static DataKeyUnwrapper UnwrapWith(const crypto::InboxPrivateKey& key) {
    return [&key](std::span<const uint8_t> wrapped) { return key.Unwrap(wrapped); };
  }

  // Encrypts `plain` the way PendingMessage does (header, slot, segments).
  std::vector<uint8_t> Encrypt(const std::vector<uint8_t>& plain, uint64_t received_ns,
                               size_t chunk = 1000) {
    auto enc = MessageEncryptor::Create(Key().Public());
    EXPECT_TRUE(enc.ok());
    std::vector<uint8_t> file = (*enc)->header();
    file.resize(file.size() + kMessageMetaSlotBytes, 0);
    crypto::ByteSink out = [&file](std::span<const uint8_t> seg) -> Result<void> {
      file.insert(file.end(), seg.begin(), seg.end());
      return Ok();
    };
    for (size_t off = 0; off < plain.size(); off += chunk) {
      size_t n = std::min(chunk, plain.size() - off);
      EXPECT_TRUE((*enc)->Update(std::span<const uint8_t>(plain.data() + off, n), out).ok());
    }
    auto slot = (*enc)->Finish(received_ns, out);
    EXPECT_TRUE(slot.ok());
    std::memcpy(file.data() + (*enc)->header().size(), slot->data(), slot->size());
    return file;
  }

  // Writes `file` to disk and reads it back; returns the error or the plaintext.
  Result<std::vector<uint8_t>> Decrypt(const std::vector<uint8_t>& file,
                                       const crypto::InboxPrivateKey& key,
                                       MessageMeta* meta = nullptr) {
    const std::string path = dir_.path() + "/msg";
    ::unlink(path.c_str());
    WriteFileBytes(path, file);
    auto fd = OpenForRead(path);
    if (!fd.ok()) return fd.error();
    auto reader = MessageReader::Open(fd->get(), path, UnwrapWith(key));
    if (!reader.ok()) return reader.error();
    if (meta != nullptr) *meta = (*reader)->meta();
    std::vector<uint8_t> plain;
    auto r = (*reader)->ReadBody([&plain](std::span<const uint8_t> b) -> Result<void> {
      plain.insert(plain.end(), b.begin(), b.end());
      return Ok();
    });
    if (!r.ok()) return r.error();
    return plain;
  }

  static std::vector<uint8_t> RandomPlain(size_t n) {
    std::vector<uint8_t> v(n);
    crypto::RandomBytes(v);
    return v;
  }

  static std::optional<crypto::InboxPrivateKey> rsa_key_;
  static std::optional<crypto::InboxPrivateKey> rsa_other_key_;
  static std::optional<crypto::InboxPrivateKey> x25519_key_;
  static std::optional<crypto::InboxPrivateKey> x25519_other_key_;
  TempDir dir_;
};

std::optional<crypto::InboxPrivateKey> MessageFileTest::rsa_key_;
std::optional<crypto::InboxPrivateKey> MessageFileTest::rsa_other_key_;
std::optional<crypto::InboxPrivateKey> MessageFileTest::x25519_key_;
std::optional<crypto::InboxPrivateKey> MessageFileTest::x25519_other_key_;

TEST_P(MessageFileTest, RoundTripIsByteExactForAllSegmentBoundaries) {
  const size_t seg = crypto::kSegmentPlaintextBytes;
  for (size_t n : {size_t{0}, size_t{1}, seg - 1, seg, seg + 1, 2 * seg + 17}) {
    auto plain = RandomPlain(n);
    auto file = Encrypt(plain, 1234567890123456789ull, 4096);
    MessageMeta meta;
    auto got = Decrypt(file, Key(), &meta);
    ASSERT_TRUE(got.ok()) << "size " << n << ": " << got.error().message;
    EXPECT_EQ(*got, plain) << "size " << n;
    EXPECT_EQ(meta.size, n);
    EXPECT_EQ(meta.received_unix_ns, 1234567890123456789ull);
  }
}

TEST_P(MessageFileTest, FileSizeRevealsOnlyTheNumberOfSegments) {
  auto small = Encrypt(RandomPlain(10), 1);
  auto larger = Encrypt(RandomPlain(60000), 1);
  EXPECT_EQ(small.size(), larger.size());
  auto header_len = 4 + 1 + 32 + 2 + WrappedBytes() + crypto::kNoncePrefixBytes;
  EXPECT_EQ(small.size(), header_len + kMessageMetaSlotBytes + crypto::kSegmentCiphertextBytes);
}

TEST_P(MessageFileTest, HeaderStartsWithMagicVersionAndKeyId) {
  auto file = Encrypt(RandomPlain(10), 1);
  ASSERT_GT(file.size(), 37u);
  EXPECT_EQ(std::memcmp(file.data(), "OMMS", 4), 0);
  EXPECT_EQ(file[4], 1);
  auto key_id = Key().Public().KeyId();
  EXPECT_TRUE(std::equal(key_id.begin(), key_id.end(), file.begin() + 5));
  EXPECT_EQ(size_t((file[37] << 8) | file[38]), WrappedBytes());
}

TEST_P(MessageFileTest, PlaintextDoesNotAppearInTheFile) {
  std::string text = "Subject: a very recognisable subject line\r\n\r\nbody";
  std::vector<uint8_t> plain(text.begin(), text.end());
  auto file = Encrypt(plain, 1);
  EXPECT_EQ(std::search(file.begin(), file.end(), plain.begin() + 9, plain.begin() + 30),
            file.end());
}

TEST_P(MessageFileTest, AnyFlippedByteIsDetected) {
  auto plain = RandomPlain(70000);
  auto file = Encrypt(plain, 1);
  const size_t header_len = 4 + 1 + 32 + 2 + WrappedBytes() + crypto::kNoncePrefixBytes;
  // Magic, version, key id, wrapped key, nonce prefix, meta slot, both segments.
  for (size_t pos : {size_t{0}, size_t{4}, size_t{10}, size_t{38}, size_t{100}, header_len - 1,
                     header_len + 20, header_len + kMessageMetaSlotBytes + 5, file.size() - 1}) {
    auto copy = file;
    copy[pos] ^= 0x40;
    auto got = Decrypt(copy, Key());
    ASSERT_FALSE(got.ok()) << "flip at " << pos;
    EXPECT_EQ(got.error().code, ErrorCode::kDataLoss) << "flip at " << pos;
  }
}

TEST_P(MessageFileTest, TruncationAndExtensionAreDataLoss) {
  auto file = Encrypt(RandomPlain(70000), 1);
  auto truncated = std::vector<uint8_t>(file.begin(), file.end() - crypto::kSegmentCiphertextBytes);
  auto t = Decrypt(truncated, Key());
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, ErrorCode::kDataLoss);
  auto cut = std::vector<uint8_t>(file.begin(), file.end() - 1);
  EXPECT_FALSE(Decrypt(cut, Key()).ok());
  auto extended = file;
  extended.insert(extended.end(), file.end() - crypto::kSegmentCiphertextBytes, file.end());
  auto e = Decrypt(extended, Key());
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, ErrorCode::kDataLoss);
  EXPECT_FALSE(Decrypt(std::vector<uint8_t>(file.begin(), file.begin() + 20), Key()).ok());
}

TEST_P(MessageFileTest, SwappedSegmentsAreDataLoss) {
  auto file = Encrypt(RandomPlain(3 * crypto::kSegmentPlaintextBytes), 1);
  const size_t body = file.size() - 3 * crypto::kSegmentCiphertextBytes;
  auto swapped = file;
  std::swap_ranges(swapped.begin() + body, swapped.begin() + body + crypto::kSegmentCiphertextBytes,
                   swapped.begin() + body + crypto::kSegmentCiphertextBytes);
  auto got = Decrypt(swapped, Key());
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::kDataLoss);
}

TEST_P(MessageFileTest, WrongInboxKeyCannotOpen) {
  auto file = Encrypt(RandomPlain(100), 1);
  auto got = Decrypt(file, OtherKey());
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::kDataLoss);
}

TEST_P(MessageFileTest, MetaSlotFromAnotherMessageIsRejected) {
  auto a = Encrypt(RandomPlain(100), 1);
  auto b = Encrypt(RandomPlain(200), 2);
  const size_t header_len = 4 + 1 + 32 + 2 + WrappedBytes() + crypto::kNoncePrefixBytes;
  std::copy(b.begin() + header_len, b.begin() + header_len + kMessageMetaSlotBytes,
            a.begin() + header_len);
  auto got = Decrypt(a, Key());
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::kDataLoss);
}

INSTANTIATE_TEST_SUITE_P(KeyTypes, MessageFileTest,
                         ::testing::Values(crypto::InboxKeyType::kX25519,
                                           crypto::InboxKeyType::kRsa),
                         [](const ::testing::TestParamInfo<crypto::InboxKeyType>& info) {
                           return info.param == crypto::InboxKeyType::kRsa ? "Rsa" : "X25519";
                         });

}  // namespace
}  // namespace onionmail::store
