// keys::LocalKeyService's mailing lists (key_service.h, "Mailing lists"; the
// rules LocalKeyService adds to mail::ApplyListOp, local_key_service.h): a
// list name whose address is a user's, adding a user that does not exist,
// adding a member at another onion server (no check), an actor that is no
// user, and DeleteUser taking the user out of every list so that a user made
// again under the name is in none.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "crypto/hex.h"
#include "keys/local_key_service.h"
#include "tests/keys/sealed_file_fixture.h"
#include "tests/store/test_util.h"

namespace onionmail::keys {
namespace {

using mail::ListOp;
using mail::ListRecord;
using onionmail::testing::TempDir;
using onionmail::testing::WriteFileBytes;

SecretBytes Pw(std::string_view s) { return SecretBytes(SecretAccess::Grant(), s); }

template <typename T>
ErrorCode CodeOf(const Result<T>& r) {
  return r.ok() ? ErrorCode::kInternal : r.error().code;
}

class LocalKeyServiceListTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ks = hsm::CreateFileKeyStore(dir_.path() + "/server.key");
    ASSERT_TRUE(ks.ok());
    file_store_ = std::move(*ks);
    key_store_ = std::make_unique<test_fixture::CountingKeyStore>(*file_store_);
    MakeService();
    for (const char* user : {"alice", "bob", "carol"}) AddUser(user);
  }
  // A new LocalKeyService over the same state directory (nothing cached).
  void MakeService() {
    LocalKeyService::Options o;
    o.state_dir = dir_.path();
    o.kdf = crypto::Argon2Params{1, 8192, 1};
    service_ = std::make_unique<LocalKeyService>(*key_store_, o);
  }
  void AddUser(const std::string& user) {
    ASSERT_TRUE(service_->CreateUser(user, Pw("smtp-secret"), Pw("pop3-secret")).ok()) << user;
  }
  ListRecord Apply(const std::string& actor, ListOp op, const std::string& name,
                   const std::string& user = "") {
    auto r = service_->ApplyList(actor, op, name, user);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : ListRecord{};
  }
  ErrorCode Fails(const std::string& actor, ListOp op, const std::string& name,
                  const std::string& user = "") {
    return CodeOf(service_->ApplyList(actor, op, name, user));
  }
  std::string ListsDir() const { return dir_.path() + "/lists"; }
  size_t ListFiles() const {
    size_t n = 0;
    if (!std::filesystem::exists(ListsDir())) return 0;
    for (const auto& e : std::filesystem::directory_iterator(ListsDir())) n += e.is_regular_file();
    return n;
  }

  TempDir dir_;
  std::unique_ptr<hsm::KeyStore> file_store_;
  std::unique_ptr<test_fixture::CountingKeyStore> key_store_;
  std::unique_ptr<LocalKeyService> service_;
};

TEST_F(LocalKeyServiceListTest, AListIsCreatedByItsOwnerAndShownToItsMembers) {
  EXPECT_EQ(Apply("alice", ListOp::kCreate, "team"), (ListRecord{"alice", {"alice"}}));
  EXPECT_EQ(Apply("alice", ListOp::kAdd, "team", "bob"), (ListRecord{"alice", {"alice", "bob"}}));
  EXPECT_EQ(Apply("bob", ListOp::kShow, "team"), (ListRecord{"alice", {"alice", "bob"}}));
  EXPECT_EQ(Apply("bob", ListOp::kPost, "team").members,
            (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(Fails("carol", ListOp::kShow, "team"), ErrorCode::kPermissionDenied);
  EXPECT_EQ(Apply("alice", ListOp::kDestroy, "team"), ListRecord{});
  EXPECT_EQ(Fails("alice", ListOp::kShow, "team"), ErrorCode::kNotFound);
  EXPECT_EQ(ListFiles(), 0u);
}

TEST_F(LocalKeyServiceListTest, CreatingAListWhoseAddressIsAUsersIsAlreadyExists) {
  AddUser("team.list");
  EXPECT_EQ(Fails("alice", ListOp::kCreate, "team"), ErrorCode::kAlreadyExists);
  EXPECT_EQ(Fails("alice", ListOp::kShow, "team"), ErrorCode::kNotFound);
  EXPECT_EQ(ListFiles(), 0u);
  EXPECT_EQ(Apply("alice", ListOp::kCreate, "team2").owner, "alice");
}

TEST_F(LocalKeyServiceListTest, AddingAUserThatDoesNotExistIsFailedPrecondition) {
  Apply("alice", ListOp::kCreate, "team");
  EXPECT_EQ(Fails("alice", ListOp::kAdd, "team", "nobody"), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(Apply("alice", ListOp::kShow, "team").members, std::vector<std::string>{"alice"});
  EXPECT_EQ(Fails("bob", ListOp::kAdd, "team", "nobody"), ErrorCode::kPermissionDenied)
      << "a non-member is refused before the user is looked up";
}

TEST_F(LocalKeyServiceListTest, AMemberAtAnotherOnionServerIsAddedWithoutSuchAUserHere) {
  const std::string remote = "bob@aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3kead.onion";
  const std::string stranger =
      "nobody@eaqseizeeutcokbjfivsyljof4ydcmrtgq2tmnzyhe5dwpb5hy74yhqd.onion";
  Apply("alice", ListOp::kCreate, "team");
  EXPECT_EQ(Apply("alice", ListOp::kAdd, "team", remote), (ListRecord{"alice", {"alice", remote}}));
  EXPECT_EQ(Apply("alice", ListOp::kAdd, "team", stranger).members,
            (std::vector<std::string>{"alice", remote, stranger}));
  EXPECT_EQ(Fails("alice", ListOp::kAdd, "team", "nobody"), ErrorCode::kFailedPrecondition)
      << "a user of this server must exist";
  EXPECT_EQ(Fails("alice", ListOp::kAdd, "team", "bob@other.onion"), ErrorCode::kInvalidArgument);

  // Another instance over the same state reads it from disk.
  LocalKeyService::Options o;
  o.state_dir = dir_.path();
  o.kdf = crypto::Argon2Params{1, 8192, 1};
  service_ = std::make_unique<LocalKeyService>(*key_store_, o);
  EXPECT_EQ(Apply("alice", ListOp::kShow, "team").members,
            (std::vector<std::string>{"alice", remote, stranger}));
  EXPECT_EQ(Apply("alice", ListOp::kPost, "team").members,
            (std::vector<std::string>{"alice", remote, stranger}));

  // Deleting the local bob leaves the remote one.
  Apply("alice", ListOp::kAdd, "team", "bob");
  ASSERT_TRUE(service_->DeleteUser("bob").ok());
  EXPECT_EQ(Apply("alice", ListOp::kShow, "team").members,
            (std::vector<std::string>{"alice", remote, stranger}));
  EXPECT_EQ(Apply("alice", ListOp::kRemove, "team", remote).members,
            (std::vector<std::string>{"alice", stranger}));
}

TEST_F(LocalKeyServiceListTest, AnActorThatIsNoUserCannotCreateOrAdd) {
  EXPECT_EQ(Fails("", ListOp::kShow, "team"), ErrorCode::kPermissionDenied);
  EXPECT_EQ(Fails("", ListOp::kCreate, "team"), ErrorCode::kPermissionDenied);
  EXPECT_EQ(Fails("ghost", ListOp::kCreate, "team"), ErrorCode::kPermissionDenied);
  EXPECT_EQ(Fails("Alice", ListOp::kCreate, "team"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Fails("alice", ListOp::kCreate, "team.list"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Fails("alice", ListOp::kCreate, "Team"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ListFiles(), 0u);
}

TEST_F(LocalKeyServiceListTest, TheServerHoldsAtMostMaxListsLists) {
  std::filesystem::create_directories(ListsDir());
  for (size_t i = 0; i < mail::kMaxLists; ++i) {
    WriteFileBytes(ListsDir() + "/f" + std::to_string(i), {});
  }
  EXPECT_EQ(Fails("alice", ListOp::kCreate, "team"), ErrorCode::kResourceExhausted);
  std::filesystem::remove(ListsDir() + "/f0");
  EXPECT_EQ(Apply("alice", ListOp::kCreate, "team").owner, "alice");
}

TEST_F(LocalKeyServiceListTest, DeleteUserRemovesTheUserFromListsAndDestroysTheListsItOwns) {
  Apply("alice", ListOp::kCreate, "team");
  Apply("alice", ListOp::kAdd, "team", "bob");
  Apply("alice", ListOp::kAdd, "team", "carol");
  Apply("bob", ListOp::kCreate, "bobs");
  Apply("bob", ListOp::kAdd, "bobs", "alice");
  ASSERT_EQ(ListFiles(), 2u);
  ASSERT_TRUE(service_->DeleteUser("Bob").ok());
  EXPECT_EQ(Apply("alice", ListOp::kShow, "team").members,
            (std::vector<std::string>{"alice", "carol"}));
  EXPECT_EQ(Fails("alice", ListOp::kShow, "bobs"), ErrorCode::kNotFound);
  EXPECT_EQ(ListFiles(), 1u);
}

TEST_F(LocalKeyServiceListTest, AUserMadeAgainUnderTheSameNameIsInNoOldList) {
  Apply("alice", ListOp::kCreate, "team");
  Apply("alice", ListOp::kAdd, "team", "bob");
  Apply("bob", ListOp::kCreate, "bobs");
  ASSERT_TRUE(service_->DeleteUser("bob").ok());
  AddUser("bob");
  EXPECT_EQ(Fails("bob", ListOp::kShow, "team"), ErrorCode::kPermissionDenied);
  EXPECT_EQ(Fails("bob", ListOp::kPost, "team"), ErrorCode::kPermissionDenied);
  EXPECT_EQ(Fails("bob", ListOp::kDestroy, "bobs"), ErrorCode::kNotFound);
  EXPECT_EQ(Apply("bob", ListOp::kCreate, "bobs"), (ListRecord{"bob", {"bob"}}))
      << "the new bob starts afresh";
}

TEST_F(LocalKeyServiceListTest, AfterDeleteUserTheUserCannotBeAddedOrCreateAList) {
  Apply("alice", ListOp::kCreate, "team");
  ASSERT_TRUE(service_->DeleteUser("bob").ok());
  EXPECT_EQ(Fails("alice", ListOp::kAdd, "team", "bob"), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(Fails("bob", ListOp::kCreate, "late"), ErrorCode::kPermissionDenied)
      << "a session that outlived its user";
  EXPECT_EQ(ListFiles(), 1u);
}

TEST_F(LocalKeyServiceListTest, ADamagedListDoesNotStopDeleteUser) {
  Apply("alice", ListOp::kCreate, "team");
  Apply("alice", ListOp::kAdd, "team", "bob");
  Apply("bob", ListOp::kCreate, "damaged");
  ASSERT_EQ(ListFiles(), 2u);
  auto id = key_store_->KeyedHash("list", onionmail::testing::Bytes("damaged"));
  ASSERT_TRUE(id.ok());
  WriteFileBytes(ListsDir() + "/" + crypto::ToHex(*id), onionmail::testing::Bytes("damage"));
  ASSERT_EQ(Fails("bob", ListOp::kShow, "damaged"), ErrorCode::kDataLoss);
  ASSERT_TRUE(service_->DeleteUser("bob").ok());
  EXPECT_EQ(Apply("alice", ListOp::kShow, "team").members, std::vector<std::string>{"alice"});
  EXPECT_TRUE(service_->LookupUser("bob").error().code == ErrorCode::kNotFound);
}

TEST_F(LocalKeyServiceListTest, AUserWhoseNameCannotBeInAListIsStillDeleted) {
  AddUser(".odd");  // a user name, though not a valid local part
  ASSERT_TRUE(service_->DeleteUser(".odd").ok());
  EXPECT_EQ(CodeOf(service_->LookupUser(".odd")), ErrorCode::kNotFound);
}

TEST_F(LocalKeyServiceListTest, ADeviceThatRefusesUserRecordsIsATemporaryFailureNotARefusal) {
  Apply("alice", ListOp::kCreate, "team");
  // A fresh service (no record cached) over a device that refuses to open
  // records just then, as a TPM whose policy is not met does.
  MakeService();
  key_store_->open_fault = ErrorCode::kPermissionDenied;
  EXPECT_EQ(Fails("alice", ListOp::kCreate, "other"), ErrorCode::kUnavailable);
  EXPECT_EQ(Fails("alice", ListOp::kAdd, "team", "bob"), ErrorCode::kUnavailable);
  key_store_->open_fault = ErrorCode::kDataLoss;  // the device is back
  EXPECT_EQ(Apply("alice", ListOp::kAdd, "team", "bob"), (ListRecord{"alice", {"alice", "bob"}}));
}

TEST_F(LocalKeyServiceListTest, ARecordsLockThatCannotBeTakenIsNeverTheListsRefusal) {
  Apply("alice", ListOp::kCreate, "team");
  // users.lock cannot be opened: a directory stands in its way.
  const std::string lock = dir_.path() + "/users.lock";
  std::filesystem::remove(lock);
  std::filesystem::create_directory(lock);
  auto refused = service_->ApplyList("alice", ListOp::kAdd, "team", "bob");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().code, ErrorCode::kPermissionDenied) << refused.error().message;
  // Reads need no lock: the list still answers.
  EXPECT_EQ(Apply("alice", ListOp::kShow, "team"), (ListRecord{"alice", {"alice"}}));
  std::filesystem::remove(lock);
  EXPECT_EQ(Apply("alice", ListOp::kAdd, "team", "bob"), (ListRecord{"alice", {"alice", "bob"}}));
}

}  // namespace
}  // namespace onionmail::keys
