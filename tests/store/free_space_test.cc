// store::FreeSpace against the real filesystem of a temp dir: the reserve's
// verdicts, and what it does when it cannot measure. (The transitions and
// their log lines are tested end to end on a small tmpfs:
// tests/integration/test_disk_full.py.)
#include "store/free_space.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "tests/store/test_util.h"

namespace onionmail::store {
namespace {

using onionmail::testing::TempDir;

constexpr uint64_t kMoreThanAnyDisk = std::numeric_limits<uint64_t>::max() / 2;

TEST(FreeSpaceTest, AReserveBelowTheFreeSpaceLetsMailIn) {
  TempDir dir;
  FreeSpace space(dir.path(), 1);
  EXPECT_TRUE(space.Check().ok());
}

TEST(FreeSpaceTest, AReserveAboveTheFreeSpaceRefusesWithResourceExhausted) {
  TempDir dir;
  FreeSpace space(dir.path(), kMoreThanAnyDisk);
  auto r = space.Check();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(r.error().message.find("insufficient system storage"), std::string::npos);
  EXPECT_NE(r.error().message.find("store.min_free_mib"), std::string::npos);
  // Refused again: it is no one-off.
  EXPECT_EQ(space.Check().error().code, ErrorCode::kResourceExhausted);
}

TEST(FreeSpaceTest, ZeroTurnsTheCheckOff) {
  FreeSpace space("/nonexistent/onionmail-state", 0);
  EXPECT_TRUE(space.Check().ok());
}

TEST(FreeSpaceTest, APathThatCannotBeMeasuredIsNoReasonToRefuseMail) {
  FreeSpace space("/nonexistent/onionmail-state", kMoreThanAnyDisk);
  EXPECT_TRUE(space.Check().ok());
  EXPECT_TRUE(space.Check().ok());
}

}  // namespace
}  // namespace onionmail::store
