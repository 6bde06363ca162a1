// bot::ComposeReply and its pieces: body line endings and splitting and the
// subject's sanitizing.
#include "bot/reply_message.h"

#include <gtest/gtest.h>

#include <string>

namespace onionmail::bot {
namespace {

using namespace std::string_literals;

std::string Body(std::string_view text) {
  std::string out;
  AppendBody(text, &out);
  return out;
}

TEST(ReplyMessageTest, EveryLineEndingBecomesCrlf) {
  EXPECT_EQ(Body("a\nb\r\nc\rd"), "a\r\nb\r\nc\r\nd\r\n");
  EXPECT_EQ(Body("a\n\nb\n"), "a\r\n\r\nb\r\n");
  EXPECT_EQ(Body("a\r\n"), "a\r\n");
  EXPECT_EQ(Body("\r\r\n\n"), "\r\n\r\n\r\n");
}

TEST(ReplyMessageTest, LineOfADotIsKept) { EXPECT_EQ(Body("a\n.\nb"), "a\r\n.\r\nb\r\n"); }

TEST(ReplyMessageTest, NulOctetsAreDropped) { EXPECT_EQ(Body("a\0b\n"s), "ab\r\n"); }

TEST(ReplyMessageTest, LineOf3000OctetsIsSplitInto998OctetLines) {
  std::string line(3000, 'x');
  EXPECT_EQ(Body(line), std::string(998, 'x') + "\r\n" + std::string(998, 'x') + "\r\n" +
                            std::string(998, 'x') + "\r\n" + std::string(6, 'x') + "\r\n");
}

TEST(ReplyMessageTest, LineOfExactly998OctetsIsNotSplit) {
  EXPECT_EQ(Body(std::string(998, 'y')), std::string(998, 'y') + "\r\n");
}

TEST(ReplyMessageTest, LongLineIsSplitAtAUtf8CharacterBoundary) {
  // 997 ASCII octets, then "é" (C3 A9): cutting at 998 would split the "é".
  std::string line = std::string(997, 'a') + "\xC3\xA9" + "bc";
  EXPECT_EQ(Body(line), std::string(997, 'a') + "\r\n\xC3\xA9" + "bc\r\n");
}

TEST(ReplyMessageTest, InvalidUtf8IsSplitAt998AnyWay) {
  std::string line(2000, '\x80');
  std::string body = Body(line);
  EXPECT_EQ(body, std::string(998, '\x80') + "\r\n" + std::string(998, '\x80') + "\r\n" +
                      std::string(4, '\x80') + "\r\n");
}

TEST(ReplyMessageTest, SubjectKeepsOnlyPrintableAscii) {
  EXPECT_EQ(SanitizeSubject("HE\0L\rL\nP\t\x7f\xc3\xa9!"s), "HELLP!");
  EXPECT_EQ(SanitizeSubject("  a  b  "), "a  b");
  EXPECT_EQ(SanitizeSubject("\x01\x02"), "");
}

TEST(ReplyMessageTest, SubjectIsTruncatedTo200Octets) {
  EXPECT_EQ(SanitizeSubject(std::string(500, 'z')), std::string(200, 'z'));
}

TEST(ReplyMessageTest, ComposeWritesTheHeadersInOrder) {
  ReplyParts parts;
  parts.domain = "example.onion";
  parts.user = "alice";
  parts.date = "Thu, 01 Jan 1970 00:00:00 +0000";
  parts.subject = "ident";
  parts.message_id_local = "0123";
  parts.in_reply_to = "<q@r>";
  parts.body = "hello\n";
  EXPECT_EQ(ComposeReply(parts),
            "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"
            "From: \"onionmaild\" <server@example.onion>\r\n"
            "To: <alice@example.onion>\r\n"
            "Subject: Re: ident\r\n"
            "Message-ID: <0123@example.onion>\r\n"
            "In-Reply-To: <q@r>\r\n"
            "References: <q@r>\r\n"
            "Auto-Submitted: auto-replied\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n"
            "\r\n"
            "hello\r\n");
}

TEST(ReplyMessageTest, EmptySubjectIsAnsweredAsHelp) {
  ReplyParts parts;
  parts.domain = "d";
  parts.user = "u";
  parts.body = "x";
  std::string reply = ComposeReply(parts);
  EXPECT_NE(reply.find("\r\nSubject: Re: HELP\r\n"), std::string::npos);
  EXPECT_EQ(reply.find("In-Reply-To"), std::string::npos);
  EXPECT_EQ(reply.find("References"), std::string::npos);
}

}  // namespace
}  // namespace onionmail::bot
