#include "base/result.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace onionmail {
namespace {

Result<int> ParsePositive(int v) {
  if (v <= 0) return MakeError(ErrorCode::kInvalidArgument, "not positive");
  return v;
}

Result<void> Step(bool fail, int* calls) {
  ++*calls;
  if (fail) return MakeError(ErrorCode::kUnavailable, "step failed");
  return Ok();
}

Result<void> TwoSteps(bool fail_first, int* calls) {
  ONIONMAIL_RETURN_IF_ERROR(Step(fail_first, calls));
  ONIONMAIL_RETURN_IF_ERROR(Step(false, calls));
  return Ok();
}

Result<int> DoubleIfPositive(int v) {
  ONIONMAIL_RETURN_IF_ERROR(ParsePositive(v));
  return 2 * v;
}

TEST(ResultTest, OkResultHoldsValue) {
  Result<int> r = ParsePositive(7);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(r.value(), 7);
  EXPECT_EQ(*r, 7);
}

TEST(ResultTest, ErrorResultHoldsCodeAndMessage) {
  Result<int> r = ParsePositive(-1);
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(static_cast<bool>(r));
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message, "not positive");
}

TEST(ResultTest, VoidResultDefaultsToOk) {
  Result<void> r = Ok();
  EXPECT_TRUE(r.ok());
  Result<void> e = MakeError(ErrorCode::kNotFound, "gone");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, ErrorCode::kNotFound);
}

TEST(ResultTest, ReturnIfErrorStopsAtFirstFailure) {
  int calls = 0;
  Result<void> r = TwoSteps(/*fail_first=*/true, &calls);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(calls, 1);
}

TEST(ResultTest, ReturnIfErrorContinuesOnSuccess) {
  int calls = 0;
  EXPECT_TRUE(TwoSteps(/*fail_first=*/false, &calls).ok());
  EXPECT_EQ(calls, 2);
}

TEST(ResultTest, ReturnIfErrorPropagatesIntoValueResult) {
  Result<int> ok = DoubleIfPositive(4);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 8);
  Result<int> bad = DoubleIfPositive(0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

TEST(ResultTest, HoldsMoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 5);
}

TEST(ResultTest, ArrowReachesMembers) {
  Result<std::string> r = std::string("abc");
  EXPECT_EQ(r->size(), 3u);
}

TEST(ResultTest, ErrorCodeNamesAreDistinct) {
  EXPECT_STREQ(ErrorCodeName(ErrorCode::kDataLoss), "data-loss");
  EXPECT_STREQ(ErrorCodeName(ErrorCode::kUnauthenticated), "unauthenticated");
  EXPECT_STRNE(ErrorCodeName(ErrorCode::kInternal), ErrorCodeName(ErrorCode::kInvalidArgument));
}

TEST(ResultDeathTest, ValueOfErrorAborts) {
  Result<int> r = ParsePositive(-3);
  EXPECT_DEATH((void)r.value(), "broken invariant");
}

TEST(ResultDeathTest, ErrorOfOkAborts) {
  Result<int> r = ParsePositive(3);
  EXPECT_DEATH((void)r.error(), "broken invariant");
}

TEST(ResultDeathTest, CheckAbortsOnFalse) {
  EXPECT_DEATH(ONIONMAIL_CHECK(1 + 1 == 3), "broken invariant");
}

}  // namespace
}  // namespace onionmail
