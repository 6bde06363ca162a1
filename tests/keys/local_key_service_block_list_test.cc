// keys::LocalKeyService's block lists (key_service.h, "Block lists"): a list
// belongs to the user's mailbox, blocks at SenderBlocked, is deleted with the
// user, and a damaged list is ignored (never stops mail) until cleared.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "keys/local_key_service.h"
#include "tests/store/test_util.h"

namespace onionmail::keys {
namespace {

using onionmail::testing::TempDir;
using Op = mail::BlockListOp;

SecretBytes Pw(std::string_view s) { return SecretBytes(SecretAccess::Grant(), s); }

class LocalKeyServiceBlockListTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ks = hsm::CreateFileKeyStore(dir_.path() + "/server.key");
    ASSERT_TRUE(ks.ok());
    key_store_ = std::move(*ks);
    LocalKeyService::Options o;
    o.state_dir = dir_.path();
    o.kdf = crypto::Argon2Params{1, 8192, 1};
    service_ = std::make_unique<LocalKeyService>(*key_store_, o);
    ASSERT_TRUE(service_->CreateUser("bob", Pw("smtp-secret"), Pw("pop3-secret")).ok());
    auto bob = service_->LookupUser("bob");
    ASSERT_TRUE(bob.ok());
    mailbox_id_ = bob->mailbox_id;
  }
  std::string ListPath() const { return dir_.path() + "/blocklists/" + mailbox_id_; }

  TempDir dir_;
  std::unique_ptr<hsm::KeyStore> key_store_;
  std::unique_ptr<LocalKeyService> service_;
  std::string mailbox_id_;
};

TEST_F(LocalKeyServiceBlockListTest, ListOfAUserBlocksItsSendersAtTheirMailbox) {
  auto added = service_->ApplyBlockList("Bob", Op::kAdd, "@spam.onion");
  ASSERT_TRUE(added.ok()) << added.error().message;
  EXPECT_EQ(*added, std::vector<std::string>{"@spam.onion"});
  EXPECT_EQ(service_->SenderBlocked(mailbox_id_, "x@spam.onion").value(), true);
  EXPECT_EQ(service_->SenderBlocked(mailbox_id_, "x@ham.onion").value(), false);
  EXPECT_EQ(service_->SenderBlocked(mailbox_id_, "").value(), false);
  EXPECT_EQ(service_->ApplyBlockList("nobody", Op::kList, "").error().code, ErrorCode::kNotFound);
}

TEST_F(LocalKeyServiceBlockListTest, DeletingTheUserDeletesTheListAndANewUserStartsEmpty) {
  ASSERT_TRUE(service_->ApplyBlockList("bob", Op::kAdd, "x@spam.onion").ok());
  ASSERT_TRUE(service_->DeleteUser("bob").ok());
  std::ifstream gone(ListPath());
  EXPECT_FALSE(gone.good());
  ASSERT_TRUE(service_->CreateUser("bob", Pw("smtp-2-secret"), Pw("pop3-2-secret")).ok());
  EXPECT_EQ(service_->SenderBlocked(mailbox_id_, "x@spam.onion").value(), false);
  EXPECT_TRUE(service_->ApplyBlockList("bob", Op::kList, "").value().empty());
}

TEST_F(LocalKeyServiceBlockListTest, DamagedListBlocksNothingAndClearRemovesIt) {
  ASSERT_TRUE(service_->ApplyBlockList("bob", Op::kAdd, "x@spam.onion").ok());
  {
    std::ofstream damage(ListPath(), std::ios::binary | std::ios::trunc);
    damage << "not a sealed record";
  }
  auto blocked = service_->SenderBlocked(mailbox_id_, "x@spam.onion");
  ASSERT_TRUE(blocked.ok()) << blocked.error().message;
  EXPECT_FALSE(*blocked);
  EXPECT_EQ(service_->ApplyBlockList("bob", Op::kAdd, "y@spam.onion").error().code,
            ErrorCode::kDataLoss);
  ASSERT_TRUE(service_->ApplyBlockList("bob", Op::kClear, "").ok());
  ASSERT_TRUE(service_->ApplyBlockList("bob", Op::kAdd, "y@spam.onion").ok());
  EXPECT_EQ(service_->SenderBlocked(mailbox_id_, "y@spam.onion").value(), true);
}

}  // namespace
}  // namespace onionmail::keys
