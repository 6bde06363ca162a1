// ExitTransaction (mail/exit_transaction.h): the smarthost gets the message
// with its header rewritten by the exit rule, however the bytes are split,
// and nothing at all when the rule refuses the header.
#include "mail/exit_transaction.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace onionmail::mail {
namespace {

const std::string kOnion = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.onion";

struct Record {
  std::string appended;
  std::vector<std::string> calls;
};

class RecordingTransaction : public RemoteTransaction {
 public:
  explicit RecordingTransaction(Record* record) : record_(record) {}
  Result<RelayReply> Rcpt(std::string_view path) override {
    record_->calls.push_back("rcpt " + std::string(path));
    return RelayReply{250, "2.1.5"};
  }
  Result<RelayReply> Data() override {
    record_->calls.push_back("data");
    return RelayReply{354, ""};
  }
  Result<void> Append(std::span<const uint8_t> bytes) override {
    record_->appended.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return Ok();
  }
  Result<void> Finish() override {
    record_->calls.push_back("finish");
    return Ok();
  }
  Result<RelayReply> End() override {
    record_->calls.push_back("end");
    return RelayReply{250, "2.0.0"};
  }

 private:
  Record* record_;
};

std::unique_ptr<ExitTransaction> Make(Record* record) {
  return std::make_unique<ExitTransaction>(
      std::make_unique<RecordingTransaction>(record),
      ExitSender{"alice@" + kOnion, "alice@mail.example.org", ""});
}

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

const std::string kMessage = "Received: by " + kOnion + "\r\nFrom: Alice <alice@" + kOnion +
                             ">\r\nTo: bob@example.com\r\n\r\nHello from " + kOnion +
                             ".\r\n\r\nBye\r\n";
const std::string kSent =
    "From: Alice <alice@mail.example.org>\r\nTo: bob@example.com\r\n\r\nHello from " + kOnion +
    ".\r\n\r\nBye\r\n";  // the body is the sender's: untouched

TEST(ExitTransactionTest, TheHeaderIsRewrittenAndTheBodyPassesAsItIsInEverySplit) {
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{64}, kMessage.size()}) {
    Record record;
    auto t = Make(&record);
    ASSERT_EQ(t->Rcpt("bob@example.com")->code, 250);
    ASSERT_EQ(t->Data()->code, 354);
    for (size_t at = 0; at < kMessage.size(); at += chunk) {
      ASSERT_TRUE(t->Append(Bytes(kMessage.substr(at, chunk))).ok()) << chunk;
    }
    ASSERT_TRUE(t->Finish().ok());
    ASSERT_EQ(t->End()->code, 250);
    EXPECT_EQ(record.appended, kSent) << chunk;
    EXPECT_EQ(record.calls,
              (std::vector<std::string>{"rcpt bob@example.com", "data", "finish", "end"}));
  }
}

TEST(ExitTransactionTest, TheGatewaysTraceFieldComesBeforeTheRewrittenHeader) {
  Record record;
  const std::string trace = "Received: by mail.example.org (onionmaild) with ESMTPS; x\r\n";
  ExitTransaction t(std::make_unique<RecordingTransaction>(&record),
                    ExitSender{"alice@" + kOnion, "alice@mail.example.org", trace});
  ASSERT_TRUE(t.Append(Bytes(kMessage)).ok());
  ASSERT_EQ(t.End()->code, 250);
  EXPECT_EQ(record.appended, trace + kSent);  // the sender's Received is still dropped
}

TEST(ExitTransactionTest, NothingReachesTheSmarthostBeforeTheHeaderEnds) {
  Record record;
  auto t = Make(&record);
  ASSERT_TRUE(t->Append(Bytes("From: alice@" + kOnion + "\r\n")).ok());
  EXPECT_EQ(record.appended, "");
  ASSERT_TRUE(t->Append(Bytes("\r\nbody\r\n")).ok());
  EXPECT_EQ(record.appended, "From: alice@mail.example.org\r\n\r\nbody\r\n");
}

TEST(ExitTransactionTest, AMessageThatIsAllHeaderIsRewrittenAtTheEnd) {
  Record record;
  auto t = Make(&record);
  ASSERT_TRUE(t->Append(Bytes("From: alice@" + kOnion + "\r\n")).ok());
  ASSERT_EQ(t->End()->code, 250);
  EXPECT_EQ(record.appended, "From: alice@mail.example.org\r\n");
}

TEST(ExitTransactionTest, ARefusedHeaderSendsNothingAndEveryLaterCallFails) {
  Record record;
  auto t = Make(&record);
  auto refused =
      t->Append(Bytes("From: alice@" + kOnion + "\r\nCc: carol@" + kOnion + "\r\n\r\nbody\r\n"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(refused.error().message, "onion name in Cc");
  EXPECT_FALSE(t->Append(Bytes("more\r\n")).ok());
  EXPECT_FALSE(t->Finish().ok());
  EXPECT_FALSE(t->End().ok());
  EXPECT_EQ(record.appended, "");
  EXPECT_TRUE(record.calls.empty());
}

TEST(ExitTransactionTest, AHeaderThatNeverEndsIsRefusedPastTheLimit) {
  Record record;
  auto t = Make(&record);
  const std::string line = "X-Filler: " + std::string(1000, 'x') + "\r\n";
  Result<void> last = Ok();
  for (size_t sent = 0; sent <= kMaxExitHeaderBytes && last.ok(); sent += line.size()) {
    last = t->Append(Bytes(line));
  }
  ASSERT_FALSE(last.ok());
  EXPECT_EQ(last.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(record.appended, "");
}

TEST(ExitTransactionTest, AFromThatIsNotTheSenderIsRefusedAtTheEnd) {
  Record record;
  auto t = Make(&record);
  ASSERT_TRUE(t->Append(Bytes("From: mallory@example.com\r\n")).ok());  // still held
  auto end = t->End();
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(end.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(record.appended, "");
  EXPECT_TRUE(record.calls.empty());
}

}  // namespace
}  // namespace onionmail::mail
