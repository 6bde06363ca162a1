#include "crypto/aead.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crypto/random.h"

namespace onionmail::crypto {
namespace {

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

class AeadTest : public ::testing::Test {
 protected:
  SecretBytes key_ = RandomSecret(kAeadKeyBytes);
  std::vector<uint8_t> msg_ = Bytes("user record: quota=100M");
  std::vector<uint8_t> aad_ = Bytes("v1|user-record");

  std::vector<uint8_t> Seal() {
    auto r = AeadSeal(key_, msg_, aad_);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::vector<uint8_t>{};
  }
  void ExpectDataLoss(std::span<const uint8_t> sealed) {
    auto r = AeadOpen(key_, sealed, aad_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
  }
};

TEST_F(AeadTest, RoundTrips) {
  auto sealed = Seal();
  EXPECT_EQ(sealed.size(), kAeadNonceBytes + msg_.size() + kAeadTagBytes);
  auto opened = AeadOpen(key_, sealed, aad_);
  ASSERT_TRUE(opened.ok());
  auto pt = opened->Reveal(SecretAccess::Grant());
  EXPECT_EQ(std::vector<uint8_t>(pt.begin(), pt.end()), msg_);
}

TEST_F(AeadTest, RoundTripsEmptyPlaintextAndEmptyAad) {
  auto sealed = AeadSeal(key_, {}, {});
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), kAeadNonceBytes + kAeadTagBytes);
  auto opened = AeadOpen(key_, *sealed, {});
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(opened->empty());
}

TEST_F(AeadTest, CiphertextHidesPlaintextAndUsesFreshNonces) {
  auto a = Seal();
  auto b = Seal();
  EXPECT_NE(a, b);
  EXPECT_NE(std::vector<uint8_t>(a.begin(), a.begin() + kAeadNonceBytes),
            std::vector<uint8_t>(b.begin(), b.begin() + kAeadNonceBytes));
  std::string as_text(a.begin(), a.end());
  EXPECT_EQ(as_text.find("quota"), std::string::npos);
}

TEST_F(AeadTest, EveryFlippedBitIsDataLoss) {
  auto sealed = Seal();
  for (size_t i = 0; i < sealed.size(); ++i) {
    auto t = sealed;
    t[i] ^= 0x01;
    ExpectDataLoss(t);
  }
}

TEST_F(AeadTest, TruncationIsDataLoss) {
  auto sealed = Seal();
  for (size_t n : {size_t{0}, size_t{1}, kAeadNonceBytes, kAeadNonceBytes + kAeadTagBytes - 1,
                   sealed.size() - 1}) {
    ExpectDataLoss(std::span<const uint8_t>(sealed.data(), n));
  }
}

TEST_F(AeadTest, AppendedByteIsDataLoss) {
  auto sealed = Seal();
  sealed.push_back(0);
  ExpectDataLoss(sealed);
}

TEST_F(AeadTest, WrongKeyIsDataLoss) {
  auto sealed = Seal();
  auto r = AeadOpen(RandomSecret(kAeadKeyBytes), sealed, aad_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
}

TEST_F(AeadTest, WrongAadIsDataLoss) {
  auto sealed = Seal();
  for (auto other : {Bytes("v1|user-recorD"), Bytes(""), Bytes("v1|user-record|x")}) {
    auto r = AeadOpen(key_, sealed, other);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
  }
}

TEST_F(AeadTest, KeyOfWrongLengthIsInvalidArgument) {
  auto seal = AeadSeal(RandomSecret(16), msg_, aad_);
  ASSERT_FALSE(seal.ok());
  EXPECT_EQ(seal.error().code, ErrorCode::kInvalidArgument);
  auto sealed = Seal();
  auto open = AeadOpen(RandomSecret(31), sealed, aad_);
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace onionmail::crypto
