// RewriteExitHeader (mail/exit_header.h): the header an exit gateway lets
// out to the Internet names no onion.
#include "mail/exit_header.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace onionmail::mail {
namespace {

const std::string kOnion = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.onion";
const ExitSender kSender{"alice@" + kOnion, "alice@mail.example.org", ""};

std::string Crlf(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

Result<std::string> Rewrite(const std::string& lf_text) {
  return RewriteExitHeader(Crlf(lf_text), kSender);
}

TEST(ExitHeaderTest, TheSenderBecomesTheAliasAndTraceFieldsGo) {
  auto out = Rewrite("Received: from x by " + kOnion + "\n\tid 1\nReturn-Path: <alice@" + kOnion +
                     ">\nFrom: Alice <Alice@" + kOnion +
                     ">\nTo: bob@example.com\n"
                     "Subject: hi\n\n");
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(*out, Crlf("From: Alice <alice@mail.example.org>\nTo: bob@example.com\n"
                       "Subject: hi\n\n"));
}

TEST(ExitHeaderTest, MessageIdsAtTheSendersOnionMoveToTheExitDomainAndFoldingStays) {
  auto out = Rewrite("From: alice@" + kOnion + "\nMessage-ID: <1.2@" + kOnion +
                     ">\nReferences: <a@example.com>\n <b@" + kOnion + ">\nIn-Reply-To: <b@" +
                     kOnion + ">\n");
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(*out, Crlf("From: alice@mail.example.org\nMessage-ID: <1.2@mail.example.org>\n"
                       "References: <a@example.com>\n <b@mail.example.org>\n"
                       "In-Reply-To: <b@mail.example.org>\n"));
}

TEST(ExitHeaderTest, AnotherOnionAnywhereRefusesTheMessageNamingTheField) {
  const std::string carol = "carol@cccccccccccccccccccccccccccccccccccccccccccccccccccccccc.onion";
  for (const std::string& field : std::vector<std::string>{
           "Cc: " + carol, "To: bob@example.com,\n " + carol, "Subject: see x.ONION",
           "Reply-To: bob@" + kOnion, "X-Note: alice@" + kOnion + ".evil",
           "Message-ID: <x@" + kOnion + "x>"}) {
    auto out = Rewrite("From: alice@" + kOnion + "\n" + field + "\n\n");
    ASSERT_FALSE(out.ok()) << field;
    EXPECT_EQ(out.error().code, ErrorCode::kPermissionDenied) << field;
    const std::string name = field.substr(0, field.find(':'));
    EXPECT_EQ(out.error().message, "onion name in " + (name == "X-Note" ? "a field" : name))
        << field;
  }
}

TEST(ExitHeaderTest, AnOnionHiddenInEncodedWordsOrEscapesIsFound) {
  for (const std::string& field : {
           std::string("Subject: =?utf-8?B?eC5vbmlvbg==?="),              // "x.onion"
           std::string("Subject: =?utf-8?Q?x=2Eonion?="),                 // Q encoding
           std::string("Subject: =?utf-8?B?eC5vbg==?= =?utf-8?Q?ion?="),  // split, adjacent
           std::string("Content-Type: text/plain; name*=utf-8''x%2Eonion"),
       }) {
    auto out = Rewrite("From: alice@" + kOnion + "\n" + field + "\n");
    ASSERT_FALSE(out.ok()) << field;
    EXPECT_EQ(out.error().code, ErrorCode::kPermissionDenied) << field;
  }
  // Encoded words that hide nothing pass as they are.
  auto fine = Rewrite("From: =?utf-8?Q?Al=C3=AFce?= <alice@" + kOnion + ">\n");
  ASSERT_TRUE(fine.ok()) << fine.error().message;
  EXPECT_EQ(*fine, Crlf("From: =?utf-8?Q?Al=C3=AFce?= <alice@mail.example.org>\n"));
}

TEST(ExitHeaderTest, FromMustBeTheSenderAloneAndAppearOnce) {
  for (const std::string& header : std::vector<std::string>{
           "To: bob@example.com\n",                                      // no From
           "From: mallory@example.com\n",                                // someone else
           "From: xalice@mail.example.org\n",                            // longer local part
           "From: alice@mail.example.org, mallory@example.com\n",        // two mailboxes
           "From: alice@" + kOnion + "\nFrom: alice@" + kOnion + "\n",   // twice
           "From: alice@" + kOnion + "\nSender: mallory@example.com\n",  // Sender someone else
       }) {
    auto out = Rewrite(header);
    ASSERT_FALSE(out.ok()) << header;
    EXPECT_EQ(out.error().code, ErrorCode::kPermissionDenied) << header;
  }
  auto with_sender = Rewrite("From: alice@" + kOnion + "\nSender: alice@" + kOnion + "\n");
  ASSERT_TRUE(with_sender.ok()) << with_sender.error().message;
  EXPECT_EQ(*with_sender, Crlf("From: alice@mail.example.org\nSender: alice@mail.example.org\n"));
}

TEST(ExitHeaderTest, ALongerLocalPartOrDomainIsNotTheSender) {
  // xalice@<onion> is another user: not rewritten, so refused as an onion name.
  auto out = Rewrite("From: alice@" + kOnion + "\nCc: xalice@" + kOnion + "\n");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().message, "onion name in Cc");
}

TEST(ExitHeaderTest, MalformedHeadersAreInvalidArguments) {
  const std::string from = "From: alice@" + kOnion + "\r\n";
  for (const std::string& header : {
           from + "Subject: x\n",          // bare LF
           from + "Subject: x\rmore\r\n",  // bare CR
           " folded: first\r\n" + from,    // starts with a continuation
           from + "no colon here\r\n",     // not a field
           from + ": empty name\r\n",      // empty name
           from + "Subject: x",            // no final CRLF
           from + "\r\nbody\r\n",          // bytes after the empty line
           from + "Bad Name: x\r\n",       // space in a field name
       }) {
    auto out = RewriteExitHeader(header, kSender);
    ASSERT_FALSE(out.ok()) << header;
    EXPECT_EQ(out.error().code, ErrorCode::kInvalidArgument) << header;
  }
  EXPECT_FALSE(RewriteExitHeader(from + std::string(kMaxExitHeaderBytes, 'x'), kSender).ok());
  EXPECT_FALSE(RewriteExitHeader(from, ExitSender{"Alice@" + kOnion, kSender.alias, ""}).ok());
  EXPECT_FALSE(RewriteExitHeader(from, ExitSender{kSender.address, "nobody", ""}).ok());
}

TEST(ExitHeaderTest, ErrorsNameNoAddress) {
  auto out = Rewrite("From: alice@" + kOnion + "\nCc: carol@" + kOnion + "\n");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().message.find("carol"), std::string::npos);
  EXPECT_EQ(out.error().message.find("onion.onion"), std::string::npos);
  EXPECT_EQ(out.error().message.find(kOnion), std::string::npos);
}

TEST(ExitHeaderTest, AFieldNameOfTheSendersOwnIsNotRepeated) {
  auto out = Rewrite("From: alice@" + kOnion + "\nX-alice-at-home: x.onion\ncc: y.onion\n");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().message, "onion name in a field");
  auto named = Rewrite("From: alice@" + kOnion + "\nX-x.onion: y\n");  // in the name
  ASSERT_FALSE(named.ok());
  EXPECT_EQ(named.error().message, "onion name in a field");
  auto cc = Rewrite("From: alice@" + kOnion + "\ncc: y.onion\n");
  ASSERT_FALSE(cc.ok());
  EXPECT_EQ(cc.error().message, "onion name in Cc");
}

TEST(ExitHeaderTest, AHeaderWithoutItsEmptyLineStaysWithout) {
  auto out = Rewrite("From: alice@" + kOnion + "\n");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "From: alice@mail.example.org\r\n");
}

}  // namespace
}  // namespace onionmail::mail
