// Tests for src/base/log: level names, the level filter, and one single-line write per event
// with control characters replaced (a CR or LF in attacker input cannot forge a log line).
#include "base/log.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/base/capture_stderr.h"

namespace onionmail::log {
namespace {

using onionmail::testing::CaptureStderr;

class LogTest : public ::testing::Test {
 protected:
  void TearDown() override { SetLevel(Level::kInfo); }
};

TEST_F(LogTest, ParseLevelKnowsTheFourNames) {
  Level level = Level::kError;
  ASSERT_TRUE(ParseLevel("debug", &level));
  EXPECT_EQ(level, Level::kDebug);
  ASSERT_TRUE(ParseLevel("info", &level));
  EXPECT_EQ(level, Level::kInfo);
  ASSERT_TRUE(ParseLevel("warning", &level));
  EXPECT_EQ(level, Level::kWarning);
  ASSERT_TRUE(ParseLevel("error", &level));
  EXPECT_EQ(level, Level::kError);
}

TEST_F(LogTest, ParseLevelRefusesOtherNamesAndLeavesTheLevelAlone) {
  Level level = Level::kWarning;
  EXPECT_FALSE(ParseLevel("Info", &level));
  EXPECT_FALSE(ParseLevel("warn", &level));
  EXPECT_FALSE(ParseLevel("", &level));
  EXPECT_FALSE(ParseLevel(std::string_view("info\0", 5), &level));
  EXPECT_EQ(level, Level::kWarning);
}

TEST_F(LogTest, WriteIsOneLineWithPriorityPrefixAndComponent) {
  std::string out = CaptureStderr([] { Warning("store", "disk is filling"); });
  EXPECT_EQ(out, "<4>warning store: disk is filling\n");
}

TEST_F(LogTest, ControlCharactersCannotStartANewLine) {
  std::string out =
      CaptureStderr([] { Info("smtp", "HELO x\r\n<3>error key: forged\x1b[2J\x7f"); });
  EXPECT_EQ(out,
            "<6>info smtp: HELO x?"
            "?<3>error key: forged?[2J?\n");
}

TEST_F(LogTest, EventsBelowTheLevelAreDropped) {
  SetLevel(Level::kWarning);
  std::string out = CaptureStderr([] {
    Debug("a", "debug");
    Info("b", "info");
    Warning("c", "warning");
    Error("d", "error");
  });
  EXPECT_EQ(out, "<4>warning c: warning\n<3>error d: error\n");
}

}  // namespace
}  // namespace onionmail::log
