// bot::ParseRequest, ParseCommand(Line) and IsWellFormedMsgId: the command and
// its bounded arguments, the Message-ID and the automatic marks of a hostile
// request.
#include "bot/request.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace onionmail::bot {
namespace {

using namespace std::string_literals;

TEST(RequestTest, SubjectIsTakenFromTheHeaderSection) {
  Request r = ParseRequest("From: <a@b>\r\nSubject: IDENT now\r\n\r\nbody\r\n");
  EXPECT_EQ(r.subject, "IDENT now");
  EXPECT_EQ(r.message_id, "");
  EXPECT_FALSE(r.automatic);
}

TEST(RequestTest, FieldNamesMatchWithoutRegardToCase) {
  Request r = ParseRequest("SUBJECT: config\r\nmessage-ID: <x@y>\r\n\r\n");
  EXPECT_EQ(r.subject, "config");
  EXPECT_EQ(r.message_id, "<x@y>");
}

TEST(RequestTest, OnlyTheFirstSubjectCounts) {
  EXPECT_EQ(ParseRequest("Subject: HELP\r\nSubject: IDENT\r\n\r\n").subject, "HELP");
}

TEST(RequestTest, HeadersInTheBodyAreNotRead) {
  Request r =
      ParseRequest("To: <server@x>\r\n\r\nSubject: IDENT\r\nAuto-Submitted: auto-replied\r\n");
  EXPECT_EQ(r.subject, "");
  EXPECT_FALSE(r.automatic);
}

TEST(RequestTest, FoldedSubjectIsUnfolded) {
  EXPECT_EQ(ParseRequest("Subject:\r\n IDENT\r\n\r\n").subject, "IDENT");
  EXPECT_EQ(ParseRequest("Subject: Re:\r\n\tRe:\r\n  rulez please\r\n\r\n").subject,
            "rulez please");
  EXPECT_EQ(ParseRequest("Subject: a\r\n b\r\n\tc\r\n\r\n").subject, "a b\tc");
}

TEST(RequestTest, ContinuationOfAnotherFieldDoesNotExtendTheSubject) {
  EXPECT_EQ(ParseRequest("Subject: HELP\r\nX-Other: 1\r\n IDENT\r\n\r\n").subject, "HELP");
}

TEST(RequestTest, WholeRequestIsTheHeaderSectionWithoutAnEmptyLine) {
  EXPECT_EQ(ParseRequest("From: <a@b>\r\nSubject: rules").subject, "rules");
}

TEST(RequestTest, LinesWithoutAColonAreSkipped) {
  EXPECT_EQ(ParseRequest("garbage line\r\nSubject: CONFIG\r\n\r\n").subject, "CONFIG");
}

TEST(RequestTest, ReplyPrefixesAreStrippedInAnyCase) {
  EXPECT_EQ(StripReplyPrefixes("Re: HELP"), "HELP");
  EXPECT_EQ(StripReplyPrefixes("  RE:re:Re : rE:\tident  "), "ident");
  EXPECT_EQ(StripReplyPrefixes("Re:"), "");
  EXPECT_EQ(StripReplyPrefixes("Re"), "Re");
  EXPECT_EQ(StripReplyPrefixes("Rest: x"), "Rest: x");
  EXPECT_EQ(StripReplyPrefixes("Fwd: Re: x"), "Fwd: Re: x");
}

TEST(RequestTest, CommandWordsMatchWithoutRegardToCase) {
  EXPECT_EQ(ParseCommand("help"), Command::kHelp);
  EXPECT_EQ(ParseCommand("HeLp me"), Command::kHelp);
  EXPECT_EQ(ParseCommand("rulez"), Command::kRulez);
  EXPECT_EQ(ParseCommand("Ident"), Command::kIdent);
  EXPECT_EQ(ParseCommand("CONFIG"), Command::kConfig);
}

TEST(RequestTest, AliasesRulesAndLimitsAreAccepted) {
  EXPECT_EQ(ParseCommand("RULES"), Command::kRulez);
  EXPECT_EQ(ParseCommand("limits"), Command::kConfig);
}

TEST(RequestTest, EmptySubjectIsHelpAndOtherWordsAreUnknown) {
  EXPECT_EQ(ParseCommand(""), Command::kHelp);
  EXPECT_EQ(ParseCommand(" \t "), Command::kHelp);
  EXPECT_EQ(ParseCommand("HELPX"), Command::kUnknown);
  EXPECT_EQ(ParseCommand("IDENTIFY"), Command::kUnknown);
  EXPECT_EQ(ParseCommand("=?utf-8?B?SEVMUA==?="), Command::kUnknown);
  EXPECT_EQ(ParseCommand("HELP\0"s), Command::kUnknown);
  EXPECT_EQ(ParseCommand("\xC3\x89LP"), Command::kUnknown);
}

TEST(RequestTest, SpamIsACommandWord) {
  EXPECT_EQ(ParseCommand("SPAM"), Command::kSpam);
  EXPECT_EQ(ParseCommand("spam add x@y"), Command::kSpam);
  EXPECT_EQ(ParseCommand("SPAMMER"), Command::kUnknown);
}

TEST(RequestTest, CommandLineHasTheWordsAfterTheCommand) {
  CommandLine line = ParseCommandLine("  SPAM\tadd \r\n <Bob@X.onion>  ");
  EXPECT_EQ(line.command, Command::kSpam);
  EXPECT_TRUE(line.args_ok);
  EXPECT_EQ(line.args, (std::vector<std::string>{"add", "<Bob@X.onion>"}));
  line = ParseCommandLine("IDENT");
  EXPECT_EQ(line.command, Command::kIdent);
  EXPECT_TRUE(line.args_ok);
  EXPECT_TRUE(line.args.empty());
  line = ParseCommandLine("");
  EXPECT_EQ(line.command, Command::kHelp);
  EXPECT_TRUE(line.args_ok);
  EXPECT_TRUE(line.args.empty());
}

TEST(RequestTest, ListIsACommandWordWithItsArguments) {
  EXPECT_EQ(ParseCommand("LIST"), Command::kList);
  EXPECT_EQ(ParseCommand("list team create"), Command::kList);
  EXPECT_EQ(ParseCommand("LISTS"), Command::kUnknown);
  EXPECT_EQ(ParseCommand("SPAM LIST"), Command::kSpam);
  CommandLine line = ParseCommandLine("List team.list ADD\tBob ");
  EXPECT_EQ(line.command, Command::kList);
  EXPECT_TRUE(line.args_ok);
  EXPECT_EQ(line.args, (std::vector<std::string>{"team.list", "ADD", "Bob"}));
}

TEST(RequestTest, SetIsSpamIsSpamWithAddInPlaceOfItsFirstThreeWords) {
  CommandLine line = ParseCommandLine("set IS Spam a@b.onion");
  EXPECT_EQ(line.command, Command::kSpam);
  EXPECT_EQ(line.args, (std::vector<std::string>{"ADD", "a@b.onion"}));
  line = ParseCommandLine("SET IS SPAM");
  EXPECT_EQ(line.command, Command::kSpam);
  EXPECT_EQ(line.args, (std::vector<std::string>{"ADD"}));
  EXPECT_EQ(ParseCommand("SET"), Command::kUnknown);
  EXPECT_EQ(ParseCommand("SET IS"), Command::kUnknown);
  EXPECT_EQ(ParseCommand("SET IS HAM a@b.onion"), Command::kUnknown);
  EXPECT_EQ(ParseCommand("SET ISSPAM a@b.onion"), Command::kUnknown);
}

TEST(RequestTest, ArgumentsWithOctetsOutsidePrintableAsciiAreRefusedWhole) {
  for (const std::string& subject :
       {"SPAM ADD b\xC3\xA9@x.onion"s, "SPAM ADD a\0b@x.onion"s, "SPAM ADD a\x7F"s,
        "SPAM ADD a\x01"s, "SPAM ok \x80"s, "IDENT \xFF"s}) {
    CommandLine line = ParseCommandLine(subject);
    EXPECT_NE(line.command, Command::kUnknown) << subject;
    EXPECT_FALSE(line.args_ok) << subject;
    EXPECT_TRUE(line.args.empty()) << subject;
  }
}

TEST(RequestTest, ArgumentsAreAtMost260OctetsEach) {
  CommandLine line = ParseCommandLine("SPAM ADD " + std::string(kMaxCommandArgBytes, 'a'));
  EXPECT_TRUE(line.args_ok);
  ASSERT_EQ(line.args.size(), 2u);
  EXPECT_EQ(line.args[1].size(), 260u);
  line = ParseCommandLine("SPAM ADD " + std::string(kMaxCommandArgBytes + 1, 'a'));
  EXPECT_FALSE(line.args_ok);
  EXPECT_TRUE(line.args.empty());
}

TEST(RequestTest, AtMostEightArgumentsAreAccepted) {
  CommandLine line = ParseCommandLine("SPAM 1 2 3 4 5 6 7 8");
  EXPECT_TRUE(line.args_ok);
  EXPECT_EQ(line.args.size(), kMaxCommandArgs);
  line = ParseCommandLine("SPAM 1 2 3 4 5 6 7 8 9");
  EXPECT_FALSE(line.args_ok);
  EXPECT_TRUE(line.args.empty());
  line = ParseCommandLine("SET IS SPAM 2 3 4 5 6 7 8");
  EXPECT_TRUE(line.args_ok);
  EXPECT_EQ(line.args.size(), 8u);
  line = ParseCommandLine("SET IS SPAM 2 3 4 5 6 7 8 9");
  EXPECT_FALSE(line.args_ok);
  std::string many = "SPAM";
  for (int i = 0; i < 20000; ++i) many += " x";
  line = ParseCommandLine(many);
  EXPECT_EQ(line.command, Command::kSpam);
  EXPECT_FALSE(line.args_ok);
  EXPECT_TRUE(line.args.empty());
}

TEST(RequestTest, AutoSubmittedOtherThanNoIsAutomatic) {
  EXPECT_TRUE(ParseRequest("Auto-Submitted: auto-replied\r\n\r\n").automatic);
  EXPECT_TRUE(ParseRequest("auto-submitted: Auto-Generated (bounce)\r\n\r\n").automatic);
  EXPECT_TRUE(ParseRequest("Auto-Submitted: auto-notified; owner-email=x@y\r\n\r\n").automatic);
  EXPECT_TRUE(ParseRequest("Auto-Submitted:\r\n\r\n").automatic);
  EXPECT_FALSE(ParseRequest("Auto-Submitted: no\r\n\r\n").automatic);
  EXPECT_FALSE(ParseRequest("Auto-Submitted:  NO (a person)\r\n\r\n").automatic);
}

TEST(RequestTest, MultipartReportIsAutomatic) {
  EXPECT_TRUE(ParseRequest("Content-Type: Multipart/Report; report-type=delivery-status\r\n\r\n")
                  .automatic);
  EXPECT_TRUE(ParseRequest("Content-Type:\r\n multipart/report\r\n\r\n").automatic);
  EXPECT_FALSE(ParseRequest("Content-Type: multipart/mixed; boundary=x\r\n\r\n").automatic);
  EXPECT_FALSE(ParseRequest("Content-Type: text/plain; x=multipart/report\r\n\r\n").automatic);
}

TEST(RequestTest, WellFormedMessageIdIsKeptWithoutBlanks) {
  EXPECT_EQ(ParseRequest("Message-ID:  <abc.1@host.onion> \r\n\r\n").message_id,
            "<abc.1@host.onion>");
  EXPECT_EQ(ParseRequest("Message-Id:\r\n <a@b>\r\n\r\n").message_id, "<a@b>");
}

TEST(RequestTest, MalformedMessageIdsAreRejected) {
  for (const std::string& id :
       {"abc@def"s, "<abc>"s, "<a@b@c>"s, "<a b@c>"s, "<@b>"s, "<a@>"s, "<a@b> x"s, "<<a@b>"s,
        "<a@b>>"s, "<\x80@b>"s, "<a\0@b>"s, "<a@b"s, "<>"s, ""s, "<a@b\r>"s}) {
    EXPECT_FALSE(IsWellFormedMsgId(id)) << id;
  }
}

TEST(RequestTest, MessageIdLengthLimitIs250InnerOctets) {
  EXPECT_TRUE(IsWellFormedMsgId("<" + std::string(248, 'a') + "@b>"));
  EXPECT_FALSE(IsWellFormedMsgId("<" + std::string(249, 'a') + "@b>"));
  EXPECT_TRUE(IsWellFormedMsgId("<a@b>"));
}

TEST(RequestTest, HostileBytesDoNotBreakParsing) {
  std::string request =
      "Subject: \0\xff\r IDENT\r\nMessage-ID: <a\x01@b>\r\n"s + std::string(200000, 'x') + "\n\n";
  Request r = ParseRequest(request);
  EXPECT_EQ(r.subject, "\0\xff\r IDENT"s);
  EXPECT_EQ(r.message_id, "");
  EXPECT_FALSE(r.automatic);
}

TEST(RequestTest, BareLfEndsLinesToo) {
  Request r = ParseRequest("Subject: CONFIG\nAuto-Submitted: no\n\nSubject: IDENT\n");
  EXPECT_EQ(r.subject, "CONFIG");
  EXPECT_FALSE(r.automatic);
}

}  // namespace
}  // namespace onionmail::bot
