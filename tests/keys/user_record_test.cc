// Tests for the user record encoding (keys/user_record.{h,cc}).
#include "keys/user_record.h"

#include <gtest/gtest.h>

#include <cstring>

#include "crypto/kdf.h"

namespace onionmail::keys {
namespace {

UserRecord SampleRecord() {
  UserRecord r;
  r.smtp_params = {2, 16384, 1};
  r.smtp_salt.fill(0x11);
  r.smtp_hash.fill(0x22);
  r.pop3_params = {3, 65536, 2};
  r.pop3_salt.fill(0x33);
  r.public_key.assign(300, 0x44);
  r.key_id = crypto::Sha256(r.public_key);
  r.encrypted_private_key.assign(1300, 0x55);
  return r;
}

std::vector<uint8_t> Encoded(const UserRecord& r) {
  SecretBytes s = EncodeUserRecord(r);
  auto b = s.Reveal(SecretAccess::Grant());
  return std::vector<uint8_t>(b.begin(), b.end());
}

TEST(UserRecordTest, EncodeDecodeRoundTripPreservesEveryField) {
  const UserRecord r = SampleRecord();
  auto bytes = Encoded(r);
  ASSERT_EQ(std::memcmp(bytes.data(), "OMUR\x02", 5), 0);
  auto d = DecodeUserRecord(bytes);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->version, 2);
  EXPECT_EQ(d->smtp_params.t_cost, 2u);
  EXPECT_EQ(d->smtp_params.m_cost_kib, 16384u);
  EXPECT_EQ(d->smtp_params.parallelism, 1u);
  EXPECT_EQ(d->smtp_salt, r.smtp_salt);
  EXPECT_EQ(d->smtp_hash, r.smtp_hash);
  EXPECT_EQ(d->pop3_params.t_cost, 3u);
  EXPECT_EQ(d->pop3_params.m_cost_kib, 65536u);
  EXPECT_EQ(d->pop3_params.parallelism, 2u);
  EXPECT_EQ(d->pop3_salt, r.pop3_salt);
  EXPECT_EQ(d->public_key, r.public_key);
  EXPECT_EQ(d->key_id, r.key_id);
  EXPECT_EQ(d->encrypted_private_key, r.encrypted_private_key);
}

TEST(UserRecordTest, EveryTruncationIsDataLoss) {
  auto bytes = Encoded(SampleRecord());
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto d = DecodeUserRecord(std::span<const uint8_t>(bytes.data(), n));
    ASSERT_FALSE(d.ok()) << "prefix of " << n;
    EXPECT_EQ(d.error().code, ErrorCode::kDataLoss);
  }
}

TEST(UserRecordTest, TrailingByteIsDataLoss) {
  auto bytes = Encoded(SampleRecord());
  bytes.push_back(0);
  auto d = DecodeUserRecord(bytes);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::kDataLoss);
}

TEST(UserRecordTest, BadMagicOrVersionIsDataLoss) {
  auto bytes = Encoded(SampleRecord());
  auto magic = bytes;
  magic[0] = 'X';
  EXPECT_FALSE(DecodeUserRecord(magic).ok());
  for (uint8_t v : {0, 3, 255}) {
    auto version = bytes;
    version[4] = v;
    auto d = DecodeUserRecord(version);
    ASSERT_FALSE(d.ok()) << "version " << int{v};
    EXPECT_EQ(d.error().code, ErrorCode::kDataLoss);
  }
}

TEST(UserRecordTest, NewRecordsAreVersionTwo) { EXPECT_EQ(UserRecord{}.version, 2); }

TEST(UserRecordTest, VersionOneRecordsStillDecodeAndKeepTheirVersion) {
  UserRecord r = SampleRecord();
  r.version = kUserRecordVersionSaltOnlyWrap;
  auto bytes = Encoded(r);
  ASSERT_EQ(bytes[4], 1);
  auto d = DecodeUserRecord(bytes);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->version, 1);
  EXPECT_EQ(d->encrypted_private_key, r.encrypted_private_key);
  EXPECT_EQ(Encoded(*d), bytes);
}

TEST(UserRecordTest, WrongFixedFieldLengthIsDataLoss) {
  auto bytes = Encoded(SampleRecord());
  // smtp salt length prefix sits after magic(4) + version(1) + params(12).
  ASSERT_EQ(bytes[17], 0);
  ASSERT_EQ(bytes[18], 16);
  bytes[18] = 15;
  auto d = DecodeUserRecord(bytes);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::kDataLoss);
}

TEST(UserRecordTest, LengthPrefixPastTheEndIsDataLoss) {
  auto bytes = Encoded(SampleRecord());
  // The last field is the encrypted private key: claim more than is there.
  const size_t len_pos = bytes.size() - 1300 - 2;
  ASSERT_EQ((bytes[len_pos] << 8) | bytes[len_pos + 1], 1300);
  bytes[len_pos] = 0x3f;
  auto d = DecodeUserRecord(bytes);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::kDataLoss);
}

TEST(UserRecordTest, AbsurdArgon2ParametersAreDataLoss) {
  UserRecord r = SampleRecord();
  r.pop3_params.m_cost_kib = 0xffffffffu;
  EXPECT_FALSE(DecodeUserRecord(Encoded(r)).ok());
  r = SampleRecord();
  r.smtp_params.t_cost = 0;
  EXPECT_FALSE(DecodeUserRecord(Encoded(r)).ok());
  r = SampleRecord();
  r.smtp_params.parallelism = 0;
  EXPECT_FALSE(DecodeUserRecord(Encoded(r)).ok());
}

TEST(UserRecordTest, KeyIdThatDoesNotMatchThePublicKeyIsDataLoss) {
  UserRecord r = SampleRecord();
  r.key_id[0] ^= 1;
  auto d = DecodeUserRecord(Encoded(r));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::kDataLoss);
}

TEST(UserRecordTest, PrivateKeyAadBindsTheKeyId) {
  std::array<uint8_t, 32> a{}, b{};
  b[31] = 1;
  auto aad = PrivateKeyAad(a);
  EXPECT_EQ(std::string(aad.begin(), aad.begin() + 15), "OMUR-privkey v1");
  EXPECT_EQ(aad.size(), 15u + 32u);
  EXPECT_NE(PrivateKeyAad(a), PrivateKeyAad(b));
}

}  // namespace
}  // namespace onionmail::keys
