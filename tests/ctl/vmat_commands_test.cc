// onionmailctl vmat (ctl/vmat_commands.h): argument parsing (aliases and
// targets canonicalised, bad ones and a server without [exit] domain
// refused), and what add, show, list and remove print over a real key
// service.
#include "ctl/vmat_commands.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "keys/local_key_service.h"
#include "tests/mail/test_onions.h"
#include "tests/store/test_util.h"

namespace onionmail::ctl {
namespace {

using onionmail::testing::TempDir;

const std::string kExit = "mx.example.org";
const std::string kAlice = "alice@" + mail::kTestOnions[0];

std::optional<VmatCommand> Parse(std::vector<std::string> args, std::string* why = nullptr,
                                 const std::string& exit_domain = kExit) {
  std::string ignored;
  return ParseVmatCommand(args, exit_domain, why != nullptr ? why : &ignored);
}

TEST(ParseVmatCommandTest, AddRemoveShowListWithCanonicalAliasesAndTargets) {
  auto add = Parse({"add", "Alice@MX.example.org", "ALICE@" + mail::kTestOnions[0]});
  ASSERT_TRUE(add);
  EXPECT_EQ(add->op, VmatCommand::Op::kAdd);
  EXPECT_EQ(add->alias, "alice");
  EXPECT_EQ(add->target, kAlice);
  EXPECT_EQ(add->exit_domain, kExit);
  auto remove = Parse({"remove", "bob"});
  ASSERT_TRUE(remove);
  EXPECT_EQ(remove->op, VmatCommand::Op::kRemove);
  EXPECT_EQ(remove->alias, "bob");
  EXPECT_EQ(Parse({"show", "Bob"})->op, VmatCommand::Op::kShow);
  auto sender = Parse({"sender", "Bob@mx.example.org"});
  ASSERT_TRUE(sender);
  EXPECT_EQ(sender->op, VmatCommand::Op::kSender);
  EXPECT_EQ(sender->alias, "bob");
  EXPECT_EQ(Parse({"list"})->op, VmatCommand::Op::kList);
}

TEST(ParseVmatCommandTest, BadCommandsAliasesTargetsAndNoExitDomainAreUsageErrors) {
  std::string why;
  EXPECT_FALSE(Parse({"list"}, &why, ""));
  EXPECT_NE(why.find("[exit] domain"), std::string::npos) << why;
  EXPECT_FALSE(Parse({"add", "postmaster", kAlice}, &why));
  EXPECT_NE(why.find("reserved"), std::string::npos) << why;
  EXPECT_FALSE(Parse({"add", "alice", "alice@example.org"}, &why));
  EXPECT_NE(why.find("v3 onion"), std::string::npos) << why;
  for (std::vector<std::string> bad :
       std::vector<std::vector<std::string>>{{},
                                             {"add", "alice"},
                                             {"add", "alice@other.example", kAlice},
                                             {"add", "a..b", kAlice},
                                             {"remove"},
                                             {"show", "x", "y"},
                                             {"sender"},
                                             {"list", "all"},
                                             {"ADD", "alice", kAlice}}) {
    EXPECT_FALSE(Parse(bad)) << (bad.empty() ? "" : bad[0]) << " " << bad.size();
  }
}

class VmatCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ks = hsm::CreateFileKeyStore(dir_.path() + "/server.key");
    ASSERT_TRUE(ks.ok());
    key_store_ = std::move(*ks);
    keys::LocalKeyService::Options o;
    o.state_dir = dir_.path();
    o.kdf = crypto::Argon2Params{1, 8192, 1};
    service_ = std::make_unique<keys::LocalKeyService>(*key_store_, o);
  }
  // Runs `args`; returns its exit status, stdout and stderr.
  int Run(std::vector<std::string> args, std::string* out, std::string* err) {
    auto command = Parse(args);
    EXPECT_TRUE(command);
    if (!command) return -1;
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    int rc = RunVmatCommand(*service_, *command);
    *out = ::testing::internal::GetCapturedStdout();
    *err = ::testing::internal::GetCapturedStderr();
    return rc;
  }

  TempDir dir_;
  std::unique_ptr<hsm::KeyStore> key_store_;
  std::unique_ptr<keys::LocalKeyService> service_;
};

TEST_F(VmatCommandsTest, AddShowListRemove) {
  std::string out, err;
  const std::string bob = "bob@" + mail::kTestOnions[1];
  ASSERT_EQ(Run({"add", "alice", kAlice}, &out, &err), 0) << err;
  EXPECT_EQ(out, "alice@mx.example.org -> " + kAlice + " (sends)\n");
  ASSERT_EQ(Run({"add", "bob@mx.example.org", bob}, &out, &err), 0) << err;
  EXPECT_EQ(*service_->LookupVmat("bob"), bob);
  ASSERT_EQ(Run({"add", "a2", kAlice}, &out, &err), 0) << err;
  EXPECT_EQ(out, "a2@mx.example.org -> " + kAlice + "\n");  // alice's first alias sends
  ASSERT_EQ(Run({"show", "Alice"}, &out, &err), 0) << err;
  EXPECT_EQ(out, "alice@mx.example.org -> " + kAlice + " (sends)\n");
  ASSERT_EQ(Run({"list"}, &out, &err), 0) << err;
  EXPECT_EQ(out, "a2@mx.example.org -> " + kAlice + "\nalice@mx.example.org -> " + kAlice +
                     " (sends)\nbob@mx.example.org -> " + bob + " (sends)\n3 VMAT alias(es)\n");
  ASSERT_EQ(Run({"remove", "alice"}, &out, &err), 0) << err;
  EXPECT_EQ(out, "removed alice@mx.example.org\n");
  EXPECT_EQ(*service_->LookupVmat("alice"), std::nullopt);
}

TEST_F(VmatCommandsTest, SenderMakesAnAliasItsTargetsSendingAlias) {
  std::string out, err;
  ASSERT_EQ(Run({"add", "alice", kAlice}, &out, &err), 0) << err;
  ASSERT_EQ(Run({"add", "a2", kAlice}, &out, &err), 0) << err;
  ASSERT_EQ(Run({"sender", "A2@mx.example.org"}, &out, &err), 0) << err;
  EXPECT_EQ(out, "a2@mx.example.org -> " + kAlice + " (sends)\n");
  EXPECT_EQ(*service_->SenderVmat(kAlice), "a2");
  ASSERT_EQ(Run({"show", "alice"}, &out, &err), 0) << err;
  EXPECT_EQ(out, "alice@mx.example.org -> " + kAlice + "\n");
  EXPECT_EQ(Run({"sender", "carol"}, &out, &err), 1);
  EXPECT_EQ(out, "");
  EXPECT_NE(err.find("no such VMAT alias"), std::string::npos) << err;
  EXPECT_EQ(*service_->SenderVmat(kAlice), "a2");
}

TEST_F(VmatCommandsTest, AnAliasThatExistsOrIsMissingIsExitStatusOne) {
  std::string out, err;
  ASSERT_EQ(Run({"add", "alice", kAlice}, &out, &err), 0) << err;
  EXPECT_EQ(Run({"add", "alice", "bob@" + mail::kTestOnions[1]}, &out, &err), 1);
  EXPECT_NE(err.find("vmat remove"), std::string::npos) << err;
  EXPECT_EQ(*service_->LookupVmat("alice"), kAlice);
  EXPECT_EQ(Run({"show", "carol"}, &out, &err), 1);
  EXPECT_EQ(out, "");
  EXPECT_EQ(Run({"remove", "carol"}, &out, &err), 1);
  EXPECT_NE(err.find("onionmailctl: "), std::string::npos) << err;
}

}  // namespace
}  // namespace onionmail::ctl
