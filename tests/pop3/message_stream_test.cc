#include "pop3/message_stream.h"

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include "tests/net/fake_connection.h"

namespace onionmail::pop3 {
namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Feeds `chunks` and finishes; returns what went on the wire.
std::string Stream(const std::vector<std::string>& chunks, std::optional<uint64_t> top = {}) {
  net::FakeConnection conn;
  MessageStreamer streamer(conn, "+OK\r\n", top);
  for (const auto& chunk : chunks) {
    if (!streamer.Consume(Bytes(chunk)).ok()) break;
  }
  EXPECT_TRUE(streamer.Finish().ok());
  return conn.Output();
}

TEST(Pop3MessageStreamTest, LinesStartingWithDotAreStuffedAcrossChunkBoundaries) {
  EXPECT_EQ(Stream({"a\r\n", ".b\r\n", "..\r\n.", "\r\n"}),
            "+OK\r\na\r\n..b\r\n...\r\n..\r\n.\r\n");
  EXPECT_EQ(Stream({".first\r\nmid.dle\r\n"}), "+OK\r\n..first\r\nmid.dle\r\n.\r\n");
}

TEST(Pop3MessageStreamTest, MissingFinalLineBreakIsAdded) {
  EXPECT_EQ(Stream({"abc"}), "+OK\r\nabc\r\n.\r\n");
  EXPECT_EQ(Stream({"abc\r"}), "+OK\r\nabc\r\n.\r\n");
  EXPECT_EQ(Stream({}), "+OK\r\n.\r\n");
}

TEST(Pop3MessageStreamTest, TopSendsHeaderAndRequestedBodyLinesThenStops) {
  std::vector<std::string> msg = {"H: 1\r\nH: 2\r", "\n\r", "\nb1\r\n.b2\r\nb3\r\n"};
  EXPECT_EQ(Stream(msg, 0), "+OK\r\nH: 1\r\nH: 2\r\n\r\n.\r\n");
  EXPECT_EQ(Stream(msg, 2), "+OK\r\nH: 1\r\nH: 2\r\n\r\nb1\r\n..b2\r\n.\r\n");
  EXPECT_EQ(Stream(msg, 10), "+OK\r\nH: 1\r\nH: 2\r\n\r\nb1\r\n..b2\r\nb3\r\n.\r\n");
}

TEST(Pop3MessageStreamTest, ConsumeReportsLimitSoTheReadStops) {
  net::FakeConnection conn;
  MessageStreamer streamer(conn, "+OK\r\n", 1);
  EXPECT_TRUE(streamer.Consume(Bytes("H: x\r\n")).ok());
  EXPECT_FALSE(streamer.limit_reached());
  EXPECT_FALSE(streamer.Consume(Bytes("\r\nbody1\r\nbody2\r\n")).ok());
  EXPECT_TRUE(streamer.limit_reached());
  EXPECT_FALSE(streamer.Consume(Bytes("more\r\n")).ok());
  ASSERT_TRUE(streamer.Finish().ok());
  EXPECT_EQ(conn.Output(), "+OK\r\nH: x\r\n\r\nbody1\r\n.\r\n");
}

TEST(Pop3MessageStreamTest, StatusLineIsWrittenOnlyWhenContentStarts) {
  net::FakeConnection conn;
  MessageStreamer streamer(conn, "+OK 3 octets\r\n", std::nullopt);
  EXPECT_FALSE(streamer.started());
  EXPECT_EQ(conn.Output(), "");
  ASSERT_TRUE(streamer.Consume(Bytes("abc")).ok());
  EXPECT_TRUE(streamer.started());
  EXPECT_EQ(conn.Output(), "+OK 3 octets\r\nabc");
}

}  // namespace
}  // namespace onionmail::pop3
