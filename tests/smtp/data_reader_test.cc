#include "smtp/data_reader.h"

#include <gtest/gtest.h>

#include "tests/net/fake_connection.h"

namespace onionmail::smtp {
namespace {

using namespace std::string_literals;

class RecordingWriter : public mail::MessageWriter {
 public:
  Result<void> Append(std::span<const uint8_t> bytes) override {
    ++appends;
    if (fail) return MakeError(ErrorCode::kInternal, "injected");
    data.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return Ok();
  }
  Result<void> Commit() override { return Ok(); }
  std::string data;
  int appends = 0;
  bool fail = false;
};

struct Run {
  Result<DataOutcome> outcome;
  std::string stored;
  std::string rest;  // what the connection still holds
};

constexpr size_t kMaxReceived = 100;

Run Read(const std::string& input, uint64_t max_bytes = 1 << 20, size_t max_line = 1000,
         size_t max_received = kMaxReceived) {
  net::FakeConnection conn(input);
  RecordingWriter writer;
  DataReader reader(conn, max_line, max_bytes, max_received);
  auto outcome = reader.Read(&writer);
  std::string rest;
  while (true) {
    auto line = conn.ReadLine(1 << 20);
    if (!line.ok()) break;
    rest += line->text + "|";
  }
  return {std::move(outcome), writer.data, rest};
}

TEST(DataReaderTest, StreamsLinesWithCrlfUntilTheDot) {
  auto r = Read("a\r\n\r\nb\r\n.\r\nNOOP\r\n");
  ASSERT_TRUE(r.outcome.ok());
  EXPECT_EQ(r.outcome->status, DataStatus::kOk);
  EXPECT_EQ(r.stored, "a\r\n\r\nb\r\n");
  EXPECT_EQ(r.outcome->message_bytes, 8u);
  EXPECT_EQ(r.rest, "NOOP|");
}

TEST(DataReaderTest, UndoesDotStuffing) {
  auto r = Read("..\r\n..x\r\n.y\r\n...\r\n.\r\n");
  ASSERT_TRUE(r.outcome.ok());
  EXPECT_EQ(r.stored, ".\r\n.x\r\ny\r\n..\r\n");
}

TEST(DataReaderTest, DotWithBareLfIsNotTheEndButAnError) {
  auto r = Read("a\r\n.\nb\r\n.\r\n");
  ASSERT_TRUE(r.outcome.ok());
  EXPECT_EQ(r.outcome->status, DataStatus::kBareLineEnding);
  EXPECT_EQ(r.rest, "b|.|");  // stopped right at the offending line
}

TEST(DataReaderTest, BareCrAnywhereIsAnError) {
  auto r = Read("a\rb\r\n.\r\n");
  ASSERT_TRUE(r.outcome.ok());
  EXPECT_EQ(r.outcome->status, DataStatus::kBareLineEnding);
  auto r2 = Read("ab\r\r\n.\r\n");
  EXPECT_EQ(r2.outcome->status, DataStatus::kBareLineEnding);
}

TEST(DataReaderTest, NulIsReportedAfterReadingToTheEnd) {
  auto r = Read("a\0b\r\nc\r\n.\r\nNOOP\r\n"s);
  ASSERT_TRUE(r.outcome.ok());
  EXPECT_EQ(r.outcome->status, DataStatus::kNulByte);
  EXPECT_EQ(r.rest, "NOOP|");
  EXPECT_EQ(r.stored.find('\0'), std::string::npos);
}

TEST(DataReaderTest, OversizeIsReportedAfterReadingToTheEnd) {
  auto r = Read("0123456789\r\n0123456789\r\n.\r\nNOOP\r\n", 20);
  ASSERT_TRUE(r.outcome.ok());
  EXPECT_EQ(r.outcome->status, DataStatus::kTooBig);
  EXPECT_EQ(r.outcome->message_bytes, 24u);
  EXPECT_EQ(r.rest, "NOOP|");
}

TEST(DataReaderTest, OverlongLineStopsReading) {
  auto r = Read(std::string(50, 'x') + "\r\n.\r\n", 1 << 20, 10);
  ASSERT_TRUE(r.outcome.ok());
  EXPECT_EQ(r.outcome->status, DataStatus::kLineTooLong);
  EXPECT_EQ(r.stored, "");
}

TEST(DataReaderTest, ConnectionLossIsAnError) {
  auto r = Read("a\r\nb\r\n");
  ASSERT_FALSE(r.outcome.ok());
  EXPECT_EQ(r.outcome.error().code, ErrorCode::kUnavailable);
}

TEST(DataReaderTest, LargeMessagesAreStreamedInSeveralChunks) {
  std::string line(998, 'z');
  std::string input;
  for (int i = 0; i < 300; ++i) input += line + "\r\n";
  net::FakeConnection conn(input + ".\r\n");
  RecordingWriter writer;
  DataReader reader(conn, 1000, 1 << 22, kMaxReceived);
  auto outcome = reader.Read(&writer);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->status, DataStatus::kOk);
  EXPECT_GT(writer.appends, 1);
  EXPECT_EQ(writer.data, input);
}

TEST(DataReaderTest, AppendFailureIsReportedAfterReadingToTheEnd) {
  net::FakeConnection conn("a\r\n.\r\nNOOP\r\n");
  RecordingWriter writer;
  writer.fail = true;
  DataReader reader(conn, 1000, 1000, kMaxReceived);
  auto outcome = reader.Read(&writer);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->status, DataStatus::kWriteFailed);
  auto next = conn.ReadLine(100);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->text, "NOOP");
}

TEST(DataReaderTest, NullWriterDiscards) {
  net::FakeConnection conn("a\r\n.\r\n");
  DataReader reader(conn, 1000, 1000, kMaxReceived);
  auto outcome = reader.Read(nullptr);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->status, DataStatus::kOk);
  EXPECT_EQ(outcome->message_bytes, 3u);
}

std::string ReceivedLines(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += "Received: by hop" + std::to_string(i) + ".onion\r\n";
  return out;
}

TEST(DataReaderTest, ReceivedHeadersUpToTheLimitAreTaken) {
  auto r = Read(ReceivedLines(3) + "Subject: x\r\n\r\nbody\r\n.\r\n", 1 << 20, 1000, 3);
  ASSERT_TRUE(r.outcome.ok());
  EXPECT_EQ(r.outcome->status, DataStatus::kOk);
  EXPECT_EQ(r.outcome->received_headers, 3u);
  EXPECT_EQ(r.stored, ReceivedLines(3) + "Subject: x\r\n\r\nbody\r\n");
}

TEST(DataReaderTest, OneReceivedHeaderOverTheLimitIsAMailLoopReadToTheEnd) {
  auto r = Read(ReceivedLines(4) + "\r\nbody\r\n.\r\nNOOP\r\n", 1 << 20, 1000, 3);
  ASSERT_TRUE(r.outcome.ok());
  EXPECT_EQ(r.outcome->status, DataStatus::kTooManyHops);
  EXPECT_EQ(r.outcome->received_headers, 4u);
  EXPECT_EQ(r.rest, "NOOP|");  // the session stays in sync
}

TEST(DataReaderTest, ReceivedFieldNamesMatchInAnyCaseAndWithSpaceBeforeTheColon) {
  auto r = Read("RECEIVED: a\r\nreceived :b\r\nReceived\t: c\r\n\r\n.\r\n", 1 << 20, 1000, 2);
  ASSERT_TRUE(r.outcome.ok());
  EXPECT_EQ(r.outcome->status, DataStatus::kTooManyHops);
  EXPECT_EQ(r.outcome->received_headers, 3u);
}

TEST(DataReaderTest, ReceivedLinesInTheBodyOrOtherFieldsDoNotCount) {
  std::string input =
      "Received: one\r\n"
      " Received: a folded continuation\r\n"
      "Received-SPF: pass\r\n"
      "X-Received: two\r\n"
      "Received\r\n"
      "\r\n" +
      ReceivedLines(50) + ".\r\n";
  auto r = Read(input, 1 << 20, 1000, 1);
  ASSERT_TRUE(r.outcome.ok());
  EXPECT_EQ(r.outcome->status, DataStatus::kOk);
  EXPECT_EQ(r.outcome->received_headers, 1u);
}

TEST(DataReaderTest, ADroppedFieldLeavesTheHeaderWithItsFoldedLinesButNotTheBody) {
  net::FakeConnection conn(
      "X-Drop: a\r\n b\r\n\tc\r\nSubject: s\r\n x-DROP : d\r\nx-drop: e\r\nX-Dropped: f\r\n"
      "To: t\r\n\r\nX-Drop: body\r\n.\r\n");
  RecordingWriter writer;
  DataReader reader(conn, 1000, 1 << 20, kMaxReceived);
  reader.DropField("X-Drop");
  auto outcome = reader.Read(&writer);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->status, DataStatus::kOk);
  // " x-DROP : d" is a folded line of Subject (it starts with a space).
  EXPECT_EQ(writer.data,
            "Subject: s\r\n x-DROP : d\r\nX-Dropped: f\r\nTo: t\r\n\r\nX-Drop: body\r\n");
  EXPECT_EQ(outcome->message_bytes, 92u) << "dropped lines still count";
  EXPECT_TRUE(DataReader::IsField("x-drop\t: v", "X-Drop"));
  EXPECT_FALSE(DataReader::IsField("X-Drop", "X-Drop"));
  EXPECT_FALSE(DataReader::IsField("X-Drops: v", "X-Drop"));
  EXPECT_FALSE(DataReader::IsField("X-Drop: v", ""));
}

TEST(DataReaderTest, IsReceivedFieldNeedsTheWholeNameAndAColon) {
  EXPECT_TRUE(DataReader::IsReceivedField("Received: x"));
  EXPECT_TRUE(DataReader::IsReceivedField("received:"));
  EXPECT_FALSE(DataReader::IsReceivedField("Received"));
  EXPECT_FALSE(DataReader::IsReceivedField("Receive: x"));
  EXPECT_FALSE(DataReader::IsReceivedField("Received x: y"));
  EXPECT_FALSE(DataReader::IsReceivedField(""));
}

}  // namespace
}  // namespace onionmail::smtp
