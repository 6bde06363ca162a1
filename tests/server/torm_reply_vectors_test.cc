// The test vectors of docs/PROTOCOL.md, "TORM reply test vectors": the KCTL
// reply body (server::EncodeKctlReply, parsed back by ctl::ParseKctlReply) and
// the exact SMTP reply lines of TORM answers (smtp::FormatTormReply). The
// expected bytes below are the document's, computed independently of this code
// (Python's struct and base64, and the document's table of refusal lines); do
// not regenerate them from the program's output.
#include <gtest/gtest.h>

#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include "crypto/hex.h"
#include "ctl/unseal_args.h"
#include "mail/torm.h"
#include "server/torm_handler.h"
#include "smtp/base64.h"
#include "smtp/reply.h"
#include "unseal/partner_store.h"

namespace onionmail::server {
namespace {

using mail::TormOutcome;

struct KctlReplyVector {
  const char* name;
  bool advanced;
  bool disabled;
  bool destroyed;
  uint32_t credits_left;
  uint64_t answered_total;
  uint64_t last_answer_unix;
  const char* hex;
  const char* base64;
};

// docs/PROTOCOL.md, "KCTL reply body".
const KctlReplyVector kKctlReplies[] = {
    {"order applied", true, true, false, 997, 3, 1767225600,
     "0101000003e50000000000000003000000006955b900", "AQEAAAPlAAAAAAAAAAMAAAAAaVW5AA=="},
    {"query of a tombstone", false, true, true, 0, 258, 1769860800,
     "000300000000000000000000010200000000697deec0", "AAMAAAAAAAAAAAAAAQIAAAAAaX3uwA=="},
    {"query, never answered", false, false, false, 1000, 0, 0,
     "0000000003e800000000000000000000000000000000", "AAAAAAPoAAAAAAAAAAAAAAAAAAAAAA=="},
};

unseal::PartnerControlOutcome OutcomeOf(const KctlReplyVector& v) {
  unseal::PartnerControlOutcome o;
  o.advanced = v.advanced;
  o.disabled = v.disabled;
  o.destroyed = v.destroyed;
  o.credits_left = v.credits_left;
  o.answered_total = v.answered_total;
  o.last_answer_unix = v.last_answer_unix;
  return o;
}

TEST(TormReplyVectorsTest, KctlReplyBodyEncodesToTheDocumentedBytes) {
  for (const KctlReplyVector& v : kKctlReplies) {
    std::vector<uint8_t> body = EncodeKctlReply(OutcomeOf(v));
    EXPECT_EQ(body.size(), 22u) << v.name;
    EXPECT_EQ(crypto::ToHex(body), v.hex) << v.name;
    EXPECT_EQ(smtp::EncodeBase64(body), v.base64) << v.name;
  }
}

TEST(TormReplyVectorsTest, DocumentedKctlReplyBodiesParseToTheirFields) {
  for (const KctlReplyVector& v : kKctlReplies) {
    auto bytes = crypto::FromHex(v.hex);
    ASSERT_TRUE(bytes.has_value()) << v.name;
    auto reply = ctl::ParseKctlReply(*bytes);
    ASSERT_TRUE(reply.ok()) << v.name << ": " << reply.error().message;
    EXPECT_EQ(reply->advanced, v.advanced) << v.name;
    EXPECT_EQ(reply->disabled, v.disabled) << v.name;
    EXPECT_EQ(reply->destroyed, v.destroyed) << v.name;
    EXPECT_EQ(reply->credits_left, v.credits_left) << v.name;
    EXPECT_EQ(reply->answered_total, v.answered_total) << v.name;
    EXPECT_EQ(reply->last_answer_unix, v.last_answer_unix) << v.name;
  }
}

TEST(TormReplyVectorsTest, QueryOfATombstoneIsPrintedAsDocumented) {
  auto bytes = crypto::FromHex(kKctlReplies[1].hex);
  ASSERT_TRUE(bytes.has_value());
  auto reply = ctl::ParseKctlReply(*bytes);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(ctl::DescribeKctlReply(*reply, unseal::KctlAction::kQuery),
            "disabled yes, destroyed yes, credits left 0, answered total 258, "
            "last answer 2026-01-31T12:00:00Z");
}

// docs/PROTOCOL.md, "SMTP reply lines": every outcome, CRLF included.
struct LineVector {
  TormOutcome outcome;
  const char* line;
};

const LineVector kRefusals[] = {
    {TormOutcome::kBadRequest, "501 5.5.4 TORM refused: bad-request\r\n"},
    {TormOutcome::kBadSignature, "554 5.7.1 TORM refused: bad-signature\r\n"},
    {TormOutcome::kUnknownPartner, "554 5.7.1 TORM refused: unknown-partner\r\n"},
    {TormOutcome::kAlreadyEnrolled, "554 5.7.1 TORM refused: already-enrolled\r\n"},
    {TormOutcome::kDisabled, "554 5.7.1 TORM refused: disabled\r\n"},
    {TormOutcome::kNoCredits, "554 5.7.1 TORM refused: no-credits\r\n"},
    {TormOutcome::kRateLimited, "450 4.7.1 TORM refused: rate-limited\r\n"},
    {TormOutcome::kReplayed, "554 5.7.1 TORM refused: replayed\r\n"},
    {TormOutcome::kExpired, "554 5.7.1 TORM refused: expired\r\n"},
    {TormOutcome::kTooManyPartners, "554 5.7.1 TORM refused: too-many-partners\r\n"},
    {TormOutcome::kNotOffered, "502 5.5.1 TORM refused: not-offered\r\n"},
    {TormOutcome::kTemporary, "451 4.3.0 TORM refused: temporary\r\n"},
    {TormOutcome::kDestroyed, "554 5.7.1 TORM refused: destroyed\r\n"},
};

TEST(TormReplyVectorsTest, EveryRefusalIsTheDocumentedLine) {
  // One line per refusal outcome, none left out.
  ASSERT_EQ(std::size(kRefusals), static_cast<size_t>(mail::kMaxTormOutcome));
  for (const LineVector& v : kRefusals) {
    EXPECT_EQ(smtp::FormatTormReply(v.outcome, ""), v.line) << mail::TormOutcomeKeyword(v.outcome);
    // A payload never leaks into a refusal.
    EXPECT_EQ(smtp::FormatTormReply(v.outcome, "AQEAAAPl"), v.line);
  }
}

TEST(TormReplyVectorsTest, OkReplyCarriesTheBase64BodyAsDocumented) {
  auto body = crypto::FromHex(kKctlReplies[0].hex);
  ASSERT_TRUE(body.has_value());
  const std::string line = smtp::FormatTormReply(TormOutcome::kOk, smtp::EncodeBase64(*body));
  EXPECT_EQ(line, "250 2.0.0 AQEAAAPlAAAAAAAAAAMAAAAAaVW5AA==\r\n");
  const std::vector<uint8_t> wire(line.begin(), line.end());
  EXPECT_EQ(crypto::ToHex(wire),
            "32353020322e302e3020415145414141506c414141414141414141414d41414141416156573541413d3d"
            "0d0a");
  const std::string replayed = smtp::FormatTormReply(TormOutcome::kReplayed, "");
  EXPECT_EQ(crypto::ToHex(std::vector<uint8_t>(replayed.begin(), replayed.end())),
            "35353420352e372e3120544f524d20726566757365643a207265706c617965640d0a");
}

}  // namespace
}  // namespace onionmail::server
