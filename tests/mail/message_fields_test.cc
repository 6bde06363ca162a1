// mail::Rfc5322Date, mail::NewMessageIdLocal and mail::LowerHex
// (mail/message_fields.h).
#include "mail/message_fields.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <ctime>
#include <span>
#include <string>

namespace onionmail::mail {
namespace {

TEST(MessageFieldsTest, DateIsRfc5322InUtc) {
  EXPECT_EQ(Rfc5322Date(0).value(), "Thu, 01 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(Rfc5322Date(1700000000).value(), "Tue, 14 Nov 2023 22:13:20 +0000");
}

TEST(MessageFieldsTest, DateBeyondYear9999IsAnError) {
  Result<std::string> date = Rfc5322Date(static_cast<std::time_t>(400000000000LL));
  ASSERT_FALSE(date.ok());
  EXPECT_EQ(date.error().code, ErrorCode::kInternal);
}

TEST(MessageFieldsTest, MessageIdLocalIs32FreshHexDigits) {
  std::string a = NewMessageIdLocal().value();
  std::string b = NewMessageIdLocal().value();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, b);
}

TEST(MessageFieldsTest, LowerHexWritesTwoLowerCaseDigitsAnOctet) {
  const std::array<uint8_t, 4> bytes = {0x00, 0x0f, 0xa5, 0xff};
  EXPECT_EQ(LowerHex(bytes), "000fa5ff");
  EXPECT_EQ(LowerHex(std::span<const uint8_t>()), "");
}

}  // namespace
}  // namespace onionmail::mail
